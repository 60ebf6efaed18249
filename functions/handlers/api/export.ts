/**
 * GET /api/devices/{deviceId}/export (issue 16): a device's time series as a CSV or Parquet file.
 *
 * Every input is checked before any store is read: the device id and each measure against their
 * patterns, then the device (404 when never seen) and each measure against its type's definition (a
 * measure the type does not have is a 400 naming `measures`), the range (at most MAX_EXPORT_RANGE_MS,
 * a 400 naming `from`). The rows are read page by page through the time-series port (`seriesPage` for
 * raw points, `buckets` window by window for `bucket=`), merged by time and encoded as they come, so
 * memory holds a page per measure and one batch of rows. At most MAX_EXPORT_ROWS rows: the stream ends
 * with an ExportTooLargeError past it (locally the connection is cut, so a client never takes a cut
 * file for a whole one; in Lambda the answer is a 413 naming `to`).
 *
 * Two ways out: `prepareExport` gives the file as an async iterable of bytes (the local server streams
 * it with back-pressure), `exportResult` collects it within LAMBDA_EXPORT_FILE_BYTES for the Lambda
 * API, whose HTTP API integration is buffered (functions/shared/aws-limits.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { TIMESERIES_MEASURE_PATTERN } from '../../core/contract/identifiers.js';
import {
  csvChunks,
  type ExportColumn,
  type ExportMeasure,
  type ExportRow,
  exportColumns,
  exportMeasureOf,
  type MeasureItem,
  mergeByTime,
  type ParquetEncoder,
} from '../../core/export.js';
import type { RegistryStore } from '../../ports/registry.js';
import { seriesPages, type TimeseriesQuery } from '../../ports/timeseries.js';
import { LAMBDA_EXPORT_FILE_BYTES } from '../../shared/aws-limits.js';
import { ApiError, errorResult, fromDomainError } from './errors.js';
import { deviceIdParam, parseQuery } from './request.js';
import { BUCKETS, type BucketName, type DeviceSummary } from './schemas.js';

/** Measures one export may name. */
export const MAX_EXPORT_MEASURES = 32;
/** Longest range one export covers: a year (leap years included). */
export const MAX_EXPORT_RANGE_MS = 366 * 86_400_000;
/** Most rows one export writes (a year of one device reporting every 10 s is 3.2 million). */
export const MAX_EXPORT_ROWS = 5_000_000;
/** Points per store read (the port's largest page) and rows per encoded batch. */
export const EXPORT_PAGE_POINTS = 10_000;
/** Buckets per `buckets` read: a window of this many buckets is one query per measure. */
export const EXPORT_PAGE_BUCKETS = 1_000;

const MEDIA_TYPES = { csv: 'text/csv; charset=utf-8', parquet: 'application/vnd.apache.parquet' } as const;
export type ExportFormat = keyof typeof MEDIA_TYPES;

const isoTime = z.iso
  .datetime({ offset: true })
  .transform((text) => Date.parse(text))
  .describe('ISO 8601 date-time with an offset or Z.');

export const ExportQuery = z.strictObject({
  format: z.enum(['csv', 'parquet']).default('csv'),
  measures: z
    .string()
    .min(1)
    .max(4096)
    .describe(
      `Comma-separated measurement paths such as \`voltage.phase_a,current.phase_a\`, at most ${MAX_EXPORT_MEASURES}.`,
    ),
  from: isoTime.optional().describe('Default: one day before `to`.'),
  to: isoTime.optional().describe('Default: now. At most 366 days after `from`.'),
  bucket: z
    .enum(Object.keys(BUCKETS) as [BucketName, ...BucketName[]])
    .optional()
    .describe('Aggregate per bucket (`1h`: the hourly stats): avg, min, max and count columns per measure.'),
});

export interface ExportDependencies {
  readonly registry: Pick<RegistryStore, 'getDeviceType'>;
  readonly devices: { get(deviceId: string): Promise<DeviceSummary | undefined> };
  readonly timeseries: Pick<TimeseriesQuery, 'seriesPage' | 'buckets'>;
  readonly parquet: ParquetEncoder;
  readonly now: () => number;
}

