/**
 * The local time-series store: one narrow DuckDB table of points, the local stand-in for Timestream.
 *
 * Schema (table `points`, one row per device, measure and time):
 *
 *   device_id VARCHAR, measure VARCHAR, time BIGINT (epoch ms, UTC)   -- the key, unique by the writes below
 *   device_type VARCHAR, kind VARCHAR (telemetry | trends | status | event)
 *   value_type VARCHAR (DOUBLE | BIGINT | BOOLEAN | VARCHAR) and the one value column it names:
 *   num DOUBLE (DOUBLE and BIGINT: safe integers are exact in a double), bool BOOLEAN, text VARCHAR
 *   quality VARCHAR (GOOD | SUSPECT)
 *
 * Writes are idempotent on the key: a batch is de-duplicated in memory, appended to a temporary
 * staging table and inserted with an anti-join against the points of the batch's time range, so a
 * redelivered point is stored once. (Measured with 1M stored rows: the range-bounded anti-join kept
 * 40-55k points/s for batches of 1,000, where `INSERT OR IGNORE` fell to about 10k/s once the index had
 * grown through many small writes, and an anti-join without the time range was as slow.) Every write
 * takes that path, one transaction at a time, so it is the guarantee, and the table has no PRIMARY KEY:
 * maintaining its index cost about a quarter of the write rate (fleet writes of `bench.ts`, side by
 * side: 121-127k points/s with it, 162-164k without), and no query used it (DuckDB reads a device's
 * points through the row groups' min/max). A file created with the key keeps it, and stays correct.
 * One writer at a time: concurrent `write` calls queue up and are
 * coalesced into one transaction (a group commit), so many small writes cost one commit. A call
 * resolves once its points are committed; a lone awaited call costs one commit (a few ms with the
 * WAL's fsync), so callers should write a consumed batch at once, or several calls concurrently.
 * Figures: `npx tsx local/timeseries/bench.ts`.
 *
 * Queries: time windows are half open, `from` inclusive and `to` exclusive; buckets start at multiples
 * of `bucketMs` from the epoch (UTC). Every value reaching SQL is a bound parameter; identifiers are
 * also checked against their patterns first and rejected with a RangeError naming the field.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  type JS,
} from '@duckdb/node-api';
import { DEVICE_ID_PATTERN, TIMESERIES_MEASURE_PATTERN } from '../../functions/core/contract/identifiers.js';
import type { TimeSeriesPoint, TimestreamValueType } from '../../functions/core/timeseries.js';
import type {
  BucketPoint,
  LatestValue,
  MessagePointKey,
  RawPoint,
  SeriesPage,
  SeriesQuery,
  TimeseriesQuery,
  TimeseriesSink,
} from '../../functions/ports/timeseries.js';

/** The store's measure names: the core's time-series measure pattern. */
export const MEASURE_PATTERN = TIMESERIES_MEASURE_PATTERN;
/** A device type as the registry names it; kept loose (any stored type id is written). */
const DEVICE_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const KINDS: ReadonlySet<string> = new Set(['telemetry', 'trends', 'status', 'event']);

export const MAX_QUERY_LIMIT = 10_000;
export const MIN_BUCKET_MS = 1_000;
/** Queued writes are coalesced into transactions of about this many points. */
export const MAX_POINTS_PER_TRANSACTION = 20_000;

export interface DuckDbTimeseriesStoreOptions {
  /** A database file (its directory is created), or ':memory:'. */
  readonly path: string;
  /** DuckDB worker threads (default 1, see DEFAULT_THREADS). */
  readonly threads?: number;
  /** DuckDB's `memory_limit`, bytes (default DEFAULT_MEMORY_LIMIT_BYTES). */
  readonly memoryLimitBytes?: number;
}

