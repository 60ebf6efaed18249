/**
 * Export of a device's time series as a file (issue 16): the columns a request names, the rows merged
 * from one paged stream per measure, and the CSV encoding. Plain functions over async iterables of
 * pages: no store and no file library here (the API handler pages the time-series port, the Parquet
 * encoders live in adapters), so memory holds one page per measure and one batch of rows, whatever the
 * range.
 */
import type { DeviceType, ReadingDefinition } from './contract/registry.js';

/** The type of an exported column (Parquet's physical type; CSV writes them as text). */
export type ExportValueType = 'DOUBLE' | 'INT32' | 'BOOLEAN' | 'VARCHAR';

/** A measure as the export knows it: its unit (for the header) and its type (for Parquet). */
export interface ExportMeasure {
  readonly measure: string;
  readonly unit?: string;
  readonly valueType: Exclude<ExportValueType, 'INT32'>;
}

/** Aggregate columns of a bucketed export, in this order, per measure (the hourly stats of the prototypes). */
export const BUCKET_STATS = ['avg', 'min', 'max', 'count'] as const;
export type BucketStat = (typeof BUCKET_STATS)[number];

export interface ExportColumn {
  /** Header text: `voltage_phase_a [V]`, `voltage_phase_a_avg [V]`, `voltage_phase_a_count`. */
  readonly name: string;
  readonly measure: string;
  readonly valueType: ExportValueType;
  readonly stat?: BucketStat;
}

/** The first column of every export: the point's (or bucket's start) time, UTC. */
export const TIME_COLUMN = 'time';

export type ExportCell = number | boolean | string | null;

/** One row: a time and one cell per column (null where a measure has no value at that time). */
export interface ExportRow {
  readonly time: number;
  readonly cells: ExportCell[];
}

/** One item of a measure's stream: its cells at `time` (one raw value, or the bucket's stats). */
export interface MeasureItem {
  readonly time: number;
  readonly cells: readonly ExportCell[];
}

/** A stored trends measure is a reading's path plus one of these (core/timeseries.ts). */
const TREND_STAT = /^(.+)\.(avg|min|max|last|count)$/;

/** Measures every device can have besides its type's readings (core/timeseries.ts writes them). */
const FIXED_MEASURES: Record<string, Omit<ExportMeasure, 'measure'>> = {
  'status.online': { valueType: 'BOOLEAN' },
  'status.uptime_s': { valueType: 'DOUBLE', unit: 's' },
  'status.firmware_version': { valueType: 'VARCHAR' },
  'status.hardware_revision': { valueType: 'VARCHAR' },
  'event.type': { valueType: 'VARCHAR' },
  'event.severity': { valueType: 'VARCHAR' },
  'event.message': { valueType: 'VARCHAR' },
};

function readingOf(type: DeviceType, path: string): ReadingDefinition | undefined {
  const [key, component, ...rest] = path.split('.');
  if (key === undefined || rest.length > 0) return undefined;
  const definition = type.measurements[key];
  if (!definition) return undefined;
  if ('components' in definition) return component ? definition.components[component] : undefined;
  return component === undefined ? definition : undefined;
}

/** A measure of `type` as the time series stores it, or undefined when the type has no such measure. */
export function exportMeasureOf(type: DeviceType, measure: string): ExportMeasure | undefined {
  const fixed = FIXED_MEASURES[measure];
  if (fixed) return { measure, ...fixed };
  const reading = readingOf(type, measure);
  if (reading) {
    const valueType =
      reading.dataType === 'boolean' ? 'BOOLEAN' : reading.dataType === 'string' ? 'VARCHAR' : 'DOUBLE';
    return { measure, unit: reading.unit, valueType };
  }
  const trend = TREND_STAT.exec(measure);
  const base = trend?.[1] ? readingOf(type, trend[1]) : undefined;
  if (trend && base && (base.dataType === 'number' || base.dataType === 'integer'))
    return trend[2] === 'count'
      ? { measure, valueType: 'DOUBLE' }
      : { measure, unit: base.unit, valueType: 'DOUBLE' };
  return undefined;
}

