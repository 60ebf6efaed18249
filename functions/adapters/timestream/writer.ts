/**
 * The time-series sink on Amazon Timestream for LiveAnalytics: each enriched message becomes the
 * core's multi-measure records (`toTimestreamRecords`: at most 2 KB each), sent in WriteRecords calls
 * of at most 100 (`toWriteBatches`). Endpoint discovery, which Timestream requires, is done by the SDK
 * client itself (it calls DescribeEndpoints and caches the answer).
 *
 * Failures, and what is retried:
 * - ThrottlingException, InternalServerException (and any 5xx): the whole request is resent with
 *   exponential backoff and full jitter, up to `maxAttempts`. Safe: resending a record with the same
 *   dimensions, time, measure name and values is a no-op in Timestream (writes are idempotent).
 * - RejectedRecordsException: the other records of the request ARE written; each rejected one is
 *   classified from its `Reason` and `ExistingVersion`, and none is resent unchanged (it would be
 *   rejected again):
 *     `duplicate`: an identical record is already stored (a redelivery): success, nothing to do;
 *     `conflict`: a record with the same dimensions, time and measure name but other values exists
 *       (`ExistingVersion` set): NOT a success: the first write stands and this one is reported;
 *     `out-of-retention`: the time lies outside what the table accepts (older than the magnetic
 *       store's retention, or too far in the future);
 *     `invalid`: anything else (limits exceeded, ...).
 *   Reported records go to `onRejected` (the writer Lambda dead-letters them with the reason); without
 *   it, `write` throws a `TimestreamRejectedError` listing them.
 * - Anything else (validation, access denied, resource not found) is thrown at once: a retry cannot help.
 */
import {
  type RejectedRecord,
  RejectedRecordsException,
  type TimestreamWriteClient,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import type { EnrichedMessage } from '../../core/contract/messages.js';
import {
  DROPPED_MEASURES,
  estimateRecordBytes,
  messageMeasureNames,
  TIMESTREAM_LIMITS,
  type TimeSeriesPoint,
  type TimestreamRecord,
  toTimeSeriesPoints,
  toTimestreamRecords,
  toWriteBatches,
} from '../../core/timeseries.js';
import type { MessagePointKey, TimeseriesSink } from '../../ports/timeseries.js';

export type RejectionKind = 'duplicate' | 'conflict' | 'out-of-retention' | 'invalid';

export interface RejectedWrite {
  readonly kind: Exclude<RejectionKind, 'duplicate'>;
  readonly reason: string;
  readonly existingVersion?: number;
  readonly record: TimestreamRecord;
  readonly message: EnrichedMessage;
}

export class TimestreamRejectedError extends Error {
  constructor(readonly rejected: readonly RejectedWrite[]) {
    super(
      `Timestream rejected ${rejected.length} record(s): ${rejected
        .slice(0, 3)
        .map(
          (r) => `${r.message.device_id} ${r.record.MeasureName}@${r.record.Time}: ${r.kind} (${r.reason})`,
        )
        .join('; ')}`,
    );
    this.name = 'TimestreamRejectedError';
  }
}

/** Classifies one rejected record (exported for tests). */
export function classifyRejection(rejected: RejectedRecord): RejectionKind {
  const reason = rejected.Reason ?? '';
  if (/identical/i.test(reason)) return 'duplicate';
  if (rejected.ExistingVersion !== undefined || /same dimensions|duplicate|version/i.test(reason)) {
    return 'conflict';
  }
  if (/retention|time range|memory store|magnetic store|future/i.test(reason)) return 'out-of-retention';
  return 'invalid';
}

const RETRYABLE = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailable']);

function isRetryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return RETRYABLE.has(error.name) || (status !== undefined && status >= 500);
}

export interface TimestreamSinkOptions {
  readonly client: Pick<TimestreamWriteClient, 'send'>;
  readonly database: string;
  readonly table: string;
  /** The message tags a device type writes as dimensions (from the registry). */
  readonly dimensionsOf?: (deviceType: string) => readonly string[];
  /** Attempts per request for throttling and server errors. Default 5. */
  readonly maxAttempts?: number;
  /** Base of the backoff, ms. Default 100 (then up to 200, 400, 800, ... with full jitter). */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Told about records that were not stored (conflicts, out of retention, invalid). */
  readonly onRejected?: (rejected: readonly RejectedWrite[]) => void;
  /** Told about records found already stored (for metrics). */
  readonly onDuplicates?: (count: number) => void;
}