/**
 * DuckDB's buffer manager keeps the table's blocks it wrote or read in memory up to `memory_limit`,
 * whose default is 80 % of the machine's RAM: so the local store's memory grew with every point kept
 * (about 0.2 KB a message under bench:soak, 25 MB a minute at 2,000 msg/s) until the machine ran low.
 * A fixed ceiling instead: past it, DuckDB drops blocks that are already in the file and reads them
 * again when a query needs them (the OS page cache usually has them), and spills what is only in
 * memory to a temporary directory next to the database.
 * https://duckdb.org/docs/stable/configuration/overview.html (memory_limit)
 * 128 MiB was too tight: after 17 minutes at 2,000 msg/s (22M points) writes began to fail with
 * "Out of Memory Error: failed to pin block" and went to the dead-letter topic; 512 MiB leaves room.
 */
export const DEFAULT_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024;

/**
 * One DuckDB thread: the pipeline's writes are small transactions and the API's queries read one
 * device's series, and on the 2-core machines this runs on, DuckDB's parallel execution cost more CPU
 * than it saved, next to the pipeline's own threads. Side by side under `npm run bench:e2e` (process CPU
 * over the 50,000-message phase, four pairs): 11.2-15.3 s with one thread, 14.5-18.1 s with two; the
 * 5-minute buckets over a 1M-point series went from 39 to 63 ms (`local/timeseries/bench.ts`).
 */
export const DEFAULT_THREADS = 1;

