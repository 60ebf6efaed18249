import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, type DlqRecord } from './contract/messages.js';
import {
  type DeadLetter,
  failedRecordFacts,
  groupDeadLetters,
  isRedrivable,
  matchesFailedRecord,
  matchesFilter,
  newestAttempts,
  readDeadLetter,
} from './dead-letters.js';

const dlq = (overrides: Partial<DlqRecord> = {}): DlqRecord => ({
  contract_version: CONTRACT_VERSION,
  reason: 'UNKNOWN_DEVICE_TYPE',
  detail: 'no registered type',
  received_at: '2026-12-01T10:00:00.000Z',
  failed_at: '2026-12-01T10:00:01.000Z',
  stage: 'enrich',
  device_id: 'probe-1',
  source: { mqtt_topic: 'dt/probe/probe-1/telemetry', kafka_topic: 'iot.raw', partition: 0, offset: '4' },
  original_base64: Buffer.from('{"device_id":"probe-1"}').toString('base64'),
  original_size_bytes: 23,
  ...overrides,
});

const letter = (record: DlqRecord, time = Date.parse(record.received_at), offset = 0): DeadLetter => {
  const read = readDeadLetter(Buffer.from(JSON.stringify(record)), { time, partition: 0, offset });
  if (!read) throw new Error('not a dead letter');
  return read;
};

describe('readDeadLetter', () => {
  it('reads the device type from the MQTT topic and the device id from the record', () => {
    expect(letter(dlq())).toMatchObject({ deviceType: 'probe', deviceId: 'probe-1', offset: 0 });
  });

  it('answers undefined for bytes that are not a dead-letter record', () => {
    const position = { time: 0, partition: 0, offset: 0 };
    expect(readDeadLetter(Buffer.from('not json'), position)).toBeUndefined();
    expect(readDeadLetter(Buffer.from('{"reason":"X"}'), position)).toBeUndefined();
  });
});

describe('matchesFilter', () => {
  const window = { from: Date.parse('2026-12-01T00:00:00Z'), to: Date.parse('2026-12-02T00:00:00Z') };

  it('matches when every given field matches, inside the half-open window', () => {
    const subject = letter(dlq());
    expect(matchesFilter(subject, { ...window, reason: 'UNKNOWN_DEVICE_TYPE', deviceType: 'probe' })).toBe(
      true,
    );
    expect(matchesFilter(subject, { ...window, reason: 'INVALID_JSON' })).toBe(false);
    expect(matchesFilter(subject, { ...window, deviceId: 'probe-2' })).toBe(false);
    expect(matchesFilter(subject, { from: window.from, to: subject.time })).toBe(false);
  });
});

describe('groupDeadLetters', () => {
  it('counts per reason, type and device, largest first, with the newest examples', () => {
    const letters = [
      letter(dlq({ failed_at: '2026-12-01T10:00:01.000Z', detail: 'a' })),
      letter(dlq({ failed_at: '2026-12-01T10:00:03.000Z', detail: 'c' })),
      letter(dlq({ failed_at: '2026-12-01T10:00:02.000Z', detail: 'b' })),
      letter(
        dlq({
          reason: 'INVALID_JSON',
          device_id: 'probe-2',
          source: { mqtt_topic: 'dt/probe/probe-2/telemetry' },
        }),
      ),
    ];

    const groups = groupDeadLetters(letters, 2);

    expect(groups.map((g) => [g.reason, g.deviceId, g.count])).toEqual([
      ['UNKNOWN_DEVICE_TYPE', 'probe-1', 3],
      ['INVALID_JSON', 'probe-2', 1],
    ]);
    expect(groups[0]?.examples.map((e) => e.detail)).toEqual(['c', 'b']);
    expect(groups[0]).toMatchObject({
      firstFailedAt: '2026-12-01T10:00:01.000Z',
      lastFailedAt: '2026-12-01T10:00:03.000Z',
    });
  });

  it('labels a dead letter without topic or device id as unknown', () => {
    const {
      device_id: _id,
      source: _source,
      ...bare
    } = dlq({ stage: 'ingest-bridge', reason: 'INVALID_ENVELOPE' });
    expect(groupDeadLetters([letter(bare)], 1)[0]).toMatchObject({
      deviceType: '(unknown)',
      deviceId: '(unknown)',
    });
  });
});

describe('newestAttempts', () => {
  it('keeps one dead letter per message: the one of the latest redrive', () => {
    const first = letter(dlq(), undefined, 1);
    const again = letter(dlq({ redrive_count: 1, failed_at: '2026-12-01T11:00:00.000Z' }), undefined, 7);
    const other = letter(dlq({ original_base64: Buffer.from('{}').toString('base64') }), undefined, 3);

    expect(newestAttempts([first, again, other]).map((l) => l.offset)).toEqual([3, 7]);
  });
});

describe('isRedrivable', () => {
  it('sends back what enrichment rejected, not what the bridge could not read', () => {
    expect(isRedrivable(letter(dlq()))).toBe(true);
    expect(isRedrivable(letter(dlq({ stage: 'ingest-bridge', reason: 'INVALID_TOPIC' })))).toBe(false);
  });
});

describe('records of failed batches', () => {
  const T0 = Date.parse('2026-12-01T10:00:00.000Z');
  const window = { from: T0, to: T0 + 60_000 };

  it('reads device and receipt time from the MQTT topic and received_at headers of a raw record', () => {
    const facts = failedRecordFacts({
      key: 'probe-1',
      value: Buffer.from('{}'),
      headers: { mqtt_topic: 'dt/probe/probe-1/telemetry', received_at: String(T0 + 5) },
      timestamp: T0 + 900,
    });
    expect(facts).toEqual({ time: T0 + 5, deviceType: 'probe', deviceId: 'probe-1' });
  });

  it("reads an enriched record's device from its key and device_metadata, its time from the record", () => {
    const facts = failedRecordFacts({
      key: 'meter-1',
      value: Buffer.from('{"device_metadata":{"device_type":"smart_meter"}}'),
      headers: {},
      timestamp: T0 + 7,
    });
    expect(facts).toEqual({ time: T0 + 7, deviceType: 'smart_meter', deviceId: 'meter-1' });
  });

  it('knows no device type for bytes that are not JSON', () => {
    expect(failedRecordFacts({ value: Buffer.from([0xff, 0x00]), headers: {}, timestamp: T0 })).toEqual({
      time: T0,
    });
  });

  it('matches PROCESSING_FAILED or no reason, the devices named and the window [from, to)', () => {
    const facts = { time: T0, deviceType: 'probe', deviceId: 'probe-1' };
    expect(matchesFailedRecord(facts, window)).toBe(true);
    expect(matchesFailedRecord(facts, { ...window, reason: 'PROCESSING_FAILED', deviceId: 'probe-1' })).toBe(
      true,
    );
    expect(matchesFailedRecord(facts, { ...window, reason: 'UNKNOWN_DEVICE_TYPE' })).toBe(false);
    expect(matchesFailedRecord(facts, { ...window, deviceType: 'smart_meter' })).toBe(false);
    expect(matchesFailedRecord({ ...facts, time: window.to }, window)).toBe(false);
  });
});
