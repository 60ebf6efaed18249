/**
 * The time-series read port over Timestream for LiveAnalytics (functions/core/timeseries.ts writes one
 * multi-measure record per message: dimensions `device_id`, `device_type` and the type's tag
 * dimensions; the record's measures are columns named after the measurement path, e.g.
 * "voltage.phase_a", plus `quality_score` and `suspect_measures`).
 *
 * Timestream's query API has no bind parameters, so every value that enters the SQL is checked first:
 * device ids and measures against the patterns of core/contract/identifiers.ts, database and table
 * names against Timestream's own name alphabet, numbers as safe integers in range. Identifiers are
 * then double-quoted and string literals single-quoted with quotes doubled (defence in depth: the
 * patterns already exclude quotes). Results are bounded (`LIMIT`, a page cap) and every page of a
 * result is followed through `NextToken`.
 */
import {
  type ColumnInfo,
  type Datum,
  QueryCommand,
  type QueryCommandOutput,
  type TimestreamQueryClient,
  ValidationException,
} from '@aws-sdk/client-timestream-query';
import { DEVICE_ID_PATTERN, TIMESERIES_MEASURE_PATTERN } from '../../core/contract/identifiers.js';
import { DROPPED_MEASURES } from '../../core/timeseries.js';
import type {
  BucketPoint,
  LatestValue,
  RawPoint,
  SeriesPage,
  SeriesQuery,
  TimeseriesQuery,
} from '../../ports/timeseries.js';

/** Timestream database and table names: letters, digits, `_`, `-` and `.`, 3 to 256 characters. */
export const TIMESTREAM_NAME_PATTERN = /^[a-zA-Z0-9_.-]{3,256}$/;

/** Largest number of points one query returns (the API asks for at most this many). */
export const MAX_QUERY_POINTS = 10_000;
/** Pages followed per query: a guard against an endless NextToken chain. */
const MAX_PAGES = 200;
/** Records scanned for `latest`, and how far back it looks. */
const LATEST_RECORDS = 200;
const LATEST_LOOKBACK = '7d';

/** Columns of a record that are not measures. */
const NON_MEASURE_COLUMNS = new Set([
  'time',
  'measure_name',
  'quality_score',
  'suspect_measures',
  DROPPED_MEASURES,
]);
/**
 * DROPPED_MEASURES, a replay's marker (issue 16, writer.ts `rewrite`), exists as a column only once a
 * replay wrote one, and a query naming a missing column fails: a table found without it is read
 * without the filter for this long before it is tried again.
 */
const DROPPED_COLUMN_RECHECK_MS = 300_000;

export interface TimestreamQueryOptions {
  readonly client: TimestreamQueryClient;
  readonly database: string;
  readonly table: string;
  /**
   * Dimension columns of the table besides device_id and device_type (the registry types' tag
   * dimensions), so `latest` does not report them as measures. A function is asked on every call.
   */
  readonly dimensionNames?: readonly string[] | (() => Promise<readonly string[]>);
}

export class InvalidQueryInput extends Error {
  override readonly name = 'InvalidQueryInput';
}

function checked(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new InvalidQueryInput(`invalid ${what}: must match ${pattern.source}`);
  return value;
}

function safeInteger(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidQueryInput(`invalid ${what}: an integer from ${min} to ${max}`);
  }
  return value;
}

/** A double-quoted identifier (already checked against a pattern without quotes). */
const identifier = (name: string) => `"${name.replaceAll('"', '""')}"`;
/** A single-quoted string literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

// A later time than any real reading; the range check keeps `from_milliseconds` arguments sane.
const MAX_EPOCH_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A parsed result row: column name -> typed value (null for SQL NULL). */
type ResultRow = Record<string, number | boolean | string | null>;

function parseDatum(datum: Datum | undefined, column: ColumnInfo): number | boolean | string | null {
  if (!datum || datum.NullValue || datum.ScalarValue === undefined) return null;
  const text = datum.ScalarValue;
  switch (column.Type?.ScalarType) {
    case 'DOUBLE':
    case 'BIGINT':
    case 'INTEGER':
      return Number(text);
    case 'BOOLEAN':
      return text === 'true';
    default:
      return text;
  }
}

function parseRows(output: QueryCommandOutput): ResultRow[] {
  const columns = output.ColumnInfo ?? [];
  return (output.Rows ?? []).map((row) => {
    const parsed: ResultRow = {};
    columns.forEach((column, i) => {
      if (column.Name) parsed[column.Name] = parseDatum(row.Data?.[i], column);
    });
    return parsed;
  });
}

