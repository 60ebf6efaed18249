import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigurationError } from '../infra/lib/config.js';
import { loadEnvironment, splitContextArgs, UsageError } from './environment-arg.js';

describe('splitContextArgs', () => {
  it('takes -c, --context and --context= pairs out, leaving the rest in order', () => {
    expect(splitContextArgs(['-c', 'env=dev', '--rate', '100', '--context=alarmEmail=a@b.c'])).toEqual({
      context: { env: 'dev', alarmEmail: 'a@b.c' },
      rest: ['--rate', '100'],
    });
  });

  it('refuses a pair without a key or a value', () => {
    expect(() => splitContextArgs(['-c'])).toThrow(UsageError);
    expect(() => splitContextArgs(['-c', 'dev'])).toThrow(/key=value/);
  });
});

describe('loadEnvironment', () => {
  it("validates cdk.json's environment with the CDK app's schema", () => {
    const config = loadEnvironment({ env: 'dev' });

    expect(config.name).toBe('dev');
    expect(config.timeseries.sink).toBe('dynamodb');
  });

  it('asks for one environment, not all', () => {
    expect(() => loadEnvironment({})).toThrow(UsageError);
    expect(() => loadEnvironment({ env: 'all' })).toThrow(UsageError);
  });

  it('names the field of an invalid environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdk-json-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'cdk.json');
    writeFileSync(
      path,
      JSON.stringify({ context: { 'iot-cloud:environments': { dev: { removalPolicy: 'sometimes' } } } }),
    );

    expect(() => loadEnvironment({ env: 'dev' }, path)).toThrow(ConfigurationError);
    expect(() => loadEnvironment({ env: 'dev' }, path)).toThrow(/dev\.removalPolicy/);
  });
});