type Quality = RawPoint['quality'];
type Value = RawPoint['value'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS points (
  device_id   VARCHAR NOT NULL,
  measure     VARCHAR NOT NULL,
  time        BIGINT  NOT NULL,
  device_type VARCHAR NOT NULL,
  kind        VARCHAR NOT NULL,
  value_type  VARCHAR NOT NULL,
  num         DOUBLE,
  bool        BOOLEAN,
  text        VARCHAR,
  quality     VARCHAR NOT NULL
)`;

/**
 * A fresh staging table per transaction. Emptying one with DELETE left every deleted row behind in the
 * temporary table (DuckDB does not reclaim them), so each write scanned every point ever staged and
 * the process held them all: after 8.5M points, a transaction of 110 points took 21 ms instead of 7.
 */
const STAGING = 'CREATE OR REPLACE TEMP TABLE staging AS SELECT * FROM points LIMIT 0';

/** New points only: the anti-join reads just the stored points inside the batch's time range. */
const INSERT_NEW = `
INSERT INTO points
SELECT s.* FROM staging s
ANTI JOIN (
  SELECT device_id, measure, time FROM points WHERE time BETWEEN $1::BIGINT AND $2::BIGINT
) p ON p.device_id = s.device_id AND p.measure = s.measure AND p.time = s.time`;

const LATEST = `
SELECT measure, time, value_type, num, bool, text, quality
FROM points
WHERE device_id = $1
QUALIFY row_number() OVER (PARTITION BY measure ORDER BY time DESC) = 1
ORDER BY measure`;

const SERIES = `
SELECT time, value_type, num, bool, text, quality
FROM points
WHERE device_id = $1 AND measure = $2 AND time >= $3::BIGINT AND time < $4::BIGINT
ORDER BY time
LIMIT $5::BIGINT`;

/** Floor division, so a bucket starts at a multiple of bucketMs even before the epoch. */
const BUCKETS = `
SELECT time - (((time % $5::BIGINT) + $5::BIGINT) % $5::BIGINT) AS bucket,
       avg(num) AS avg, min(num) AS min, max(num) AS max, count(*) AS count
FROM points
WHERE device_id = $1 AND measure = $2 AND time >= $3::BIGINT AND time < $4::BIGINT
  AND value_type IN ('DOUBLE', 'BIGINT')
GROUP BY bucket
ORDER BY bucket
LIMIT $6::BIGINT`;

interface WriteStatements {
  readonly insertNew: DuckDBPreparedStatement;
}

interface PendingWrite {
  readonly points: readonly TimeSeriesPoint[];
  /** A replay's rewrite (issue 16): the stored points of these message keys are deleted first. */
  readonly replace?: readonly MessagePointKey[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Throws a RangeError naming `field` unless `value` is a string matching `pattern`. */
function checkIdentifier(field: string, value: unknown, pattern: RegExp): asserts value is string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new RangeError(`${field} is not a valid identifier: ${JSON.stringify(value)?.slice(0, 80)}`);
  }
}

function checkTime(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new RangeError(`${field} must be an integer epoch-milliseconds time, got ${String(value)}`);
  }
}

function checkIntegerIn(field: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${field} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

function checkValue(index: number, value: unknown, type: unknown): void {
  const ok =
    (type === 'DOUBLE' && typeof value === 'number' && Number.isFinite(value)) ||
    (type === 'BIGINT' && typeof value === 'number' && Number.isSafeInteger(value)) ||
    (type === 'BOOLEAN' && typeof value === 'boolean') ||
    (type === 'VARCHAR' && typeof value === 'string');
  if (!ok) {
    throw new RangeError(`points[${index}].value does not match valueType ${String(type)}`);
  }
}

function checkPoint(point: TimeSeriesPoint, index: number): void {
  checkIdentifier(`points[${index}].deviceId`, point.deviceId, DEVICE_ID_PATTERN);
  checkIdentifier(`points[${index}].measure`, point.measure, MEASURE_PATTERN);
  checkIdentifier(`points[${index}].deviceType`, point.deviceType, DEVICE_TYPE_PATTERN);
  if (!KINDS.has(point.kind)) throw new RangeError(`points[${index}].kind is not a message kind`);
  checkTime(`points[${index}].time`, point.time);
  checkValue(index, point.value, point.valueType);
  if (point.quality !== 'GOOD' && point.quality !== 'SUSPECT') {
    throw new RangeError(`points[${index}].quality must be GOOD or SUSPECT`);
  }
}

function checkQuery(query: SeriesQuery): void {
  checkIdentifier('deviceId', query.deviceId, DEVICE_ID_PATTERN);
  checkIdentifier('measure', query.measure, MEASURE_PATTERN);
  checkTime('from', query.from);
  checkTime('to', query.to);
  if (query.to < query.from) throw new RangeError(`to (${query.to}) is before from (${query.from})`);
  checkIntegerIn('limit', query.limit, 1, MAX_QUERY_LIMIT);
}

const toNumber = (value: JS | undefined, column: string): number => {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`column ${column}: expected a number, got ${typeof value}`);
};

const toQuality = (value: JS | undefined): Quality => {
  if (value === 'GOOD' || value === 'SUSPECT') return value;
  throw new TypeError(`column quality: unexpected ${String(value)}`);
};

/** The typed value of a row, from the column its value_type names. */
function toValue(row: Record<string, JS>): Value {
  const type = row.value_type as TimestreamValueType;
  const value = type === 'BOOLEAN' ? row.bool : type === 'VARCHAR' ? row.text : row.num;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  throw new TypeError(`a ${String(type)} point has no value`);
}

/** Keeps the first point of every (device, measure, time): one batch may repeat a point. */
function dedupe(points: readonly TimeSeriesPoint[]): TimeSeriesPoint[] {
  const seen = new Set<string>();
  const unique: TimeSeriesPoint[] = [];
  for (const point of points) {
    const key = `${point.deviceId}\u0000${point.measure}\u0000${point.time}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(point);
  }
  return unique;
}

