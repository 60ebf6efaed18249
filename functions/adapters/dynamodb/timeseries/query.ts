/**
 * The time-series read port over the DynamoDB sink's tables (README.md in this folder).
 *
 * - latest: one Query of the device's latest items (one per message kind).
 * - series: a Query of the device's points with `sk BETWEEN`, the measure projected, pages followed
 *   through LastEvaluatedKey until `limit` points or MAX_PAGES pages.
 * - buckets: hour-multiple buckets take each closed hour from its rollup when the rollup is valid
 *   (`rolledGen = gen`) and compute every other part of the range (the current hour, hours whose
 *   rollup is missing or invalidated by late data, partial hours at the range's ends) from the points,
 *   so an answer never depends on whether the rollup job ran. Smaller buckets come from the points.
 *
 * Every identifier is checked against its pattern before a request is built; windows are half open
 * (`from` inclusive, `to` exclusive), buckets start at multiples of `bucketMs` from the epoch, as the
 * DuckDB store answers. Items past their TTL that DynamoDB has not deleted yet (and every expired item
 * on dynalite, which has no TTL) are left out.
 */
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { DEVICE_ID_PATTERN, TIMESERIES_MEASURE_PATTERN } from '../../../core/contract/identifiers.js';
import type {
  BucketPoint,
  LatestValue,
  RawPoint,
  SeriesPage,
  SeriesQuery,
  TimeseriesQuery,
} from '../../../ports/timeseries.js';
import {
  EXPIRES_AT,
  GENERATION,
  HOUR_MS,
  hourStart,
  isExpired,
  isMeasureAttribute,
  MAX_KEY_TIME,
  measureAttribute,
  measureOf,
  PK,
  ROLLED_GENERATION,
  SK,
  SUSPECT,
  type TimeseriesTableNamesOf,
  timeKey,
  timeOfKey,
} from './layout.js';

/** Largest number of points (or buckets) one query returns. */
export const MAX_QUERY_POINTS = 10_000;
export const MIN_BUCKET_MS = 1_000;
/**
 * Pages (of at most 1 MB each) one Query may read: a guard on the read units a single API call can
 * spend (1 MB eventually consistent is 128 RCU). A long raw range stops there, as a limit would.
 */
export const MAX_PAGES = 50;

export class InvalidTimeseriesQuery extends RangeError {
  override readonly name = 'InvalidTimeseriesQuery';
}

function checkPattern(field: string, value: unknown, pattern: RegExp): asserts value is string {
  if (typeof value !== 'string' || !pattern.test(value))
    throw new InvalidTimeseriesQuery(`${field} is not a valid identifier: must match ${pattern.source}`);
}

