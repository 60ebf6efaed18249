import { describe, expect, it } from 'vitest';
import {
  type CheckedEnvelope,
  checkEnvelope,
  checkTimestamp,
  DEFAULT_TIMESTAMP_POLICY,
  type EnvelopeResult,
  parseTopic,
} from './envelope.js';
import type { Rejection } from './parse.js';

const RECEIVED_AT = Date.parse('2024-06-01T12:00:00.000Z');
const RECEIVED_ISO = new Date(RECEIVED_AT).toISOString();
const TOPIC = 'dt/smart_breaker/brk-001/telemetry';
const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

/** A fresh, valid telemetry payload: checkEnvelope normalises its argument in place. */
const telemetry = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  device_id: 'brk-001',
  event_type: 'telemetry',
  timestamp: '2024-06-01T11:59:59.500Z',
  measurements: { voltage: { phase_a: 120.1, phase_b: 119.8, phase_c: 120.4 }, frequency: 60 },
  ...overrides,
});
const without = (key: string): Record<string, unknown> => {
  const payload = telemetry();
  delete payload[key];
  return payload;
};
const isoAt = (ms: number): string => new Date(ms).toISOString();

const envelopeOf = (result: EnvelopeResult): CheckedEnvelope => {
  if (!result.ok) throw new Error(`expected an envelope, got ${result.rejection.reason}`);
  return result.envelope;
};
const rejectionOf = (result: EnvelopeResult): Rejection => {
  if (result.ok) throw new Error('expected a rejection, got an envelope');
  return result.rejection;
};

describe('checkEnvelope: device id', () => {
  it('takes the device id from the topic when the payload has none', () => {
    // Prepare
    const payload = without('device_id');

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT, topic: TOPIC }));

    // Assess
    expect(envelope.deviceId).toBe('brk-001');
    expect(envelope.message.device_id).toBe('brk-001');
    expect(envelope.normalised).toBe(true);
  });

  it('rejects a payload without device id and without topic with MISSING_DEVICE_ID', () => {
    // Prepare
    const payload = without('device_id');

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(rejection.reason).toBe('MISSING_DEVICE_ID');
  });

  it.each([
    ['a space', 'brk 001'],
    ['a leading dash', '-brk-001'],
    ['129 characters', 'a'.repeat(129)],
    ['a number', 1001],
  ])('rejects a device id with %s with INVALID_DEVICE_ID at device_id', (_what, deviceId) => {
    // Prepare
    const payload = telemetry({ device_id: deviceId });

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(rejection).toMatchObject({ reason: 'INVALID_DEVICE_ID', path: 'device_id' });
  });

  it.each([
    ['128 characters', 'a'.repeat(128)],
    ['every allowed punctuation', 'a:b.c-d_e'],
  ])('accepts a device id of %s', (_what, deviceId) => {
    // Prepare
    const payload = telemetry({ device_id: deviceId });

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(envelope.deviceId).toBe(deviceId);
  });

  it('rejects a payload device id that differs from the topic with DEVICE_ID_MISMATCH', () => {
    // Prepare
    const payload = telemetry({ device_id: 'brk-002' });

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT, topic: TOPIC }));

    // Assess
    expect(rejection).toMatchObject({ reason: 'DEVICE_ID_MISMATCH', path: 'device_id', deviceId: 'brk-001' });
  });
});

describe('checkEnvelope: event type', () => {
  it('takes the event type from the topic kind when the payload has none', () => {
    // Prepare
    const payload = without('event_type');

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT, topic: TOPIC }));

    // Assess
    expect(envelope.eventType).toBe('telemetry');
    expect(envelope.message.event_type).toBe('telemetry');
  });

  it('rejects an unknown event type with INVALID_EVENT_TYPE at event_type', () => {
    // Prepare
    const payload = telemetry({ event_type: 'metrics' });

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT, topic: TOPIC }));

    // Assess
    expect(rejection).toMatchObject({
      reason: 'INVALID_EVENT_TYPE',
      path: 'event_type',
      deviceId: 'brk-001',
    });
  });

  it('rejects a missing event type with INVALID_EVENT_TYPE when the topic kind is not an event type', () => {
    // Prepare
    const payload = without('event_type');

    // Act
    const rejection = rejectionOf(
      checkEnvelope(payload, { receivedAt: RECEIVED_AT, topic: 'dt/smart_breaker/brk-001/data' }),
    );

    // Assess
    expect(rejection.reason).toBe('INVALID_EVENT_TYPE');
  });
});

