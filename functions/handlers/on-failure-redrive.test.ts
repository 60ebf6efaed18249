import { describe, expect, it } from 'vitest';
import { attemptKey } from '../core/dead-letters.js';
import type { RetainedRecord, TopicRangeReader } from '../ports/data-ops.js';
import type { FailedBatchDocument, FailedBatchStore } from '../ports/failed-batches.js';
import { TOPICS } from '../shared/stream.js';
import { type FailedRecordSelectionOptions, selectFailedRecords } from './on-failure-redrive.js';
import { onFailureDocument } from './on-failure-test-support.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const WINDOW = { from: T0 - 60_000, to: T0 + 60_000 };

const raw = (
  deviceId: string,
  type: string,
  offset: number,
  headers: Record<string, string> = {},
): RetainedRecord => ({
  topic: TOPICS.raw,
  partition: 0,
  offset,
  timestamp: T0 + offset,
  key: deviceId,
  value: Buffer.from(`{"device_id":"${deviceId}","n":${offset}}`),
  headers: { mqtt_topic: `dt/${type}/${deviceId}/telemetry`, received_at: String(T0 + offset), ...headers },
});

/** An enriched record as enrich produces it: keyed by device, no headers, the type in device_metadata. */
const enriched = (deviceId: string, type: string, offset: number): RetainedRecord => ({
  topic: TOPICS.enriched,
  partition: 1,
  offset,
  timestamp: T0 + offset,
  key: deviceId,
  value: Buffer.from(JSON.stringify({ device_id: deviceId, device_metadata: { device_type: type } })),
  headers: {},
});

/** Documents in memory, written at the given times (S3's LastModified). */
function memoryBatches(documents: readonly { body: string; writtenAt?: number }[]): FailedBatchStore {
  return {
    async readSince(since, visit) {
      for (const [i, document] of documents.entries()) {
        const written: FailedBatchDocument = {
          key: `aws/lambda/uuid/iot.raw-0/${i}`,
          writtenAt: document.writtenAt ?? T0 + 10_000,
          body: document.body,
        };
        if (written.writtenAt < since) continue;
        if ((await visit(written)) === false) return;
      }
    },
  };
}

/** A reader over fixed records, honouring the range like the real ones. */
const fixedReader = (records: readonly RetainedRecord[]): TopicRangeReader => ({
  async readByTime(topic, range, visit) {
    const inRange = records.filter(
      (r) => r.topic === topic && r.timestamp >= range.from && r.timestamp < range.to,
    );
    if (inRange.length > 0) await visit(inRange);
  },
});

const select = (
  documents: readonly { body: string; writtenAt?: number }[],
  filter: Parameters<typeof selectFailedRecords>[0] = WINDOW,
  options: Partial<FailedRecordSelectionOptions> = {},
) =>
  selectFailedRecords(filter, {
    batches: memoryBatches(documents),
    reader: fixedReader([]),
    limit: 100,
    sentAt: T0 + 20_000,
    ...options,
  });

const text = (value: Uint8Array | undefined) => Buffer.from(value ?? []).toString();

