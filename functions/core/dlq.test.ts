import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import dlqSchema from '../../registry-data/schemas/dlq-record.v1.schema.json' with { type: 'json' };
import { type DlqInput, toDlqRecord } from './dlq.js';
import type { Rejection } from './parse.js';
import { processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import {
  BREAKER_ID,
  breakerTelemetry,
  PROCESSED_AT,
  RECEIVED_AT,
  topicFor,
} from './test-support/messages.js';

const validateDlq = new Ajv2020({ strict: false }).compile(dlqSchema);
const schemaErrors = (value: unknown) => (validateDlq(value) ? [] : validateDlq.errors);

const REJECTION: Rejection = {
  reason: 'SCHEMA_VIOLATION',
  detail: 'measurements.voltage is not part of the contract',
  path: 'measurements.voltage',
  deviceId: BREAKER_ID,
};

const input = (overrides: Partial<DlqInput> = {}): DlqInput => ({
  rejection: REJECTION,
  original: '{"device_id":"breaker-001"}',
  receivedAt: RECEIVED_AT,
  failedAt: PROCESSED_AT,
  stage: 'enrich',
  ...overrides,
});

const decode = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));

describe('toDlqRecord', () => {
  it('keeps a string with non-ASCII characters as base64 that round-trips exactly', () => {
    // Prepare
    const original = '{"device_id":"capteur-1","note":"Température 23 °C — ✓ 日本 🙂"}';

    // Act
    const record = toDlqRecord(input({ original }));

    // Assess
    expect(Buffer.from(record.original_base64, 'base64').toString('utf8')).toBe(original);
    expect(record.original_size_bytes).toBe(Buffer.byteLength(original, 'utf8'));
  });

  it('keeps bytes that are not valid UTF-8 as base64 that round-trips exactly', () => {
    // Prepare
    const original = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x22, 0x7d, 0x00]);

    // Act
    const record = toDlqRecord(input({ original }));

    // Assess
    expect(decode(record.original_base64)).toEqual(original);
    expect(record.original_size_bytes).toBe(10);
  });

  it('keeps only the bytes of a Uint8Array view, not its whole buffer', () => {
    // Prepare
    const buffer = new Uint8Array([0x01, 0x02, 0x7b, 0xff, 0x7d, 0x03, 0x04]);
    const original = buffer.subarray(2, 5);

    // Act
    const record = toDlqRecord(input({ original }));

    // Assess
    expect(decode(record.original_base64)).toEqual(new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(record.original_size_bytes).toBe(3);
  });

  it('keeps an empty payload as an empty base64 string', () => {
    // Act
    const record = toDlqRecord(input({ original: '' }));

    // Assess
    expect(record).toMatchObject({ original_base64: '', original_size_bytes: 0 });
  });

  it('keeps the reason, detail, path and device id of the rejection', () => {
    // Act
    const record = toDlqRecord(input());

    // Assess
    expect(record).toMatchObject({
      reason: 'SCHEMA_VIOLATION',
      detail: 'measurements.voltage is not part of the contract',
      path: 'measurements.voltage',
      device_id: BREAKER_ID,
    });
  });

  it('stamps contract version, stage and the receive and failure times in ISO', () => {
    // Act
    const record = toDlqRecord(input());

    // Assess
    expect(record).toMatchObject({
      contract_version: '1',
      stage: 'enrich',
      received_at: new Date(RECEIVED_AT).toISOString(),
      failed_at: new Date(PROCESSED_AT).toISOString(),
    });
  });

  it('omits path and device id when the rejection has none', () => {
    // Prepare
    const rejection: Rejection = { reason: 'INVALID_JSON', detail: 'payload is not valid JSON' };

    // Act
    const record = toDlqRecord(input({ rejection }));

    // Assess
    expect(record).not.toHaveProperty('path');
    expect(record).not.toHaveProperty('device_id');
  });

  it('keeps the source MQTT topic, Kafka topic, partition and offset', () => {
    // Prepare
    const source = {
      mqttTopic: 'dt/smart_breaker/breaker-001/telemetry',
      kafkaTopic: 'raw',
      partition: 3,
      offset: '42',
    };

    // Act
    const record = toDlqRecord(input({ source }));

    // Assess
    expect(record.source).toEqual({
      mqtt_topic: 'dt/smart_breaker/breaker-001/telemetry',
      kafka_topic: 'raw',
      partition: 3,
      offset: '42',
    });
  });

  it('omits the source when none is given', () => {
    // Act
    const record = toDlqRecord(input());

    // Assess
    expect(record).not.toHaveProperty('source');
  });

  it('truncates the detail to 1024 characters and the path to 256', () => {
    // Prepare
    const rejection: Rejection = {
      reason: 'FORBIDDEN_KEY',
      detail: 'd'.repeat(5000),
      path: 'p'.repeat(1000),
    };

    // Act
    const record = toDlqRecord(input({ rejection }));

    // Assess
    expect(record.detail).toHaveLength(1024);
    expect(record.path).toHaveLength(256);
  });

  it('produces a record that validates against the dlq-record JSON Schema', () => {
    // Prepare
    const source = {
      mqttTopic: 'dt/smart_breaker/breaker-001/telemetry',
      kafkaTopic: 'raw',
      partition: 0,
      offset: '7',
    };

    // Act
    const record = toDlqRecord(input({ original: new Uint8Array([0xff, 0x00]), source }));

    // Assess
    expect(schemaErrors(record)).toEqual([]);
  });

  it('produces a record that validates with a long detail, a long path and a long topic', () => {
    // Prepare
    const rejection: Rejection = { reason: 'TOO_DEEP', detail: 'x'.repeat(4000), path: 'a.'.repeat(400) };
    const source = { mqttTopic: `dt/${'t'.repeat(400)}` };

    // Act
    const record = toDlqRecord(input({ rejection, source }));

    // Assess
    expect(schemaErrors(record)).toEqual([]);
  });

  it('produces a valid record that keeps the bytes of a message processMessage rejected', () => {
    // Prepare
    const payload = JSON.stringify(breakerTelemetry({ device_id: 'breaker-002' }));
    const topic = topicFor('smart_breaker', BREAKER_ID);
    const outcome = processMessage(
      payload,
      { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT, topic },
      { registry: compileRegistry(seedRegistry), service: 'enrich', serviceVersion: 'test' },
    );
    if (outcome.kind !== 'rejected') throw new Error('expected a rejection');

    // Act
    const record = toDlqRecord(
      input({ rejection: outcome.rejection, original: payload, source: { mqttTopic: topic } }),
    );

    // Assess
    expect(schemaErrors(record)).toEqual([]);
    expect(record).toMatchObject({ reason: 'DEVICE_ID_MISMATCH', path: 'device_id', device_id: BREAKER_ID });
    expect(Buffer.from(record.original_base64, 'base64').toString('utf8')).toBe(payload);
  });
});