describe('checkEnvelope: timestamp', () => {
  it('keeps a valid timestamp and leaves the message un-normalised', () => {
    // Prepare
    const payload = telemetry();

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(envelope.timestamp).toEqual({ time: Date.parse('2024-06-01T11:59:59.500Z') });
    expect(envelope.normalised).toBe(false);
    expect(envelope.originalTimestamp).toBeUndefined();
  });

  it('accepts a timestamp with a +02:00 offset', () => {
    // Prepare
    const payload = telemetry({ timestamp: '2024-06-01T14:00:00+02:00' });

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(envelope.timestamp).toEqual({ time: RECEIVED_AT });
    expect(envelope.message.timestamp).toBe('2024-06-01T14:00:00+02:00');
  });

  it('flags a missing timestamp INVALID_TIMESTAMP and files the message at the receive time', () => {
    // Prepare
    const payload = without('timestamp');

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(envelope.timestamp).toEqual({ time: RECEIVED_AT, reason: 'INVALID_TIMESTAMP' });
    expect(envelope.message.timestamp).toBe(RECEIVED_ISO);
    expect(envelope.originalTimestamp).toBeUndefined();
    expect(envelope.normalised).toBe(true);
  });

  it.each([
    ['a non-ISO string', 'yesterday at noon', 'yesterday at noon'],
    ['a local time without offset', '2024-06-01T12:00:00', '2024-06-01T12:00:00'],
    ['epoch milliseconds', 1717243200000, '1717243200000'],
    ['epoch seconds', 1717243200, '1717243200'],
  ])('replaces %s with the receive time and records the original', (_what, timestamp, original) => {
    // Prepare
    const payload = telemetry({ timestamp });

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(envelope.timestamp).toEqual({ time: RECEIVED_AT, reason: 'INVALID_TIMESTAMP' });
    expect(envelope.message.timestamp).toBe(RECEIVED_ISO);
    expect(envelope.originalTimestamp).toBe(original);
  });

  it('keeps a future timestamp as sent and flags it FUTURE_TIMESTAMP', () => {
    // Prepare
    const future = isoAt(RECEIVED_AT + HOUR);
    const payload = telemetry({ timestamp: future });

    // Act
    const envelope = envelopeOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(envelope.timestamp).toEqual({ time: RECEIVED_AT + HOUR, reason: 'FUTURE_TIMESTAMP' });
    expect(envelope.message.timestamp).toBe(future);
  });
});

describe('checkTimestamp', () => {
  it('flags a timestamp more than 15 minutes ahead FUTURE_TIMESTAMP', () => {
    // Prepare
    const timestamp = isoAt(RECEIVED_AT + 15 * MINUTE + 1000);

    // Act
    const check = checkTimestamp(timestamp, RECEIVED_AT, DEFAULT_TIMESTAMP_POLICY);

    // Assess
    expect(check.reason).toBe('FUTURE_TIMESTAMP');
  });

  it('accepts a timestamp 14 minutes ahead', () => {
    // Prepare
    const timestamp = isoAt(RECEIVED_AT + 14 * MINUTE);

    // Act
    const check = checkTimestamp(timestamp, RECEIVED_AT, DEFAULT_TIMESTAMP_POLICY);

    // Assess
    expect(check).toEqual({ time: RECEIVED_AT + 14 * MINUTE });
  });

  it('flags a timestamp more than 24 hours old STALE_TIMESTAMP', () => {
    // Prepare
    const timestamp = isoAt(RECEIVED_AT - 24 * HOUR - 1000);

    // Act
    const check = checkTimestamp(timestamp, RECEIVED_AT, DEFAULT_TIMESTAMP_POLICY);

    // Assess
    expect(check).toEqual({ time: RECEIVED_AT - 24 * HOUR - 1000, reason: 'STALE_TIMESTAMP' });
  });

  it('accepts a timestamp 23 hours old', () => {
    // Prepare
    const timestamp = isoAt(RECEIVED_AT - 23 * HOUR);

    // Act
    const check = checkTimestamp(timestamp, RECEIVED_AT, DEFAULT_TIMESTAMP_POLICY);

    // Assess
    expect(check.reason).toBeUndefined();
  });

  it('flags a number INVALID_TIMESTAMP and returns the receive time', () => {
    // Prepare
    const timestamp = RECEIVED_AT;

    // Act
    const check = checkTimestamp(timestamp, RECEIVED_AT, DEFAULT_TIMESTAMP_POLICY);

    // Assess
    expect(check).toEqual({ time: RECEIVED_AT, reason: 'INVALID_TIMESTAMP' });
  });
});