const isSuspect = (suspectMeasures: unknown, measure: string) =>
  typeof suspectMeasures === 'string' &&
  (suspectMeasures === '*' || suspectMeasures.split(',').includes(measure));

const isDropped = (droppedMeasures: unknown, measure: string) =>
  typeof droppedMeasures === 'string' && droppedMeasures.split(',').includes(measure);

/** A measure column that does not exist (never written) is an empty series, not an error. */
const isUnknownColumn = (error: unknown) =>
  error instanceof ValidationException && /column|does not exist|cannot be resolved/i.test(error.message);

/** The unknown column is the replay marker (no replay dropped a reading in this table yet). */
const isMissingDroppedColumn = (error: unknown) =>
  isUnknownColumn(error) && (error as Error).message.includes(DROPPED_MEASURES);

export class TimestreamTimeseriesQuery implements TimeseriesQuery {
  private readonly client: TimestreamQueryClient;
  private readonly source: string;
  private readonly dimensionNames: () => Promise<readonly string[]>;
  /** Until when the table is taken to have no DROPPED_MEASURES column (epoch ms). */
  private droppedColumnAbsentUntil = 0;

  constructor(options: TimestreamQueryOptions) {
    this.client = options.client;
    const database = checked(options.database, TIMESTREAM_NAME_PATTERN, 'Timestream database name');
    const table = checked(options.table, TIMESTREAM_NAME_PATTERN, 'Timestream table name');
    this.source = `${identifier(database)}.${identifier(table)}`;
    const names = options.dimensionNames ?? [];
    this.dimensionNames = typeof names === 'function' ? names : async () => names;
  }

  async latest(deviceId: string): Promise<LatestValue[]> {
    const device = checked(deviceId, DEVICE_ID_PATTERN, 'device id');
    const rows = await this.query(
      `SELECT * FROM ${this.source} WHERE device_id = ${literal(device)} AND time >= ago(${LATEST_LOOKBACK}) ` +
        `ORDER BY time DESC LIMIT ${LATEST_RECORDS}`,
      LATEST_RECORDS,
    );
    const dimensions = new Set(['device_id', 'device_type', ...(await this.dimensionNames())]);
    // Newest record first: the first non-null value of each measure column is its latest.
    const latest = new Map<string, LatestValue>();
    for (const row of rows) {
      const time = typeof row.time === 'string' ? parseTimestreamTime(row.time) : Number.NaN;
      if (!Number.isFinite(time)) continue;
      for (const [column, value] of Object.entries(row)) {
        if (value === null || NON_MEASURE_COLUMNS.has(column) || dimensions.has(column)) continue;
        if (isDropped(row[DROPPED_MEASURES], column)) continue; // an older row may still hold it
        if (latest.has(column) || !TIMESERIES_MEASURE_PATTERN.test(column)) continue;
        latest.set(column, {
          measure: column,
          value,
          time,
          quality: isSuspect(row.suspect_measures, column) ? 'SUSPECT' : 'GOOD',
        });
      }
    }
    return [...latest.values()].sort((a, b) => (a.measure < b.measure ? -1 : 1));
  }

  async series(query: SeriesQuery): Promise<RawPoint[]> {
    return this.rawPoints(query, 0);
  }

  /** `limit` + 1 records are asked for: the extra one, if there, is where the next page starts. */
  async seriesPage(query: SeriesQuery): Promise<SeriesPage> {
    const points = await this.rawPoints(query, 1);
    const extra = points[query.limit];
    return extra === undefined ? { points } : { points: points.slice(0, query.limit), next: extra.time };
  }

  private async rawPoints(query: SeriesQuery, extra: 0 | 1): Promise<RawPoint[]> {
    const { where, column } = this.seriesParts(query);
    const limit = query.limit + extra;
    try {
      const rows = await this.withoutDropped(query.measure, (notDropped) =>
        this.query(
          `SELECT to_milliseconds(time) AS time_ms, ${column} AS value, suspect_measures FROM ${this.source} ` +
            `WHERE ${where}${notDropped} ORDER BY time ASC LIMIT ${limit}`,
          limit,
        ),
      );
      return rows.flatMap((row): RawPoint[] => {
        const { time_ms: time, value } = row;
        if (typeof time !== 'number' || value === null || value === undefined) return [];
        const quality = isSuspect(row.suspect_measures, query.measure) ? 'SUSPECT' : 'GOOD';
        return [{ time, value, quality }];
      });
    } catch (error) {
      if (isUnknownColumn(error)) return [];
      throw error;
    }
  }