/** The export stopped at MAX_EXPORT_ROWS or at the Lambda size limit; `reached` is the last row's time. */
export class ExportTooLargeError extends Error {
  override readonly name = 'ExportTooLargeError';
  constructor(
    message: string,
    readonly reached: number | undefined,
  ) {
    super(message);
  }
}

export interface ExportFile {
  readonly contentType: string;
  readonly fileName: string;
  readonly columns: readonly ExportColumn[];
  readonly body: AsyncIterable<Uint8Array>;
  /** Time of the last row encoded so far (for a message when a limit stops the file). */
  lastRowTime(): number | undefined;
}

const badQuery = (field: string, message: string, summary = 'the query string is invalid') =>
  new ApiError(400, 'INVALID_QUERY', summary, [{ field, message }]);

function parseMeasures(text: string): string[] {
  const measures = [...new Set(text.split(',').map((m) => m.trim()))];
  const invalid = measures.find((m) => !TIMESERIES_MEASURE_PATTERN.test(m));
  if (invalid !== undefined)
    throw badQuery('measures', `"${invalid.slice(0, 80)}" is not a measurement path such as voltage.phase_a`);
  if (measures.length > MAX_EXPORT_MEASURES)
    throw badQuery('measures', `at most ${MAX_EXPORT_MEASURES} measures, got ${measures.length}`);
  return measures;
}

