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
   * `enriched`: the replayed messages themselves, for sinks that need more than the keys (the DynamoDB
   * sink's retention, Timestream's records); a point store may ignore them.
   */
  rewrite?(
    points: readonly TimeSeriesPoint[],
    messages: readonly MessagePointKey[],
    enriched?: readonly EnrichedMessage[],
  ): Promise<void>;
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

// ----- export (issue 16): a paged raw read, so a long range never loads into memory ----------------

/** One page of a raw range: up to `limit` points, oldest first. */
export interface SeriesPage {
  readonly points: RawPoint[];
  /**
   * Where the next page starts (epoch ms, inclusive, inside the query's range); absent once the range
   * is read. A page may hold fewer than `limit` points and still have a `next` (a store that caps the
   * reads of one call, as the DynamoDB sink does).
   */
  readonly next?: number;
}

/** The first window `seriesPages` reads; later windows follow the density it finds. */
export const FIRST_PAGE_WINDOW_MS = 86_400_000;

/**
 * Every page of a raw range, oldest first, through `seriesPage`. Each call asks for a window of the
 * range, not its whole rest: a store that scans (DuckDB's top-N over the remaining rows, Timestream
 * billing the bytes a query scans) would otherwise read the rest of the range once per page, and a
 * million-point export spent 1.7 s per page on DuckDB. A full page sets the next window to twice the
 * time it covered; a window with room left grows four times, so sparse stretches pass quickly.
 */
export async function* seriesPages(
  query: Pick<TimeseriesQuery, 'seriesPage'>,
  range: SeriesQuery,
): AsyncGenerator<RawPoint[]> {
  let from = range.from;
  let window = FIRST_PAGE_WINDOW_MS;
  while (from < range.to) {
    const to = Math.min(range.to, from + window);
    const page = await query.seriesPage({ ...range, from, to });
    if (page.points.length > 0) yield page.points;
    if (page.next !== undefined) {
      if (page.next <= from)
        throw new Error(`seriesPage did not advance: next ${page.next} after from ${from}`);
      window = Math.max(1_000, 2 * (page.next - from));
      from = page.next;
    } else {
      if (page.points.length < range.limit / 2) window *= 4;
      from = to;
    }
  }
}

export interface TimeseriesQuery {
  /** The newest value of every measure of a device. */
  latest(deviceId: string): Promise<LatestValue[]>;
  /** Raw points, oldest first. */
  series(query: SeriesQuery): Promise<RawPoint[]>;
  /** Numeric points aggregated into buckets of `bucketMs`, oldest first. */
  buckets(query: SeriesQuery & { readonly bucketMs: number }): Promise<BucketPoint[]>;
  /** One page of raw points (`limit` is the page size), oldest first; see `seriesPages`. */
  seriesPage(query: SeriesQuery): Promise<SeriesPage>;
  /** How many points are stored (for stats and tests). */
  count(): Promise<number>;
}