/**
 * The columns after `time`: one per measure, or with `bucketed` four per measure (avg, min, max in the
 * measure's unit, count without one). Dots become underscores: `voltage.phase_a` reads as a nested
 * path in Parquet tools and SQL.
 */
export function exportColumns(measures: readonly ExportMeasure[], bucketed: boolean): ExportColumn[] {
  const label = (base: string, unit: string | undefined) => (unit ? `${base} [${unit}]` : base);
  return measures.flatMap(({ measure, unit, valueType }): ExportColumn[] => {
    const base = measure.replaceAll('.', '_');
    if (!bucketed) return [{ name: label(base, unit), measure, valueType }];
    return BUCKET_STATS.map((stat) => ({
      name: label(`${base}_${stat}`, stat === 'count' ? undefined : unit),
      measure,
      valueType: stat === 'count' ? 'INT32' : 'DOUBLE',
      stat,
    }));
  });
}

/**
 * Merges the measures' streams (each oldest first, one item per time) into rows, oldest first, in
 * batches of up to `batchRows`. `widths[i]` is how many cells stream i fills. Pulls a stream's next
 * page only when its current one is used up.
 */
export async function* mergeByTime(
  streams: readonly AsyncIterable<readonly MeasureItem[]>[],
  widths: readonly number[],
  batchRows: number,
): AsyncGenerator<ExportRow[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const width of widths) {
    offsets.push(total);
    total += width;
  }
  const cursors = streams.map((stream) => ({
    iterator: stream[Symbol.asyncIterator](),
    page: [] as readonly MeasureItem[],
    index: 0,
    done: false,
  }));
  /** The stream's current item, reading its next non-empty page when needed. */
  const head = async (cursor: (typeof cursors)[number]): Promise<MeasureItem | undefined> => {
    while (!cursor.done && cursor.index >= cursor.page.length) {
      const next = await cursor.iterator.next();
      if (next.done) cursor.done = true;
      else {
        cursor.page = next.value;
        cursor.index = 0;
      }
    }
    return cursor.done ? undefined : cursor.page[cursor.index];
  };
  try {
    let batch: ExportRow[] = [];
    for (;;) {
      const heads = await Promise.all(cursors.map(head));
      let time = Number.POSITIVE_INFINITY;
      for (const item of heads) if (item && item.time < time) time = item.time;
      if (time === Number.POSITIVE_INFINITY) break;
      const cells: ExportCell[] = new Array(total).fill(null);
      heads.forEach((item, i) => {
        if (!item || item.time !== time) return;
        const offset = offsets[i] as number;
        item.cells.forEach((cell, j) => {
          cells[offset + j] = cell;
        });
        (cursors[i] as (typeof cursors)[number]).index++;
      });
      batch.push({ time, cells });
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    // A consumer that stops early (a client gone, a size limit) ends every store read too.
    await Promise.all(cursors.map((cursor) => cursor.iterator.return?.()));
  }
}

/** A text cell that a spreadsheet would run as a formula (OWASP "CSV injection"): `=`, `+`, `-`, `@`, tab, CR. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 field: quoted when it holds a comma, quote or line break; text that looks like a formula is prefixed with `'`. */
export function csvField(cell: ExportCell): string {
  if (cell === null) return '';
  if (typeof cell !== 'string') return String(cell);
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV file: a header row, then one line per row, `time` in ISO 8601 UTC; one string per batch. */
export async function* csvChunks(
  columns: readonly ExportColumn[],
  batches: AsyncIterable<readonly ExportRow[]>,
): AsyncGenerator<string> {
  yield `${[TIME_COLUMN, ...columns.map((column) => column.name)].map(csvField).join(',')}\r\n`;
  for await (const rows of batches) {
    let text = '';
    for (const row of rows)
      text += `${new Date(row.time).toISOString()},${row.cells.map(csvField).join(',')}\r\n`;
    yield text;
  }
}

/**
 * Writes rows as a Parquet file, chunk by chunk (one adapter per runtime: DuckDB locally,
 * hyparquet-writer in Lambda). `time` is a UTC timestamp column, then the columns in order.
 */
export type ParquetEncoder = (
  columns: readonly ExportColumn[],
  batches: AsyncIterable<readonly ExportRow[]>,
) => AsyncIterable<Uint8Array>;
