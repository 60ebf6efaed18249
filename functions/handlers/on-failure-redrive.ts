/**
 * Redrive (issue 16) in AWS, its second source: the batches the MSK event source mappings gave up on,
 * as their S3 on-failure destination keeps them (./on-failure.ts reads one document). A redrive's
 * filter selects their records as it selects dead letters (core/dead-letters.ts, failedRecordFacts):
 * the reason is PROCESSING_FAILED (they kept failing in a consumer past its retries), the device type
 * and id come from the MQTT topic header (an enriched record's key and device_metadata), the time is
 * the receipt time (`received_at` header). Each selected record goes back to the topic it came from
 * (enrich's iot.raw or the writer's iot.enriched), key, bytes and headers unchanged, one more redrive
 * counted: the same consumer runs it again, the same message_id, and the writes are idempotent.
 *
 * A document without the records (no `payload`: offsets only) is read back from its topic by offset
 * through the range reader, between the batch's first and last record time (with a margin: record
 * times need not rise with offsets); offsets the topic no longer retains are counted as skipped.
 * Of the attempts of one message (same topic, MQTT topic and bytes), only the newest goes back, and a
 * raw message the same redrive sends from iot.dlq is not sent twice.
 */
import {
  attemptKey,
  type DeadLetterFilter,
  failedRecordFacts,
  matchesFailedRecord,
} from '../core/dead-letters.js';
import type { RetainedRecord, TopicRangeReader } from '../ports/data-ops.js';
import type { FailedBatchStore } from '../ports/failed-batches.js';
import type { StreamRecord } from '../ports/stream.js';
import { DATA_OPS_LIMITS, ON_FAILURE_REDRIVE_TOPICS } from '../shared/data-ops.js';
import { TOPICS } from '../shared/stream.js';
import {
  type FailedOffsetRange,
  type OnFailureBatch,
  readOnFailureDocument,
  redriveCountOf,
  redriveFailedRecord,
} from './on-failure.js';

export interface FailedRecordSelectionOptions {
  readonly batches: FailedBatchStore;
  /** Reads back the records of a document that carries offsets only. */
  readonly reader: TopicRangeReader;
  /** Most records to select (what the redrive may still send). */
  readonly limit: number;
  /** The time the selected records are sent with. */
  readonly sentAt: number;
  /** Attempt keys (core attemptKey) of raw messages the redrive sends from iot.dlq. */
  readonly sentFromDeadLetters?: ReadonlySet<string>;
}

export interface FailedRecordSelection {
  /** In receipt-time order, each with the topic it goes back to. */
  readonly sends: readonly { readonly topic: string; readonly record: StreamRecord }[];
  readonly documents: number;
  readonly scanned: number;
  readonly matched: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** Stopped at DATA_OPS_LIMITS.maxFailedBatches documents or at `limit` records, with more left. */
  readonly truncated: boolean;
}

/** Margin around a batch's record times when its offsets are read back by time. */
const READ_BACK_MARGIN_MS = 60_000;

/** Selects the records of the failed batches the filter matches, ready to send. */
export async function selectFailedRecords(
  filter: DeadLetterFilter,
  options: FailedRecordSelectionOptions,
): Promise<FailedRecordSelection> {
  const skipped: Record<string, number> = {};
  const skip = (why: string, count = 1) => {
    if (count > 0) skipped[why] = (skipped[why] ?? 0) + count;
  };
  const newest = new Map<string, { record: RetainedRecord; time: number }>();
  let documents = 0;
  let scanned = 0;
  let matched = 0;
  let truncated = false;

  await options.batches.readSince(filter.from, async (document) => {
    if (documents >= DATA_OPS_LIMITS.maxFailedBatches) {
      truncated = true;
      return false;
    }
    documents += 1;
    let batch: OnFailureBatch;
    try {
      batch = readOnFailureDocument(document.body);
    } catch {
      skip('not an on-failure record');
      return true;
    }
    const records =
      batch.records.length > 0 ? batch.records : await readBack(batch.ranges, options.reader, skip);
    for (const record of records) {
      scanned += 1;
      const facts = failedRecordFacts(record);
      if (!matchesFailedRecord(facts, filter)) continue;
      matched += 1;
      if (!(ON_FAILURE_REDRIVE_TOPICS as readonly string[]).includes(record.topic)) {
        skip(`topic ${record.topic} cannot be redriven`);
        continue;
      }
      const messageKey = attemptKey(record.headers.mqtt_topic, Buffer.from(record.value).toString('base64'));
      if (record.topic === TOPICS.raw && options.sentFromDeadLetters?.has(messageKey)) {
        skip('sent from the dead-letter topic');
        continue;
      }
      const key = `${record.topic}\u0000${messageKey}`;
      const kept = newest.get(key);
      if (kept) skip('an older attempt of a message sent');
      if (!kept || redriveCountOf(record) > redriveCountOf(kept.record))
        newest.set(key, { record, time: facts.time });
    }
    return true;
  });

  const ordered = [...newest.values()].sort((a, b) => a.time - b.time);
  const limit = Math.max(0, options.limit);
  return {
    sends: ordered.slice(0, limit).map(({ record }) => ({
      topic: record.topic,
      record: redriveFailedRecord(record, options.sentAt),
    })),
    documents,
    scanned,
    matched,
    skipped,
    truncated: truncated || ordered.length > limit,
  };
}

/** The records of a batch known by its offsets only, read back from their topics. */
async function readBack(
  ranges: readonly FailedOffsetRange[],
  reader: TopicRangeReader,
  skip: (why: string, count?: number) => void,
): Promise<RetainedRecord[]> {
  const found: RetainedRecord[] = [];
  for (const range of ranges) {
    const count = range.lastOffset - range.firstOffset + 1;
    // Read back only topics the role may read (and a redrive may send to).
    if (!(ON_FAILURE_REDRIVE_TOPICS as readonly string[]).includes(range.topic)) {
      skip(`not read back: topic ${range.topic}`, count);
      continue;
    }
    const before = found.length;
    const from = Math.min(range.firstTimestamp, range.lastTimestamp) - READ_BACK_MARGIN_MS;
    const to = Math.max(range.firstTimestamp, range.lastTimestamp) + READ_BACK_MARGIN_MS;
    await reader.readByTime(range.topic, { from, to }, (records) => {
      for (const record of records) {
        if (
          record.partition === range.partition &&
          record.offset >= range.firstOffset &&
          record.offset <= range.lastOffset
        )
          found.push(record);
      }
      return true;
    });
    skip('no longer in the topic', count - (found.length - before));
  }
  return found;
}
