import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readOnFailureDocument, redriveEventRecord } from './on-failure.js';

const fixture = readFileSync(new URL('./fixtures/msk-on-failure-s3-record.json', import.meta.url), 'utf8');

describe('readOnFailureDocument', () => {
  it("reads the S3 destination's document: why, when, and the batch's records from the payload", () => {
    const batch = readOnFailureDocument(fixture);

    expect(batch).toMatchObject({ condition: 'RetryAttemptsExhausted', batchSize: 3 });
    expect(batch.records).toHaveLength(3);
    expect(batch.records[0]).toMatchObject({ topic: 'iot.raw', partition: 0, offset: 15 });
  });

  it('knows no records when the document has no payload (offsets only)', () => {
    const { payload: _payload, ...withoutPayload } = JSON.parse(fixture) as Record<string, unknown>;
    expect(readOnFailureDocument(JSON.stringify(withoutPayload)).records).toEqual([]);
  });

  it('refuses a document that is not an on-failure record, saying so', () => {
    expect(() => readOnFailureDocument('{"hello":1}')).toThrow(/not an on-failure record/);
  });
});

describe('redriveEventRecord', () => {
  it('keeps key, bytes and headers, and counts one more redrive', () => {
    const [first] = readOnFailureDocument(fixture).records;
    if (!first) throw new Error('no record');

    const record = redriveEventRecord(first, 1_800_000_000_000);

    expect(record.key).toBe('env-00001');
    expect(Buffer.from(record.value).toString()).toContain('"device_id":"env-00001"');
    expect(record.headers).toMatchObject({
      mqtt_topic: 'dt/environmental_sensor/env-00001/telemetry',
      received_at: '1795435200250',
      redrive_count: '1',
    });
    expect(record.timestamp).toBe(1_800_000_000_000);
  });
});
