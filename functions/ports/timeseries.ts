/**
 * The time-series port: Timestream for LiveAnalytics in AWS, an embedded DuckDB store locally. Writes
 * are idempotent on (device, measure, time), so an at-least-once redelivery never counts twice.
 */
import type { QualityVerdict } from '../core/contract/messages.js';
import type { TimeSeriesPoint } from '../core/timeseries.js';

export interface TimeseriesSink {
  write(points: readonly TimeSeriesPoint[]): Promise<void>;
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