  async buckets(query: SeriesQuery & { readonly bucketMs: number }): Promise<BucketPoint[]> {
    const { where, column, limit } = this.seriesParts(query);
    const bucketMs = safeInteger(query.bucketMs, 'bucket width (ms)', 1000, 31 * 86_400_000);
    try {
      const rows = await this.withoutDropped(query.measure, (notDropped) =>
        this.query(
          `SELECT to_milliseconds(bin(time, ${bucketMs}ms)) AS bucket_ms, avg(${column}) AS avg_value, ` +
            `min(${column}) AS min_value, max(${column}) AS max_value, count(${column}) AS point_count ` +
            `FROM ${this.source} WHERE ${where}${notDropped} GROUP BY bin(time, ${bucketMs}ms) ORDER BY bucket_ms ASC LIMIT ${limit}`,
          limit,
        ),
      );
      return rows.flatMap((row) =>
        typeof row.bucket_ms === 'number' &&
        typeof row.avg_value === 'number' &&
        typeof row.min_value === 'number' &&
        typeof row.max_value === 'number' &&
        typeof row.point_count === 'number'
          ? [
              {
                time: row.bucket_ms,
                avg: row.avg_value,
                min: row.min_value,
                max: row.max_value,
                count: row.point_count,
              },
            ]
          : [],
      );
    } catch (error) {
      if (isUnknownColumn(error)) return [];
      throw error;
    }
  }

  /** Records stored, over the whole table (a full scan of the time column: for tests and tools). */
  async count(): Promise<number> {
    const [row] = await this.query(`SELECT count(*) AS records FROM ${this.source}`, 1);
    return typeof row?.records === 'number' ? row.records : 0;
  }

  private seriesParts(query: SeriesQuery) {
    const device = checked(query.deviceId, DEVICE_ID_PATTERN, 'device id');
    const measure = checked(query.measure, TIMESERIES_MEASURE_PATTERN, 'measure');
    const from = safeInteger(query.from, 'from (epoch ms)', 0, MAX_EPOCH_MS);
    const to = safeInteger(query.to, 'to (epoch ms)', 0, MAX_EPOCH_MS);
    const limit = safeInteger(query.limit, 'limit', 1, MAX_QUERY_POINTS);
    const column = identifier(measure);
    // Half open, [from, to), as the port's other stores answer (BETWEEN would count `to` twice across
    // consecutive windows, e.g. the hourly buckets of two export pages).
    const where =
      `device_id = ${literal(device)} AND time >= from_milliseconds(${from}) ` +
      `AND time < from_milliseconds(${to}) AND ${column} IS NOT NULL`;
    return { where, column, limit };
  }

  /**
   * Runs `read` with a condition that leaves out rows where a replay marked `measure` dropped, or
   * without it while the table has no such column (see DROPPED_MEASURES). `measure` is checked already.
   */
  private async withoutDropped<T>(measure: string, read: (notDropped: string) => Promise<T>): Promise<T> {
    if (Date.now() < this.droppedColumnAbsentUntil) return read('');
    try {
      return await read(
        ` AND (${DROPPED_MEASURES} IS NULL OR strpos(',' || ${DROPPED_MEASURES} || ',', ${literal(`,${measure},`)}) = 0)`,
      );
    } catch (error) {
      if (!isMissingDroppedColumn(error)) throw error;
      this.droppedColumnAbsentUntil = Date.now() + DROPPED_COLUMN_RECHECK_MS;
      return read('');
    }
  }

  /** Runs a query, following NextToken until the result ends or `maxRows` rows are in. */
  private async query(sql: string, maxRows: number): Promise<ResultRow[]> {
    const rows: ResultRow[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const output = await this.client.send(
        new QueryCommand({ QueryString: sql, ...(nextToken ? { NextToken: nextToken } : {}) }),
      );
      rows.push(...parseRows(output));
      nextToken = output.NextToken;
      if (!nextToken || rows.length >= maxRows) break;
    }
    return rows.slice(0, maxRows);
  }
}

/** Timestream renders timestamps as `2026-11-23 12:00:00.123000000` (UTC, nanoseconds). */
export function parseTimestreamTime(text: string): number {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/.exec(text);
  if (!match) return Number.NaN;
  const millis = (match[3] ?? '').padEnd(3, '0').slice(0, 3);
  return Date.parse(`${match[1]}T${match[2]}.${millis}Z`);
}
