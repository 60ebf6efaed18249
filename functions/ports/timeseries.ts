/**
 * The time-series port: in AWS the environment's sink (DynamoDB tables by default, Timestream for
 * LiveAnalytics where the account has it), locally an embedded DuckDB store (or the DynamoDB sink over
 * dynalite). Writes are idempotent on (device, measure, time), so an at-least-once redelivery never
 * counts twice. `local/timeseries/contract.test.ts` holds DuckDB and DynamoDB to the same answers.
 */
import type { EnrichedMessage, QualityVerdict } from '../core/contract/messages.js';
import type { TimeSeriesPoint } from '../core/timeseries.js';

export interface TimeseriesSink {
  /**
   * Stores `points`, the flat points of `messages`. A point store (DuckDB) keeps the points; a store
   * of one record per message (Timestream's multi-measure records, built by the core's
   * `toTimestreamRecords`) builds its records from the messages instead; the DynamoDB sink writes the
   * points and reads each device's retention from its message.
   */
  write(points: readonly TimeSeriesPoint[], messages: readonly EnrichedMessage[]): Promise<void>;
  /**
   * Data operations (issue 16), a replay: replaces every stored point of each message's key (device,
   * kind, time) with `points`, so a reading the new definition judges BAD (not stored) disappears and a
   * changed verdict replaces the old one; idempotent. A sink without it cannot take replays (the writer
   * then writes them as new points: an unchanged point stays, a changed one is not replaced).
   */
  rewrite?(points: readonly TimeSeriesPoint[], messages: readonly MessagePointKey[]): Promise<void>;
}

/** What identifies the points of one message in a store: a message's points share its time. */
export interface MessagePointKey {
  readonly deviceId: string;
  readonly kind: EnrichedMessage['event_type'];
  /** Epoch ms: the message's timestamp (a trend window's start). */
  readonly time: number;
}

export interface LatestValue {
  readonly measure: string;
  readonly value: number | boolean | string;
  readonly time: number;
  readonly quality: Exclude<QualityVerdict, 'BAD'>;
}

export interface RawPoint {
  readonly time: number;
  readonly value: number | boolean | string;
  readonly quality: Exclude<QualityVerdict, 'BAD'>;
}

export interface BucketPoint {
  /** Bucket start, epoch ms. */
  readonly time: number;
  readonly avg: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

export interface SeriesQuery {
  readonly deviceId: string;
  readonly measure: string;
  readonly from: number;
  readonly to: number;
  /** At most this many points (raw or buckets). */
  readonly limit: number;
}

export interface TimeseriesQuery {
  /** The newest value of every measure of a device. */
  latest(deviceId: string): Promise<LatestValue[]>;
  /** Raw points, oldest first. */
  series(query: SeriesQuery): Promise<RawPoint[]>;
  /** Numeric points aggregated into buckets of `bucketMs`, oldest first. */
  buckets(query: SeriesQuery & { readonly bucketMs: number }): Promise<BucketPoint[]>;
  /** How many points are stored (for stats and tests). */
  count(): Promise<number>;
}