function checkInteger(field: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new InvalidTimeseriesQuery(
      `${field} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
}

function checkQuery(query: SeriesQuery): void {
  checkPattern('deviceId', query.deviceId, DEVICE_ID_PATTERN);
  checkPattern('measure', query.measure, TIMESERIES_MEASURE_PATTERN);
  checkInteger('from', query.from, 0, MAX_KEY_TIME);
  checkInteger('to', query.to, 0, MAX_KEY_TIME);
  if (query.to < query.from)
    throw new InvalidTimeseriesQuery(`to (${query.to}) is before from (${query.from})`);
  checkInteger('limit', query.limit, 1, MAX_QUERY_POINTS);
}

type Item = Record<string, unknown>;

/** Running aggregate of one bucket. */
interface Aggregate {
  sum: number;
  min: number;
  max: number;
  count: number;
}

/** A measure's aggregate as a rollup item stores it. */
export interface RollupStats {
  readonly n: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

const isRollupStats = (value: unknown): value is RollupStats =>
  typeof value === 'object' &&
  value !== null &&
  ['n', 'sum', 'min', 'max'].every((k) => typeof (value as Record<string, unknown>)[k] === 'number');

/** A rollup item whose aggregates reflect every point written to its hour. */
export const isValidRollup = (item: Item): boolean =>
  typeof item[ROLLED_GENERATION] === 'number' && item[ROLLED_GENERATION] === (item[GENERATION] ?? 0);

export interface DynamoTimeseriesQueryOptions {
  /** A document client from `timeseriesDocumentClient` (layout.ts). */
  readonly client: DynamoDBDocumentClient;
  readonly tables: TimeseriesTableNamesOf;
  readonly now?: () => number;
}

export class DynamoTimeseriesQuery implements TimeseriesQuery {
  private readonly client: DynamoDBDocumentClient;
  private readonly tables: TimeseriesTableNamesOf;
  private readonly now: () => number;

  constructor(options: DynamoTimeseriesQueryOptions) {
    this.client = options.client;
    this.tables = options.tables;
    this.now = options.now ?? Date.now;
  }

  async latest(deviceId: string): Promise<LatestValue[]> {
    checkPattern('deviceId', deviceId, DEVICE_ID_PATTERN);
    const latest = new Map<string, LatestValue>();
    // One item per message kind: a handful of items, one page.
    await this.queryPages(
      {
        TableName: this.tables.latest,
        KeyConditionExpression: '#pk = :device',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':device': deviceId },
      },
      (item) => {
        for (const [name, stored] of Object.entries(item)) {
          if (!isMeasureAttribute(name)) continue;
          // [value, time] or [value, time, 'SUSPECT'] (sink.ts, LatestEntry).
          if (!Array.isArray(stored)) continue;
          const [v, t, suspect] = stored as unknown[];
          if (typeof t !== 'number') continue;
          if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string') continue;
          const quality = suspect === 'SUSPECT' ? 'SUSPECT' : 'GOOD';
          const measure = measureOf(name);
          const known = latest.get(measure);
          if (!known || t > known.time) latest.set(measure, { measure, value: v, time: t, quality });
        }
        return true;
      },
    );
    return [...latest.values()].sort((a, b) => (a.measure < b.measure ? -1 : a.measure > b.measure ? 1 : 0));
  }

  /**
   * Messages stored per device: its unexpired point items, one per (device, message time), counted
   * with `Select: COUNT`. Derived from the points, so exact across redelivery and crashes. It reads a
   * device's whole partition (read units for every item): for the local runtime and tests, never a
   * Lambda route (in AWS the devices table keeps a running count).
   */
  async messageCounts(deviceIds: readonly string[]): Promise<Map<string, number>> {
    for (const deviceId of deviceIds) checkPattern('deviceId', deviceId, DEVICE_ID_PATTERN);
    const nowSeconds = Math.floor(this.now() / 1000);
    const counts = new Map<string, number>();
    for (const deviceId of deviceIds) {
      let count = 0;
      let startKey: Item | undefined;
      do {
        const output = await this.client.send(
          new QueryCommand({
            TableName: this.tables.points,
            KeyConditionExpression: '#pk = :device',
            // TTL deletes within days, not at once (isExpired).
            FilterExpression: 'attribute_not_exists(#exp) OR #exp > :now',
            ExpressionAttributeNames: { '#pk': PK, '#exp': EXPIRES_AT },
            ExpressionAttributeValues: { ':device': deviceId, ':now': nowSeconds },
            Select: 'COUNT',
            ExclusiveStartKey: startKey,
          }),
        );
        count += output.Count ?? 0;
        startKey = output.LastEvaluatedKey;
      } while (startKey);
      if (count > 0) counts.set(deviceId, count);
    }
    return counts;
  }

  async series(query: SeriesQuery): Promise<RawPoint[]> {
    checkQuery(query);
    const points: RawPoint[] = [];
    if (query.to <= query.from) return points;
    const attribute = measureAttribute(query.measure);
    await this.queryPoints(query.deviceId, query.from, query.to, attribute, (item) => {
      const value = item[attribute];
      if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') return true;
      const suspect = item[SUSPECT] instanceof Set && (item[SUSPECT] as Set<string>).has(query.measure);
      points.push({ time: timeOfKey(item[SK] as string), value, quality: suspect ? 'SUSPECT' : 'GOOD' });
      return points.length < query.limit;
    });
    return points;
  }

  /**
   * One page of a raw range: Query pages (1 MB each) until `limit` points or MAX_PAGES pages; `next`
   * is the time after the last item read (an item holds one message time, so nothing is skipped).
   */
  async seriesPage(query: SeriesQuery): Promise<SeriesPage> {
    checkQuery(query);
    const points: RawPoint[] = [];
    if (query.to <= query.from) return { points };
    const attribute = measureAttribute(query.measure);
    const now = this.now();
    let startKey: Item | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const output = await this.client.send(
        new QueryCommand({
          ...this.pointsQuery(query.deviceId, query.from, query.to, attribute),
          // At most the points still wanted: a page never reads past what it returns.
          Limit: query.limit - points.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of output.Items ?? []) {
        if (isExpired(item, now)) continue;
        const value = item[attribute];
        if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') continue;
        const suspect = item[SUSPECT] instanceof Set && (item[SUSPECT] as Set<string>).has(query.measure);
        points.push({ time: timeOfKey(item[SK] as string), value, quality: suspect ? 'SUSPECT' : 'GOOD' });
      }
      startKey = output.LastEvaluatedKey;
      if (!startKey) return { points };
      if (points.length >= query.limit) break;
    }
    if (!startKey) return { points };
    const next = timeOfKey(startKey[SK] as string) + 1;
    return next < query.to ? { points, next } : { points };
  }

  async buckets(query: SeriesQuery & { readonly bucketMs: number }): Promise<BucketPoint[]> {
    checkQuery(query);
    checkInteger('bucketMs', query.bucketMs, MIN_BUCKET_MS, Number.MAX_SAFE_INTEGER);
    const { deviceId, from, to, bucketMs } = query;
    if (to <= from) return [];
    const attribute = measureAttribute(query.measure);
    const buckets = new Map<number, Aggregate>();
    const add = (time: number, stats: Aggregate) => {
      const start = time - (((time % bucketMs) + bucketMs) % bucketMs);
      const bucket = buckets.get(start);
      if (!bucket) buckets.set(start, { ...stats });
      else {
        bucket.sum += stats.sum;
        bucket.count += stats.count;
        if (stats.min < bucket.min) bucket.min = stats.min;
        if (stats.max > bucket.max) bucket.max = stats.max;
      }
    };

    // Closed hours wholly inside [from, to) may come from their rollups (only when an hour is a whole
    // part of a bucket, i.e. bucketMs is a multiple of an hour).
    const covered = new Set<number>();
    if (bucketMs % HOUR_MS === 0) {
      const firstHour = hourStart(from) === from ? from : hourStart(from) + HOUR_MS;
      const lastHour = Math.min(hourStart(to) - HOUR_MS, hourStart(this.now()) - HOUR_MS);
      if (firstHour <= lastHour) {
        await this.queryPages(
          {
            TableName: this.tables.rollups,
            KeyConditionExpression: '#pk = :device AND #sk BETWEEN :from AND :to',
            ProjectionExpression: '#sk, #m, #gen, #rolled, #exp',
            ExpressionAttributeNames: {
              '#pk': PK,
              '#sk': SK,
              '#m': attribute,
              '#gen': GENERATION,
              '#rolled': ROLLED_GENERATION,
              '#exp': EXPIRES_AT,
            },
            ExpressionAttributeValues: {
              ':device': deviceId,
              ':from': timeKey(firstHour),
              ':to': timeKey(lastHour),
            },
          },
          (item) => {
            if (!isValidRollup(item)) return true;
            const hour = timeOfKey(item[SK] as string);
            covered.add(hour);
            const stats = item[attribute];
            if (isRollupStats(stats) && stats.n > 0)
              add(hour, { sum: stats.sum, min: stats.min, max: stats.max, count: stats.n });
            return true;
          },
        );
      }
    }

    // Everything else from the points: the uncovered stretches of [from, to).
    for (const [start, end] of uncoveredRanges(from, to, covered)) {
      await this.queryPoints(deviceId, start, end, attribute, (item) => {
        const value = item[attribute];
        if (typeof value === 'number')
          add(timeOfKey(item[SK] as string), { sum: value, min: value, max: value, count: 1 });
        return true;
      });
    }

    return [...buckets.entries()]
      .sort(([a], [b]) => a - b)
      .slice(0, query.limit)
      .map(([time, b]) => ({ time, avg: b.sum / b.count, min: b.min, max: b.max, count: b.count }));
  }

  /**
   * Measures stored in the points table, over the whole table: a Scan of every item, for tests and
   * tools only (the Lambda API does not report stored points; in AWS the table's metrics do).
   */
  async count(): Promise<number> {
    let count = 0;
    const now = this.now();
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.tables.points, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) {
        if (isExpired(item, now)) continue;
        for (const name of Object.keys(item)) if (isMeasureAttribute(name)) count++;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** Points of a device in [from, to) that hold `attribute`, oldest first, until `visit` says stop. */
  private queryPoints(
    deviceId: string,
    from: number,
    to: number,
    attribute: string,
    visit: (item: Item) => boolean,
  ): Promise<void> {
    return this.queryPages(this.pointsQuery(deviceId, from, to, attribute), visit);
  }

  /** The Query of a device's points in [from, to) that hold `attribute`. */
  private pointsQuery(deviceId: string, from: number, to: number, attribute: string): QueryCommandInput {
    return {
      TableName: this.tables.points,
      KeyConditionExpression: '#pk = :device AND #sk BETWEEN :from AND :to',
      // The filter saves transfer, not read units (those count every item read).
      FilterExpression: 'attribute_exists(#m)',
      ProjectionExpression: '#sk, #m, #suspect, #exp',
      ExpressionAttributeNames: {
        '#pk': PK,
        '#sk': SK,
        '#m': attribute,
        '#suspect': SUSPECT,
        '#exp': EXPIRES_AT,
      },
      ExpressionAttributeValues: { ':device': deviceId, ':from': timeKey(from), ':to': timeKey(to - 1) },
    };
  }

  /** Follows LastEvaluatedKey for up to MAX_PAGES pages; `visit` gets each unexpired item. */
  private async queryPages(input: QueryCommandInput, visit: (item: Item) => boolean): Promise<void> {
    const now = this.now();
    let startKey: Item | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const output = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      for (const item of output.Items ?? []) {
        if (isExpired(item, now)) continue;
        if (!visit(item)) return;
      }
      startKey = output.LastEvaluatedKey;
      if (!startKey) return;
    }
  }
}

/** [from, to) minus the covered hours, as half-open ranges in time order. */
function uncoveredRanges(from: number, to: number, covered: ReadonlySet<number>): [number, number][] {
  if (covered.size === 0) return [[from, to]];
  const ranges: [number, number][] = [];
  let start = from;
  for (const hour of [...covered].sort((a, b) => a - b)) {
    if (hour > start) ranges.push([start, hour]);
    start = Math.max(start, hour + HOUR_MS);
  }
  if (start < to) ranges.push([start, to]);
  return ranges;
}