/** Checks the request and builds the file's stream; throws an ApiError (4xx) before any time-series read. */
export async function prepareExport(
  dependencies: ExportDependencies,
  rawDeviceId: string | undefined,
  event: APIGatewayProxyEventV2,
): Promise<ExportFile> {
  const deviceId = deviceIdParam(rawDeviceId);
  const query = parseQuery(ExportQuery, event);
  const names = parseMeasures(query.measures);
  const to = query.to ?? dependencies.now();
  const from = query.from ?? to - 86_400_000;
  if (from >= to) throw badQuery('from', 'must be before to');
  if (to - from > MAX_EXPORT_RANGE_MS)
    throw badQuery(
      'from',
      `the range may span at most 366 days; ask for several exports`,
      'the range is too long',
    );

  const device = await dependencies.devices.get(deviceId);
  if (!device) throw new ApiError(404, 'NOT_FOUND', `device "${deviceId}" has not been seen`);
  const type = (await dependencies.registry.getDeviceType(device.deviceType))?.deviceType;
  if (!type) throw new ApiError(404, 'NOT_FOUND', `device type "${device.deviceType}" is not registered`);
  const measures: ExportMeasure[] = [];
  for (const name of names) {
    const measure = exportMeasureOf(type, name);
    if (!measure) throw badQuery('measures', `${device.deviceType} has no measure "${name}"`);
    if (query.bucket && measure.valueType !== 'DOUBLE')
      throw badQuery('measures', `"${name}" is not numeric: buckets aggregate numbers only`);
    measures.push(measure);
  }

  const bucketMs = query.bucket ? BUCKETS[query.bucket] : undefined;
  const columns = exportColumns(measures, bucketMs !== undefined);
  const streams = measures.map((m) =>
    bucketMs === undefined
      ? rawItems(dependencies.timeseries, { deviceId, measure: m.measure, from, to })
      : bucketItems(dependencies.timeseries, { deviceId, measure: m.measure, from, to }, bucketMs),
  );
  let lastRowTime: number | undefined;
  let rowCount = 0;
  async function* bounded(): AsyncGenerator<ExportRow[]> {
    const widths = measures.map(() => (bucketMs === undefined ? 1 : 4));
    for await (const rows of mergeByTime(streams, widths, EXPORT_PAGE_POINTS)) {
      rowCount += rows.length;
      if (rowCount > MAX_EXPORT_ROWS)
        throw new ExportTooLargeError(`the export passes ${MAX_EXPORT_ROWS} rows`, lastRowTime);
      yield rows;
      lastRowTime = rows.at(-1)?.time;
    }
  }
  const body =
    query.format === 'csv'
      ? encodeText(csvChunks(columns, bounded()))
      : dependencies.parquet(columns, bounded());
  // 20261101T000000Z: the ISO basic format, no characters a file system or a header would object to.
  const stamp = (time: number) =>
    new Date(time)
      .toISOString()
      .replaceAll(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z');
  return {
    contentType: MEDIA_TYPES[query.format],
    fileName: `${deviceId.replaceAll(':', '_')}_${stamp(from)}_${stamp(to)}${query.bucket ? `_${query.bucket}` : ''}.${query.format}`,
    columns,
    body,
    lastRowTime: () => lastRowTime,
  };
}

async function* encodeText(chunks: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  for await (const chunk of chunks) yield encoder.encode(chunk);
}

interface MeasureRange {
  readonly deviceId: string;
  readonly measure: string;
  readonly from: number;
  readonly to: number;
}

async function* rawItems(
  timeseries: Pick<TimeseriesQuery, 'seriesPage'>,
  range: MeasureRange,
): AsyncGenerator<MeasureItem[]> {
  for await (const page of seriesPages(timeseries, { ...range, limit: EXPORT_PAGE_POINTS }))
    yield page.map((point) => ({ time: point.time, cells: [point.value] }));
}

/** Buckets window by window; windows start at multiples of the bucket, so no bucket is split. */
async function* bucketItems(
  timeseries: Pick<TimeseriesQuery, 'buckets'>,
  range: MeasureRange,
  bucketMs: number,
): AsyncGenerator<MeasureItem[]> {
  const span = EXPORT_PAGE_BUCKETS * bucketMs;
  const first = range.from - (((range.from % bucketMs) + bucketMs) % bucketMs);
  for (let start = first; start < range.to; start += span) {
    const buckets = await timeseries.buckets({
      ...range,
      from: Math.max(start, range.from),
      to: Math.min(start + span, range.to),
      bucketMs,
      limit: EXPORT_PAGE_BUCKETS,
    });
    if (buckets.length > 0)
      yield buckets.map((b) => ({ time: b.time, cells: [b.avg, b.min, b.max, b.count] }));
  }
}

/** Headers of a file answer: a download with a name (ASCII: device ids and ISO stamps only). */
export const fileHeaders = (file: ExportFile): Record<string, string> => ({
  'content-type': file.contentType,
  'content-disposition': `attachment; filename="${file.fileName}"`,
  'cache-control': 'no-store',
});

/**
 * The whole file within LAMBDA_EXPORT_FILE_BYTES (the Lambda API's buffered answer); past it, a 413
 * naming `to` with the last time that fitted, so a client can export the rest from there.
 */
export async function collectExport(
  file: ExportFile,
  maxBytes = LAMBDA_EXPORT_FILE_BYTES,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of file.body) {
      size += chunk.length;
      if (size > maxBytes)
        throw new ExportTooLargeError(`the file passes ${maxBytes} bytes`, file.lastRowTime());
      chunks.push(chunk);
    }
  } catch (error) {
    if (!(error instanceof ExportTooLargeError)) throw error;
    const reached =
      error.reached === undefined ? '' : ` Rows up to ${new Date(error.reached).toISOString()} fit.`;
    throw new ApiError(
      413,
      'EXPORT_TOO_LARGE',
      `${error.message}: ask for a shorter range or fewer measures`,
      [{ field: 'to', message: `choose an earlier end, or fewer measures.${reached}` }],
    );
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** A streamed answer: the local server pipes `body` into the response with back-pressure. */
export interface StreamedAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: AsyncIterable<Uint8Array>;
}

const EXPORT_PATH = /^\/api\/devices\/([^/]+)\/export$/;

/**
 * The export route as a stream, for a server that can stream. Answers undefined for any other
 * request (and for a path the router must judge, such as bad percent-encoding), so the caller hands
 * those to the API handler.
 */
export function createExportStream(dependencies: ExportDependencies) {
  return async (event: APIGatewayProxyEventV2): Promise<StreamedAnswer | undefined> => {
    if (event.requestContext.http.method.toUpperCase() !== 'GET') return undefined;
    const segment = EXPORT_PATH.exec(event.rawPath)?.[1];
    if (segment === undefined) return undefined;
    let deviceId: string;
    try {
      deviceId = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    try {
      const file = await prepareExport(dependencies, deviceId, event);
      return { statusCode: 200, headers: fileHeaders(file), body: file.body };
    } catch (error) {
      const known = fromDomainError(error);
      if (!known) throw error;
      const result = errorResult(known);
      return {
        statusCode: known.status,
        headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
        body: (async function* () {
          yield new TextEncoder().encode(String(result.body ?? ''));
        })(),
      };
    }
  };
}
