/**
 * Item layout of the DynamoDB time-series sink (README.md in this folder explains it): key encoding,
 * attribute names and the document client the adapters use. One place, for the writer, the query
 * adapter and the rollup job.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TIMESERIES_TABLES } from '../../../shared/tables.js';

export const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Key attribute names, from the shared declarations. */
export const PK = TIMESERIES_TABLES.timeseriesPoints.partitionKey.name;
export const SK = TIMESERIES_TABLES.timeseriesPoints.sortKey.name;
export const EXPIRES_AT = TIMESERIES_TABLES.timeseriesPoints.timeToLiveAttribute;

/** Points: the measures of the item that were SUSPECT (a string set, merged with ADD). */
export const SUSPECT = 'suspect';
/** Rollups: bumped by the writer on every write into a closed hour (invalidates the rollup). */
export const GENERATION = 'gen';
/** Rollups: the generation the aggregates were computed at; valid while it equals `gen`. */
export const ROLLED_GENERATION = 'rolledGen';
export const COMPUTED_AT = 'computedAt';

/**
 * A measure's attribute: `m:` + the measure name. Measure names are lower case (TIMESERIES_MEASURE_
 * PATTERN) and could collide with the sort key `sk` or `suspect`; the prefix keeps them apart.
 */
export const MEASURE_PREFIX = 'm:';
export const measureAttribute = (measure: string) => `${MEASURE_PREFIX}${measure}`;
export const isMeasureAttribute = (name: string) => name.startsWith(MEASURE_PREFIX);
export const measureOf = (attribute: string) => attribute.slice(MEASURE_PREFIX.length);

/**
 * Sort key of a point or rollup: epoch milliseconds, zero-padded to 15 digits, so string order is
 * time order and a time range is one `BETWEEN` (15 digits reach the year 33658).
 */
export const TIME_KEY_DIGITS = 15;
export const MAX_KEY_TIME = 10 ** TIME_KEY_DIGITS - 1;
export function timeKey(time: number): string {
  if (!Number.isSafeInteger(time) || time < 0 || time > MAX_KEY_TIME) {
    throw new RangeError(`time must be a non-negative integer epoch-milliseconds time, got ${time}`);
  }
  return String(time).padStart(TIME_KEY_DIGITS, '0');
}
export const timeOfKey = (key: string): number => Number(key);

export const hourStart = (time: number) => time - (((time % HOUR_MS) + HOUR_MS) % HOUR_MS);

/** Retention when a message does not say (its device type's `retention_days` is always set today). */
export const DEFAULT_RETENTION_DAYS = 30;

/** TTL attribute value (epoch seconds): `time` plus the retention. */
export const expiresAtSeconds = (time: number, retentionDays: number) =>
  Math.ceil((time + retentionDays * DAY_MS) / 1000);

/** DynamoDB TTL deletes within days, not at once: readers drop what has expired but is still there. */
export const isExpired = (item: Record<string, unknown>, nowMs: number) => {
  const expiresAt = item[EXPIRES_AT];
  return typeof expiresAt === 'number' && expiresAt * 1000 <= nowMs;
};

/**
 * The document client of the time-series adapters: readings are doubles, so numbers outside the safe
 * integer range are written as they are (`allowImpreciseNumbers`) and read back as JS numbers
 * (`wrapNumbers` as a function), where the default options would throw on, e.g., 1e20. A wrapper of the
 * composition root's DynamoDBClient, not a new connection.
 */
export const timeseriesDocumentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, {
    marshallOptions: {
      removeUndefinedValues: true,
      convertClassInstanceToMap: false,
      allowImpreciseNumbers: true,
    },
    unmarshallOptions: { wrapNumbers: (text: string) => Number(text) as never },
  });

export interface TimeseriesTableNamesOf {
  readonly points: string;
  readonly latest: string;
  readonly rollups: string;
}