/** Why a replayed record is reported: its dropped readings could not be listed (see `rewrite`). */
const UNMARKED_DROPS =
  'replay: the readings the new definition drops do not fit the record (2 KB) as dropped_measures; they may keep their old values';

interface Entry {
  readonly record: TimestreamRecord;
  readonly message: EnrichedMessage;
}

export class TimestreamSink implements TimeseriesSink {
  private readonly options: TimestreamSinkOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: TimestreamSinkOptions) {
    this.options = options;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Writes the messages' records; the flat points are for point stores and are not needed here. */
  async write(_points: readonly TimeSeriesPoint[], messages: readonly EnrichedMessage[]): Promise<void> {
    await this.store(
      messages.flatMap((message) => this.recordsOf(message).map((record) => ({ record, message }))),
    );
  }

  /**
   * A replay (issue 16): upserts each replayed message's records with `Version` = the epoch ms of its
   * replay's enrichment (`enrichment_info.enriched_at`). The first write stored Version 1, so the
   * replay's values, `suspect_measures` and `quality_score` replace it; a redelivery of the same
   * enriched message sends the same version and values (a no-op), and a later replay a higher one.
   * https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html (Upserts)
   *
   * What cannot be done: LiveAnalytics has no record-level delete ("There isn't a record level
   * operation for deletion", https://docs.aws.amazon.com/timestream/latest/developerguide/writes.html
   * #writes.writing-data-inserts-upserts), and the documentation does not say whether an upsert of a
   * multi-measure record clears a measure it omits. So each replayed record lists, in DROPPED_MEASURES,
   * the readings of its message that the new definition does not store (now BAD, unknown, unstorable),
   * and the query adapter treats a listed measure of that row as absent. Limits: a message the first
   * write split into more records (`{kind}_2`, over 2 KB) than the replay makes keeps its extra records;
   * a list that would push a record past 2 KB is left out, and that record is reported as rejected
   * (`invalid`, so the writer Lambda dead-letters its message with the reason) after its values are
   * written: the replay could not remove those readings.
   * The points and keys are not needed: the records come from the messages, as in `write`.
   */
  async rewrite(
    _points: readonly TimeSeriesPoint[],
    _keys: readonly MessagePointKey[],
    messages: readonly EnrichedMessage[] = [],
  ): Promise<void> {
    const unmarked: RejectedWrite[] = [];
    const entries = messages.flatMap((message) => {
      const version = Date.parse(message.enrichment_info.enriched_at);
      if (!Number.isSafeInteger(version) || version < 2)
        throw new RangeError(`enrichment_info.enriched_at of ${message.device_id} is not a usable version`);
      const stored = new Set(toTimeSeriesPoints(message).map((point) => point.measure));
      const dropped = messageMeasureNames(message).filter((measure) => !stored.has(measure));
      const records = this.recordsOf(message).map((record) => ({ ...record, Version: version }));
      for (const record of records)
        if (dropped.length > 0 && !markDropped(record, dropped))
          unmarked.push({ kind: 'invalid', reason: UNMARKED_DROPS, record, message });
      return records.map((record) => ({ record, message }));
    });
    // One message enriched twice by replays in one batch (a redelivery): the later enrichment stands.
    const newest = new Map<string, Entry>();
    for (const entry of entries) {
      const key = JSON.stringify([entry.record.Dimensions, entry.record.MeasureName, entry.record.Time]);
      const known = newest.get(key);
      if (!known || (known.record.Version ?? 1) < (entry.record.Version ?? 1)) newest.set(key, entry);
    }
    await this.store([...newest.values()], unmarked);
  }

  private recordsOf(message: EnrichedMessage): TimestreamRecord[] {
    return toTimestreamRecords(
      message,
      this.options.dimensionsOf?.(message.device_metadata.device_type) ?? [],
    );
  }

  /** Writes the entries; `reported` are rejections found before sending, reported with the others. */
  private async store(all: readonly Entry[], reported: readonly RejectedWrite[] = []): Promise<void> {
    const entries = this.dedupe(all);
    const rejected: RejectedWrite[] = [...reported, ...entries.conflicts];
    let duplicates = 0;
    for (const batch of toWriteBatches(entries.unique)) {
      const outcome = await this.writeBatch(batch);
      rejected.push(...outcome.rejected);
      duplicates += outcome.duplicates;
    }
    if (duplicates > 0) this.options.onDuplicates?.(duplicates);
    if (rejected.length === 0) return;
    if (this.options.onRejected) this.options.onRejected(rejected);
    else throw new TimestreamRejectedError(rejected);
  }

  /**
   * Timestream rejects two records with the same dimensions, time and measure name in one request, so
   * a batch holding the same message twice (a redelivery next to the original) keeps one copy; a
   * second record with the same key but other values is a conflict, as it would be across requests.
   */
  private dedupe(entries: readonly Entry[]): { unique: Entry[]; conflicts: RejectedWrite[] } {
    const seen = new Map<string, string>();
    const unique: Entry[] = [];
    const conflicts: RejectedWrite[] = [];
    for (const entry of entries) {
      const { record } = entry;
      const key = JSON.stringify([record.Dimensions, record.MeasureName, record.Time]);
      const values = JSON.stringify(record.MeasureValues);
      const known = seen.get(key);
      if (known === undefined) {
        seen.set(key, values);
        unique.push(entry);
      } else if (known !== values) {
        conflicts.push({
          kind: 'conflict',
          reason: 'another record with the same dimensions, time and measure name in the same batch',
          ...entry,
        });
      }
    }
    return { unique, conflicts };
  }

  private async writeBatch(
    batch: readonly Entry[],
  ): Promise<{ rejected: RejectedWrite[]; duplicates: number }> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const base = this.options.baseDelayMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.client.send(
          new WriteRecordsCommand({
            DatabaseName: this.options.database,
            TableName: this.options.table,
            Records: batch.map((entry) => entry.record),
          }),
        );
        return { rejected: [], duplicates: 0 };
      } catch (error) {
        if (
          error instanceof RejectedRecordsException ||
          (error as Error)?.name === 'RejectedRecordsException'
        ) {
          return this.rejections(batch, (error as RejectedRecordsException).RejectedRecords ?? []);
        }
        if (!isRetryable(error) || attempt >= maxAttempts) throw error;
        // Full jitter: concurrent writers that were throttled together do not retry together.
        await this.sleep(Math.floor(this.random() * base * 2 ** (attempt - 1)));
      }
    }
  }

  private rejections(
    batch: readonly Entry[],
    rejectedRecords: readonly RejectedRecord[],
  ): { rejected: RejectedWrite[]; duplicates: number } {
    const rejected: RejectedWrite[] = [];
    let duplicates = 0;
    for (const item of rejectedRecords) {
      const entry = item.RecordIndex === undefined ? undefined : batch[item.RecordIndex];
      if (!entry) {
        // Should not happen; if it does, the batch's outcome is unknown: let the event source retry it.
        throw new Error(
          `Timestream rejected record index ${String(item.RecordIndex)} of a ${batch.length}-record request`,
        );
      }
      const kind = classifyRejection(item);
      // A replay's record refused because a later replay (a higher version) is already stored.
      const superseded =
        entry.record.Version !== undefined &&
        item.ExistingVersion !== undefined &&
        item.ExistingVersion >= entry.record.Version;
      if (kind === 'duplicate' || superseded) {
        duplicates++;
        continue;
      }
      rejected.push({
        kind,
        reason: item.Reason ?? 'no reason given',
        ...(item.ExistingVersion === undefined ? {} : { existingVersion: item.ExistingVersion }),
        ...entry,
      });
    }
    return { rejected, duplicates };
  }
}

/** Adds DROPPED_MEASURES to a replayed record when it fits the record's size limit; false otherwise. */
function markDropped(record: TimestreamRecord, dropped: readonly string[]): boolean {
  const marker = { Name: DROPPED_MEASURES, Value: dropped.join(','), Type: 'VARCHAR' as const };
  const withMarker = { ...record, MeasureValues: [...record.MeasureValues, marker] };
  if (
    estimateRecordBytes(withMarker) > TIMESTREAM_LIMITS.recordBytes ||
    withMarker.MeasureValues.length > TIMESTREAM_LIMITS.measuresPerRecord
  )
    return false;
  record.MeasureValues.push(marker);
  return true;
}
