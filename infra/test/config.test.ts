import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOPIC_PARTITIONS } from '../../functions/shared/stream.js';
import {
  CLOUDFRONT_LEGACY_LOG_UNSUPPORTED_REGIONS,
  CONTEXT_KEYS,
  ConfigurationError,
  ENVIRONMENT_NAMES,
  parseEnvironments,
  topicPartitions,
} from '../lib/config.js';
import { PROJECT_ROOT } from '../lib/paths.js';

const environments = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context[CONTEXT_KEYS.environments] as Record<string, Record<string, unknown>>;
const options = { platformVersion: '1.2.3' };

describe('environment configuration', () => {
  it('accepts every environment of cdk.json', () => {
    const parsed = parseEnvironments(environments, 'all', options);

    expect(parsed.map((config) => config.name)).toEqual([...ENVIRONMENT_NAMES]);
  });

  it('asks for an environment when none is chosen', () => {
    expect(() => parseEnvironments(environments, undefined, options)).toThrow(/-c env=dev\|staging\|prod/);
  });

  it('names the environment and field of an invalid value', () => {
    const broken = { ...environments, dev: { ...environments.dev, logRetentionDays: 8 } };

    expect(() => parseEnvironments(broken, 'dev', options)).toThrow(ConfigurationError);
    expect(() => parseEnvironments(broken, 'dev', options)).toThrow(
      /dev\.logRetentionDays: one of CloudWatch/,
    );
  });

  it('rejects unknown settings instead of ignoring them', () => {
    const broken = { ...environments, prod: { ...environments.prod, retentionHour: 1 } };

    expect(() => parseEnvironments(broken, 'prod', options)).toThrow(/prod\.\(root\)|retentionHour/);
  });

  it('rejects fewer maximum pollers than minimum', () => {
    const dev = environments.dev as { consumers: Record<string, unknown> };
    const broken = {
      ...environments,
      dev: {
        ...dev,
        consumers: {
          ...dev.consumers,
          enrich: { batchSize: 10, maxBatchingWindowSeconds: 1, minimumPollers: 3, maximumPollers: 2 },
        },
      },
    };

    expect(() => parseEnvironments(broken, 'dev', options)).toThrow(/dev\.consumers\.enrich\.maximumPollers/);
  });

  it('takes an alarm e-mail from the command line and checks it', () => {
    const [prod] = parseEnvironments(environments, 'prod', { ...options, alarmEmail: 'ops@example.org' });

    expect(prod?.alarmEmail).toBe('ops@example.org');
    expect(() =>
      parseEnvironments(environments, 'prod', { ...options, alarmEmail: 'not-an-address' }),
    ).toThrow(/prod\.alarmEmail/);
  });

  it('overrides the shared partition counts only where an environment says so', () => {
    const [dev] = parseEnvironments(environments, 'dev', options);
    const [prod] = parseEnvironments(environments, 'prod', options);
    if (!dev || !prod) throw new Error('missing environments');

    expect(topicPartitions(prod)).toEqual(TOPIC_PARTITIONS);
    expect(topicPartitions(dev)['iot.raw']).toBe(2);
  });

  it("refuses a region CloudFront cannot deliver the dashboard's standard logs to", () => {
    const inRegion = (region: string) => ({ ...environments, dev: { ...environments.dev, region } });

    expect(CLOUDFRONT_LEGACY_LOG_UNSUPPORTED_REGIONS).toContain('af-south-1');
    expect(() => parseEnvironments(inRegion('af-south-1'), 'dev', options)).toThrow(
      /dev\.region: CloudFront cannot deliver/,
    );
    expect(parseEnvironments(inRegion('eu-west-1'), 'dev', options)[0]?.region).toBe('eu-west-1');
  });

  it('defaults the time-series sink to dynamodb, without Timestream settings', () => {
    const { timeseries: _omitted, ...withoutSink } = environments.dev as Record<string, unknown>;

    expect(parseEnvironments({ ...environments, dev: withoutSink }, 'dev', options)[0]?.timeseries).toEqual({
      sink: 'dynamodb',
    });
  });

  it('requires the Timestream settings, cell included, for the timestream sink: no default cell', () => {
    const withSink = (timeseries: unknown) => ({ ...environments, dev: { ...environments.dev, timeseries } });

    expect(() => parseEnvironments(withSink({ sink: 'timestream' }), 'dev', options)).toThrow(
      /dev\.timeseries\.timestream: the timestream sink needs/,
    );
    expect(() =>
      parseEnvironments(
        withSink({ sink: 'timestream', timestream: { memoryRetentionHours: 24, magneticRetentionDays: 30 } }),
        'dev',
        options,
      ),
    ).toThrow(/dev\.timeseries\.timestream\.ingestCell/);
  });
});