describe('selectFailedRecords', () => {
  it('selects by device type from the MQTT topic and sends each back to its topic, bytes unchanged, one more redrive', async () => {
    const probe = raw('probe-1', 'probe', 1);
    const body = onFailureDocument([probe, raw('meter-1', 'smart_meter', 2)]);

    const selection = await select([{ body }], { ...WINDOW, deviceType: 'probe' });

    expect(selection).toMatchObject({ documents: 1, scanned: 2, matched: 1, truncated: false });
    expect(selection.sends).toHaveLength(1);
    expect(selection.sends[0]?.topic).toBe(TOPICS.raw);
    expect(selection.sends[0]?.record).toMatchObject({
      key: 'probe-1',
      headers: { mqtt_topic: 'dt/probe/probe-1/telemetry', received_at: String(T0 + 1), redrive_count: '1' },
      timestamp: T0 + 20_000,
    });
    expect(text(selection.sends[0]?.record.value)).toBe(text(probe.value));
  });

  it('answers to the reason PROCESSING_FAILED, not to a rejection reason', async () => {
    const body = onFailureDocument([raw('probe-1', 'probe', 1), raw('probe-2', 'probe', 2)]);

    const rejected = await select([{ body }], { ...WINDOW, reason: 'UNKNOWN_DEVICE_TYPE' });
    const failed = await select([{ body }], { ...WINDOW, reason: 'PROCESSING_FAILED' });

    expect(rejected.sends).toEqual([]);
    expect(failed.sends.map((s) => s.record.key)).toEqual(['probe-1', 'probe-2']);
  });

  it('selects by receipt time (the received_at header), not by the record time', async () => {
    const early = raw('probe-1', 'probe', 1, { received_at: String(WINDOW.from - 1) });
    const body = onFailureDocument([early, raw('probe-2', 'probe', 2)]);

    const selection = await select([{ body }], { ...WINDOW, deviceId: 'probe-1' });

    expect(selection).toMatchObject({ scanned: 2, matched: 0, sends: [] });
  });

  it('sends an enriched record back to iot.enriched, its device from the key and device_metadata', async () => {
    const body = onFailureDocument([enriched('probe-2', 'probe', 7), enriched('meter-1', 'smart_meter', 8)]);

    const selection = await select([{ body }], { ...WINDOW, deviceType: 'probe', deviceId: 'probe-2' });

    expect(selection.sends.map((s) => [s.topic, s.record.key, s.record.headers?.redrive_count])).toEqual([
      [TOPICS.enriched, 'probe-2', '1'],
    ]);
  });

  it('reads a document with offsets only back from its topic, by partition and offset', async () => {
    const [first, second, third] = [
      raw('probe-1', 'probe', 1),
      raw('probe-1', 'probe', 2),
      raw('probe-1', 'probe', 3),
    ];
    const body = onFailureDocument([first, second, third], { withoutPayload: true });
    // Offset 3 is gone (retention); offset 0 and partition 1 are outside the batch.
    const retained = [raw('probe-1', 'probe', 0), first, second, { ...first, partition: 1 }];

    const selection = await select([{ body }], WINDOW, { reader: fixedReader(retained) });

    expect(selection.sends.map((s) => text(s.record.value))).toEqual([text(first.value), text(second.value)]);
    expect(selection.skipped).toEqual({ 'no longer in the topic': 1 });
  });

  it('sends the newest attempt of a message once, and nothing the dead-letter topic already sends', async () => {
    const first = raw('probe-1', 'probe', 1);
    const again = {
      ...raw('probe-1', 'probe', 5),
      value: first.value,
      headers: { ...first.headers, redrive_count: '1' },
    };
    const inDlq = raw('probe-2', 'probe', 2);
    const documents = [{ body: onFailureDocument([first, inDlq]) }, { body: onFailureDocument([again]) }];
    const sentFromDeadLetters = new Set([
      attemptKey(inDlq.headers.mqtt_topic, Buffer.from(inDlq.value).toString('base64')),
    ]);

    const selection = await select(documents, WINDOW, { sentFromDeadLetters });

    expect(selection).toMatchObject({ matched: 3 });
    expect(selection.sends.map((s) => [s.record.key, s.record.headers?.redrive_count])).toEqual([
      ['probe-1', '2'],
    ]);
    expect(selection.skipped).toEqual({
      'an older attempt of a message sent': 1,
      'sent from the dead-letter topic': 1,
    });
  });

  it('reads no document written before the window, and stops at the limit, saying so', async () => {
    const documents = [
      { body: onFailureDocument([raw('probe-0', 'probe', 0)]), writtenAt: WINDOW.from - 1 },
      { body: onFailureDocument([raw('probe-1', 'probe', 1), raw('probe-2', 'probe', 2)]) },
    ];

    const selection = await select(documents, WINDOW, { limit: 1 });

    expect(selection).toMatchObject({ documents: 1, matched: 2, truncated: true });
    expect(selection.sends.map((s) => s.record.key)).toEqual(['probe-1']);
  });

  it('counts a document that is not an on-failure record and reads on', async () => {
    const documents = [{ body: 'not,json' }, { body: onFailureDocument([raw('probe-1', 'probe', 1)]) }];

    const selection = await select(documents);

    expect(selection.skipped).toEqual({ 'not an on-failure record': 1 });
    expect(selection.sends).toHaveLength(1);
  });
});
