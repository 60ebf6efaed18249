import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readOnFailureDocument, redriveFailedRecord } from './on-failure.js';

const fixture = readFileSync(new URL('./fixtures/msk-on-failure-s3-record.json', import.meta.url), 'utf8');

describe('readOnFailureDocument', () => {
  it("reads the S3 destination's document: why, when, and the batch's records from the payload", () => {
    const batch = readOnFailureDocument(fixture);

    expect(batch).toMatchObject({ condition: 'RetryAttemptsExhausted', batchSize: 3 });
    expect(batch.records).toHaveLength(3);
    expect(batch.records[0]).toMatchObject({ topic: 'iot.raw', partition: 0, offset: 15, key: 'env-00001' });
  });

  it("reads the batch's offsets per topic-partition from KafkaBatchInfo.recordsInfo", () => {
    const batch = readOnFailureDocument(fixture);

    expect(batch.ranges).toEqual([
      {
        topic: 'iot.raw',
        partition: 0,
        firstOffset: 15,
        lastOffset: 16,
        firstTimestamp: Date.parse('2026-11-23T12:00:00.260Z'),
        lastTimestamp: Date.parse('2026-11-23T12:00:00.410Z'),
      },
      {
        topic: 'iot.raw',
        partition: 3,
        firstOffset: 7,
        lastOffset: 7,
        firstTimestamp: Date.parse('2026-11-23T12:00:00.260Z'),
        lastTimestamp: Date.parse('2026-11-23T12:00:00.410Z'),
      },
    ]);
  });

  it('knows no records when the document has no payload (offsets only)', () => {
    const { payload: _payload, ...withoutPayload } = JSON.parse(fixture) as Record<string, unknown>;
    const batch = readOnFailureDocument(JSON.stringify(withoutPayload));
    expect(batch.records).toEqual([]);
    expect(batch.ranges).toHaveLength(2);
  });

  it('refuses a document that is not an on-failure record, saying so', () => {
    expect(() => readOnFailureDocument('{"hello":1}')).toThrow(/not an on-failure record/);
    expect(() => readOnFailureDocument('timestream report,1,2')).toThrow(
      /not an on-failure record: not JSON/,
    );
  });
});

describe('redriveFailedRecord', () => {
  it('keeps key, bytes and headers, and counts one more redrive', () => {
    const [first] = readOnFailureDocument(fixture).records;
    if (!first) throw new Error('no record');

    const record = redriveFailedRecord(first, 1_800_000_000_000);

    expect(record.key).toBe('env-00001');
    expect(Buffer.from(record.value).toString()).toContain('"device_id":"env-00001"');
    expect(record.headers).toMatchObject({
      mqtt_topic: 'dt/environmental_sensor/env-00001/telemetry',
      received_at: '1795435200250',
      redrive_count: '1',
    });
    expect(record.timestamp).toBe(1_800_000_000_000);
  });

  it('counts on from the redrives the record already had', () => {
    const [first] = readOnFailureDocument(fixture).records;
    if (!first) throw new Error('no record');

    const record = redriveFailedRecord({ ...first, headers: { ...first.headers, redrive_count: '2' } }, 0);

    expect(record.headers?.redrive_count).toBe('3');
  });
});