describe('checkEnvelope: contract', () => {
  it('rejects an unknown top-level field with SCHEMA_VIOLATION at its path', () => {
    // Prepare
    const payload = telemetry({ firmware: '2.4.1' });

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(rejection).toMatchObject({ reason: 'SCHEMA_VIOLATION', path: 'firmware', deviceId: 'brk-001' });
  });

  it('rejects trends with string statistics with SCHEMA_VIOLATION at the statistic', () => {
    // Prepare
    const payload = telemetry({
      event_type: 'trends',
      window: { start: '2024-06-01T11:00:00Z', end: '2024-06-01T12:00:00Z' },
      measurements: {
        'voltage.phase_a': { avg: '120.1', min: '119.0', max: '121.0', last: '120.0', count: '60' },
      },
    });

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(rejection).toMatchObject({
      reason: 'SCHEMA_VIOLATION',
      path: 'measurements.voltage.phase_a.avg',
    });
  });

  it('rejects a trends window whose start is after its end with SCHEMA_VIOLATION at window', () => {
    // Prepare
    const payload = telemetry({
      event_type: 'trends',
      window: { start: '2024-06-01T12:00:00Z', end: '2024-06-01T11:00:00Z' },
      measurements: { 'voltage.phase_a': { avg: 120.1, min: 119, max: 121, last: 120, count: 60 } },
    });

    // Act
    const rejection = rejectionOf(checkEnvelope(payload, { receivedAt: RECEIVED_AT }));

    // Assess
    expect(rejection).toMatchObject({ reason: 'SCHEMA_VIOLATION', path: 'window' });
  });
});

describe('parseTopic', () => {
  it('reads the device type, device id and kind from dt/{type}/{id}/{kind}', () => {
    // Prepare
    const topic = 'dt/smart_breaker/brk-001/telemetry';

    // Act
    const info = parseTopic(topic);

    // Assess
    expect(info).toEqual({ deviceType: 'smart_breaker', deviceId: 'brk-001', kind: 'telemetry' });
  });

  it('reads a topic behind the Basic Ingest prefix', () => {
    // Prepare
    const topic = '$aws/rules/ingest_rule/dt/smart_meter/mtr:7/status';

    // Act
    const info = parseTopic(topic);

    // Assess
    expect(info).toEqual({ deviceType: 'smart_meter', deviceId: 'mtr:7', kind: 'status' });
  });

  it.each([
    ['too few levels', 'dt/smart_breaker/brk-001'],
    ['too many levels', 'dt/smart_breaker/brk-001/telemetry/extra'],
    ['another root', 'xx/smart_breaker/brk-001/telemetry'],
    ['an invalid device type', 'dt/Smart-Breaker/brk-001/telemetry'],
    ['an invalid device id', 'dt/smart_breaker/-brk/telemetry'],
    ['an empty device id', 'dt/smart_breaker//telemetry'],
    ['a malformed Basic Ingest prefix', '$aws/rules/ingest rule/dt/smart_breaker/brk-001/telemetry'],
    ['an empty topic', ''],
  ])('rejects a topic with %s', (_what, topic) => {
    // Prepare (the table)

    // Act
    const info = parseTopic(topic);

    // Assess
    expect(info).toBeUndefined();
  });
});