export class DuckDbTimeseriesStore implements TimeseriesSink, TimeseriesQuery {
  private readonly pending: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  /** Reads share one connection, one query at a time. */
  private readTail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set by interrupt(): no statement starts any more. */
  private interrupted = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly statements: WriteStatements,
    private readonly persistent: boolean,
  ) {}

  static async open(options: DuckDbTimeseriesStoreOptions): Promise<DuckDbTimeseriesStore> {
    const persistent = options.path !== ':memory:';
    const threads = options.threads ?? DEFAULT_THREADS;
    checkIntegerIn('threads', threads, 1, Number.MAX_SAFE_INTEGER);
    const memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
    checkIntegerIn('memoryLimitBytes', memoryLimitBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER);
    if (persistent) mkdirSync(dirname(options.path), { recursive: true });
    const instance = await DuckDBInstance.create(options.path, {
      threads: String(threads),
      memory_limit: `${Math.floor(memoryLimitBytes / 1024)}KiB`,
    });
    try {
      const writer = await instance.connect();
      await writer.run(SCHEMA);
      await writer.run(STAGING);
      // Prepared once: planning the anti-join costs about as much as running it on a small batch.
      const statements: WriteStatements = {
        insertNew: await writer.prepare(INSERT_NEW),
      };
      const reader = await instance.connect();
      return new DuckDbTimeseriesStore(instance, writer, reader, statements, persistent);
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  /**
   * Stores the points (idempotently), resolving once they are committed. Every point is checked
   * first: an invalid one rejects the call with a RangeError and nothing of it is written.
   */
  async write(points: readonly TimeSeriesPoint[]): Promise<void> {
    for (let i = 0; i < points.length; i++) checkPoint(points[i] as TimeSeriesPoint, i);
    if (this.closed) throw new Error('the time-series store is closed');
    if (points.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ points: points.slice(), resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /**
   * Data operations (issue 16), a replay: in one transaction, deletes the stored points of each
   * message key (device, kind, time) and inserts `points`. Idempotent: running it twice leaves the
   * same rows. Queued with the writes, alone in its transaction.
   */
  async rewrite(points: readonly TimeSeriesPoint[], messages: readonly MessagePointKey[]): Promise<void> {
    for (let i = 0; i < points.length; i++) checkPoint(points[i] as TimeSeriesPoint, i);
    for (const key of messages) {
      checkIdentifier('deviceId', key.deviceId, DEVICE_ID_PATTERN);
      if (!Number.isSafeInteger(key.time)) throw new RangeError('time: not an integer epoch ms');
    }
    if (this.closed) throw new Error('the time-series store is closed');
    if (messages.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ points: points.slice(), replace: messages.slice(), resolve, reject });
      this.draining ??= this.drain();
    });
  }

  async latest(deviceId: string): Promise<LatestValue[]> {
    checkIdentifier('deviceId', deviceId, DEVICE_ID_PATTERN);
    const rows = await this.read(LATEST, [deviceId]);
    return rows.map((row) => ({
      measure: String(row.measure),
      value: toValue(row),
      time: toNumber(row.time, 'time'),
      quality: toQuality(row.quality),
    }));
  }

  async series(query: SeriesQuery): Promise<RawPoint[]> {
    checkQuery(query);
    const rows = await this.read(SERIES, [
      query.deviceId,
      query.measure,
      BigInt(query.from),
      BigInt(query.to),
      BigInt(query.limit),
    ]);
    return rows.map((row) => ({
      time: toNumber(row.time, 'time'),
      value: toValue(row),
      quality: toQuality(row.quality),
    }));
  }

  /** `limit` + 1 points are read: the extra one, if there, is where the next page starts. */
  async seriesPage(query: SeriesQuery): Promise<SeriesPage> {
    checkQuery(query);
    const rows = await this.read(SERIES, [
      query.deviceId,
      query.measure,
      BigInt(query.from),
      BigInt(query.to),
      BigInt(query.limit + 1),
    ]);
    const points = rows.slice(0, query.limit).map((row) => ({
      time: toNumber(row.time, 'time'),
      value: toValue(row),
      quality: toQuality(row.quality),
    }));
    const extra = rows[query.limit];
    return extra === undefined ? { points } : { points, next: toNumber(extra.time, 'time') };
  }

  async buckets(query: SeriesQuery & { readonly bucketMs: number }): Promise<BucketPoint[]> {
    checkQuery(query);
    checkIntegerIn('bucketMs', query.bucketMs, MIN_BUCKET_MS, Number.MAX_SAFE_INTEGER);
    const rows = await this.read(BUCKETS, [
      query.deviceId,
      query.measure,
      BigInt(query.from),
      BigInt(query.to),
      BigInt(query.bucketMs),
      BigInt(query.limit),
    ]);
    return rows.map((row) => ({
      time: toNumber(row.bucket, 'bucket'),
      avg: toNumber(row.avg, 'avg'),
      min: toNumber(row.min, 'min'),
      max: toNumber(row.max, 'max'),
      count: toNumber(row.count, 'count'),
    }));
  }

  /**
   * Messages stored per device: distinct (time, kind) among its points, since a message is one device,
   * one kind and one device timestamp. Derived from the points, so it is exact whatever was redelivered
   * or lost in a crash (the store is idempotent on its key); devices without points are left out.
   */
  async messageCounts(deviceIds: readonly string[]): Promise<Map<string, number>> {
    for (const deviceId of deviceIds) checkIdentifier('deviceId', deviceId, DEVICE_ID_PATTERN);
    const counts = new Map<string, number>();
    if (deviceIds.length === 0) return counts;
    const placeholders = deviceIds.map((_, i) => `$${i + 1}`).join(', ');
    const rows = await this.read(
      `SELECT device_id, count(DISTINCT (time, kind)) AS n FROM points WHERE device_id IN (${placeholders}) GROUP BY device_id`,
      [...deviceIds],
    );
    for (const row of rows) counts.set(String(row.device_id), toNumber(row.n, 'n'));
    return counts;
  }

  /**
   * DuckDB's own memory by tag (`duckdb_memory()`: its buffer manager's view, e.g. BASE_TABLE,
   * HASH_TABLE, IN_MEMORY_TABLE), bytes; tags using nothing are left out. For diagnostics (bench:soak).
   */
  async memoryByTag(): Promise<Record<string, number>> {
    const rows = await this.read('SELECT tag, memory_usage_bytes FROM duckdb_memory()', []);
    const byTag: Record<string, number> = {};
    for (const row of rows) {
      const bytes = toNumber(row.memory_usage_bytes, 'memory_usage_bytes');
      if (bytes > 0) byTag[String(row.tag)] = bytes;
    }
    return byTag;
  }

  async count(): Promise<number> {
    const [row] = await this.read('SELECT count(*) AS n FROM points', []);
    return row ? toNumber(row.n, 'n') : 0;
  }

  /**
   * For a forced exit (local/worker-rpc.ts, holdWorkers): interrupts the statement each connection is
   * running and starts no other, so every call ends soon: queued writes and reads fail, a close skips its
   * CHECKPOINT. Nothing acknowledged is lost: points not committed are still in the log, past the
   * consumers' committed offsets, and DuckDB replays its WAL at the next open.
   */
  interrupt(): void {
    this.interrupted = true;
    this.closed = true;
    this.writer.interrupt();
    this.reader.interrupt();
  }

  /** Waits for queued writes and reads, then closes (a file store is checkpointed first). */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    await this.draining;
    await this.readTail.catch(() => undefined);
    try {
      if (this.persistent && !this.interrupted) await this.writer.run('CHECKPOINT');
    } finally {
      this.reader.closeSync();
      this.writer.closeSync();
      this.instance.closeSync();
    }
  }

  private read(sql: string, params: (string | bigint)[]): Promise<Record<string, JS>[]> {
    if (this.closed) return Promise.reject(new Error('the time-series store is closed'));
    const result = this.readTail.then(async () => {
      if (this.interrupted) throw new Error('the time-series store was interrupted');
      const reader = await this.reader.runAndReadAll(sql, params);
      return reader.getRowObjectsJS();
    });
    this.readTail = result.catch(() => undefined);
    return result;
  }

  /** The single writer: takes queued writes in arrival order, many at a time, until none are left. */
  private async drain(): Promise<void> {
    // Let writes issued in the same turn of the event loop join the first transaction.
    await Promise.resolve();
    // The loop never throws (each group settles its own callers), and it clears `draining` in the same
    // step that sees the queue empty, so a write queued after that starts a new drain.
    for (;;) {
      if (this.interrupted) {
        for (const write of this.pending.splice(0))
          write.reject(new Error('the time-series store was interrupted'));
      }
      if (this.pending.length === 0) {
        this.draining = undefined;
        return;
      }
      const group: PendingWrite[] = [];
      let size = 0;
      const first = this.pending[0];
      if (first?.replace) {
        // A replay's rewrite runs alone: its deletes must not meet other writes' inserts.
        this.pending.shift();
        try {
          await this.insert(first.points, first.replace);
          first.resolve();
        } catch (error) {
          first.reject(error);
        }
        continue;
      }
      while (this.pending.length > 0 && (group.length === 0 || size < MAX_POINTS_PER_TRANSACTION)) {
        if (this.pending[0]?.replace) break;
        const next = this.pending.shift();
        if (!next) break;
        group.push(next);
        size += next.points.length;
      }
      try {
        await this.insert(group.flatMap((write) => write.points));
        for (const write of group) write.resolve();
      } catch (error) {
        if (group.length === 1) {
          group[0]?.reject(error);
          continue;
        }
        // One failing write must not fail the others it was grouped with: retry each alone.
        for (const write of group) {
          if (this.interrupted) {
            write.reject(error);
            continue;
          }
          try {
            await this.insert(write.points);
            write.resolve();
          } catch (own) {
            write.reject(own);
          }
        }
      }
    }
  }

  /** Deletes the points of the message keys (inside the caller's transaction), through a staged key table. */
  private async deleteMessagePoints(keys: readonly MessagePointKey[]): Promise<void> {
    const connection = this.writer;
    await connection.run(
      'CREATE OR REPLACE TEMP TABLE replaced (device_id VARCHAR, kind VARCHAR, time BIGINT)',
    );
    const appender = await connection.createAppender('replaced', 'main', 'temp');
    try {
      for (const key of keys) {
        appender.appendVarchar(key.deviceId);
        appender.appendVarchar(key.kind);
        appender.appendBigInt(BigInt(key.time));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await connection.run(
      'DELETE FROM points p USING temp.main.replaced r WHERE p.device_id = r.device_id AND p.kind = r.kind AND p.time = r.time',
    );
  }

  private async insert(
    batch: readonly TimeSeriesPoint[],
    replace?: readonly MessagePointKey[],
  ): Promise<void> {
    const points = dedupe(batch);
    let minTime = Number.POSITIVE_INFINITY;
    let maxTime = Number.NEGATIVE_INFINITY;
    const connection = this.writer;
    await connection.run('BEGIN TRANSACTION');
    try {
      if (replace) await this.deleteMessagePoints(replace);
      await connection.run(STAGING);
      const appender = await connection.createAppender('staging', 'main', 'temp');
      try {
        for (const point of points) {
          if (point.time < minTime) minTime = point.time;
          if (point.time > maxTime) maxTime = point.time;
          appender.appendVarchar(point.deviceId);
          appender.appendVarchar(point.measure);
          appender.appendBigInt(BigInt(point.time));
          appender.appendVarchar(point.deviceType);
          appender.appendVarchar(point.kind);
          appender.appendVarchar(point.valueType);
          const value = point.value;
          if (typeof value === 'number') appender.appendDouble(value);
          else appender.appendNull();
          if (typeof value === 'boolean') appender.appendBoolean(value);
          else appender.appendNull();
          if (typeof value === 'string') appender.appendVarchar(value);
          else appender.appendNull();
          appender.appendVarchar(point.quality);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      if (points.length > 0) {
        this.statements.insertNew.bind([BigInt(minTime), BigInt(maxTime)]);
        await this.statements.insertNew.run();
      }
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}
