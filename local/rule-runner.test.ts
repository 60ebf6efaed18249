import { describe, expect, it } from 'vitest';
import { INGEST_RULE } from '../functions/shared/iot-rules.js';
import { compileRule, topicMatches, UnsupportedRuleError } from './rule-runner.js';

const RECEIVED = Date.parse('2026-11-23T12:00:00.000Z');

describe('the ingest rule, evaluated locally', () => {
  const rule = compileRule(INGEST_RULE);

  it('projects the base64 payload, the topic, the ids from the topic and the receive time', () => {
    const payload = Buffer.from('{"device_id":"breaker-00001"}');

    const output = rule.evaluate({
      topic: 'dt/smart_breaker/breaker-00001/telemetry',
      payload,
      receivedAt: RECEIVED,
    });

    expect(output).toEqual({
      payload: payload.toString('base64'),
      topic: 'dt/smart_breaker/breaker-00001/telemetry',
      device_type: 'smart_breaker',
      device_id: 'breaker-00001',
      received_at: RECEIVED,
    });
  });

  it('carries a payload that is not JSON byte for byte', () => {
    const payload = Uint8Array.from([0xff, 0x00, 0x7b, 0x22]);

    const output = rule.evaluate({ topic: 'dt/smart_meter/m1/telemetry', payload, receivedAt: RECEIVED });

    expect(Buffer.from(String(output?.payload), 'base64')).toEqual(Buffer.from(payload));
  });

  it('ignores topics outside dt/+/+/+', () => {
    expect(
      rule.evaluate({ topic: 'dt/smart_meter/m1', payload: new Uint8Array(), receivedAt: RECEIVED }),
    ).toBeUndefined();
    expect(
      rule.evaluate({ topic: 'other/a/b/c', payload: new Uint8Array(), receivedAt: RECEIVED }),
    ).toBeUndefined();
  });
});

describe('compileRule', () => {
  const base = {
    name: 'r',
    description: 'test',
    topicFilter: 'a/+',
    awsIotSqlVersion: '2016-03-23' as const,
  };

  it('refuses SQL the local runner cannot evaluate faithfully', () => {
    expect(() => compileRule({ ...base, sql: "SELECT upper(topic()) AS t FROM 'a/+'" })).toThrow(
      UnsupportedRuleError,
    );
    expect(() => compileRule({ ...base, sql: "SELECT topic() AS t FROM 'a/+' WHERE x = 1" })).toThrow(
      UnsupportedRuleError,
    );
    expect(() => compileRule({ ...base, sql: "SELECT topic() FROM 'a/+'" })).toThrow(/needs "AS name"/);
  });

  it('refuses a FROM clause that differs from the declared topic filter', () => {
    expect(() => compileRule({ ...base, sql: "SELECT topic() AS t FROM 'b/+'" })).toThrow(/differs/);
  });
});

describe('topicMatches', () => {
  it.each([
    ['dt/+/+/+', 'dt/a/b/c', true],
    ['dt/+/+/+', 'dt/a/b', false],
    ['dt/+/+/+', 'dt/a/b/c/d', false],
    ['dt/#', 'dt/a/b/c', true],
    ['dt/smart_meter/+/+', 'dt/smart_breaker/x/telemetry', false],
  ])('%s against %s is %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
