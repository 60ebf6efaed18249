/**
 * From an enriched message to time series: flat points (what any time-series store writes: the local
 * DuckDB store, a query result), and Timestream for LiveAnalytics multi-measure records (one record per
 * message, split only when a record would pass Timestream's size limit), in batches of at most 100.
 *
 * What is written: readings the registry knows (never UNKNOWN_MEASUREMENT ones) that are not BAD.
 * BAD values stay visible in the enriched stream with their reasons, but never pollute a series.
 * The types here mirror the AWS SDK's `_Record` structurally, so the core stays free of AWS imports.
 */
import type { EnrichedMessage, MeasurementMetadata, QualityVerdict } from './contract/messages.js';

/** Timestream limits (Quotas page and WriteRecords API reference of the Timestream developer guide). */
export const TIMESTREAM_LIMITS = {
  recordsPerWrite: 100,
  recordBytes: 2048,
  measureValueLength: 2048,
  measureNameBytes: 256,
  dimensionNameBytes: 60,
  /** Guard only: with 2 KB per record the size limit always binds first. */
  measuresPerRecord: 256,
} as const;

/**
 * Text longer than this is not written as a measure: with the dimensions it would not fit a 2 KB record.
 * It stays in the enriched stream. (Registry strings are far shorter: readers allow 512 characters.)
 */
export const MAX_TEXT_MEASURE_BYTES = 1024;

export type TimestreamValueType = 'DOUBLE' | 'BIGINT' | 'BOOLEAN' | 'VARCHAR';

export interface TimeSeriesPoint {
  readonly deviceId: string;
  readonly deviceType: string;
  /** The measure: a reading path, or `{path}.{stat}` for trends, `status.online` for status. */
  readonly measure: string;
  readonly kind: EnrichedMessage['event_type'];
  /** Epoch milliseconds: the reading time (a trend window's start). */
  readonly time: number;
  readonly value: number | boolean | string;
  readonly valueType: TimestreamValueType;
  readonly quality: Exclude<QualityVerdict, 'BAD'>;
}

export interface TimestreamDimension {
  Name: string;
  Value: string;
  DimensionValueType: 'VARCHAR';
}

export interface TimestreamMeasureValue {
  Name: string;
  Value: string;
  Type: TimestreamValueType;
}

export interface TimestreamRecord {
  Dimensions: TimestreamDimension[];
  MeasureName: string;
  MeasureValueType: 'MULTI';
  MeasureValues: TimestreamMeasureValue[];
  Time: string;
  TimeUnit: 'MILLISECONDS';
  /** Upserts (issue 16, a replay): a record with a higher Version replaces the stored one; absent: 1. */
  Version?: number;
}

const VALUE_TYPE: Record<MeasurementMetadata['data_type'], TimestreamValueType> = {
  number: 'DOUBLE',
  integer: 'BIGINT',
  boolean: 'BOOLEAN',
  string: 'VARCHAR',
};

const TREND_STATS = ['avg', 'min', 'max', 'last', 'count'] as const;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function readWire(measurements: Record<string, unknown>, path: string): unknown {
  const dot = path.indexOf('.');
  if (dot < 0) return measurements[path];
  const group = measurements[path.slice(0, dot)];
  return typeof group === 'object' && group !== null
    ? (group as Record<string, unknown>)[path.slice(dot + 1)]
    : undefined;
}

/** A value Timestream can store for its type, or undefined (empty strings and over-long text cannot be). */
function storable(value: unknown, type: TimestreamValueType): number | boolean | string | undefined {
  switch (type) {
    case 'DOUBLE':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'BIGINT':
      return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : undefined;
    case 'VARCHAR':
      return typeof value === 'string' && value.length > 0 && utf8Bytes(value) <= MAX_TEXT_MEASURE_BYTES
        ? value
        : undefined;
  }
}

/** Flattens an enriched message into the points a time-series store keeps. */
export function toTimeSeriesPoints(message: EnrichedMessage): TimeSeriesPoint[] {
  const deviceId = message.device_id;
  const deviceType = message.device_metadata.device_type;
  const kind = message.event_type;
  const quality = message.data_quality;
  // A doubted timestamp makes every point of the message SUSPECT: its time is the doubtful part.
  const timeDoubted = quality.reasons.some((r) => r !== 'MISSING_REQUIRED');
  const points: TimeSeriesPoint[] = [];
  const push = (
    measure: string,
    time: number,
    value: unknown,
    valueType: TimestreamValueType,
    verdict: QualityVerdict,
  ) => {
    const stored = storable(value, valueType);
    if (stored === undefined || verdict === 'BAD') return;
    points.push({
      deviceId,
      deviceType,
      measure,
      kind,
      time,
      value: stored,
      valueType,
      quality: timeDoubted || verdict === 'SUSPECT' ? 'SUSPECT' : 'GOOD',
    });
  };

  switch (message.event_type) {
    case 'telemetry': {
      const time = Date.parse(message.timestamp);
      for (const path in quality.readings) {
        const metadata = message.measurement_metadata[path];
        const verdict = quality.readings[path]?.verdict ?? 'BAD';
        if (!metadata) continue; // unknown to the registry: never written
        const value = message.decoded?.[path] ?? readWire(message.measurements, path);
        push(path, time, value, VALUE_TYPE[metadata.data_type], verdict);
      }
      break;
    }
    case 'trends': {
      const time = Date.parse(message.window.start);
      for (const path in message.measurements) {
        const stats = message.measurements[path];
        const verdict = quality.readings[path]?.verdict ?? 'BAD';
        if (!stats || !message.measurement_metadata[path]) continue;
        for (const stat of TREND_STATS) {
          push(`${path}.${stat}`, time, stats[stat], stat === 'count' ? 'BIGINT' : 'DOUBLE', verdict);
        }
      }
      break;
    }
    case 'status': {
      const time = Date.parse(message.timestamp);
      const status = message.status;
      push('status.online', time, status.online, 'BOOLEAN', 'GOOD');
      push('status.uptime_s', time, status.uptime_s, 'DOUBLE', 'GOOD');
      push('status.firmware_version', time, status.firmware_version, 'VARCHAR', 'GOOD');
      push('status.hardware_revision', time, status.hardware_revision, 'VARCHAR', 'GOOD');
      break;
    }
    case 'event': {
      const time = Date.parse(message.timestamp);
      push('event.type', time, message.event.type, 'VARCHAR', 'GOOD');
      push('event.severity', time, message.event.severity, 'VARCHAR', 'GOOD');
      push('event.message', time, message.event.message, 'VARCHAR', 'GOOD');
      break;
    }
  }
  return points;
}

/** Bytes a measure adds to a record, counted conservatively (name, value and a type tag). */
const measureBytes = (measure: TimestreamMeasureValue) =>
  utf8Bytes(measure.Name) + utf8Bytes(measure.Value) + 8;

/**
 * Maps one enriched message to Timestream multi-measure records: dimensions device_id, device_type and
 * the message tags the type declares as dimensions; one record named after the message kind, plus
 * `quality_score` and (when any point is SUSPECT) `suspect_measures`. A message too large for one
 * record continues in `{kind}_2`, `{kind}_3`, ... with the same dimensions and time.
 */
export function toTimestreamRecords(
  message: EnrichedMessage,
  dimensionNames: readonly string[] = [],
): TimestreamRecord[] {
  const points = toTimeSeriesPoints(message);
  const dimensions: TimestreamDimension[] = [
    { Name: 'device_id', Value: message.device_id, DimensionValueType: 'VARCHAR' },
    { Name: 'device_type', Value: message.device_metadata.device_type, DimensionValueType: 'VARCHAR' },
  ];
  for (const name of dimensionNames) {
    const value = message.tags?.[name];
    if (value && utf8Bytes(name) <= TIMESTREAM_LIMITS.dimensionNameBytes) {
      dimensions.push({ Name: name, Value: value, DimensionValueType: 'VARCHAR' });
    }
  }
  const time =
    points[0]?.time ?? Date.parse(message.event_type === 'trends' ? message.window.start : message.timestamp);

  const measures: TimestreamMeasureValue[] = [
    { Name: 'quality_score', Value: String(message.data_quality.score), Type: 'DOUBLE' },
  ];
  const suspect = points.filter((p) => p.quality === 'SUSPECT').map((p) => p.measure);
  if (suspect.length > 0) {
    let list = suspect.join(',');
    if (list.length > 512) list = '*'; // too many to list: every measure of this message is doubtful
    measures.push({ Name: 'suspect_measures', Value: list, Type: 'VARCHAR' });
  }
  for (const point of points)
    measures.push({ Name: point.measure, Value: String(point.value), Type: point.valueType });

  const fixedBytes =
    dimensions.reduce((sum, d) => sum + utf8Bytes(d.Name) + utf8Bytes(d.Value), 0) +
    utf8Bytes(message.event_type) +
    3 + // "_NN" suffix of a continuation record
    String(time).length;
  const records: TimestreamRecord[] = [];
  let current: TimestreamMeasureValue[] = [];
  let currentBytes = fixedBytes;
  const flush = () => {
    if (current.length === 0) return;
    const part = records.length + 1;
    records.push({
      Dimensions: dimensions,
      MeasureName: part === 1 ? message.event_type : `${message.event_type}_${part}`,
      MeasureValueType: 'MULTI',
      MeasureValues: current,
      Time: String(time),
      TimeUnit: 'MILLISECONDS',
    });
    current = [];
    currentBytes = fixedBytes;
  };
  for (const measure of measures) {
    const bytes = measureBytes(measure);
    if (
      current.length > 0 &&
      (currentBytes + bytes > TIMESTREAM_LIMITS.recordBytes ||
        current.length >= TIMESTREAM_LIMITS.measuresPerRecord)
    ) {
      flush();
    }
    current.push(measure);
    currentBytes += bytes;
  }
  flush();
  return records;
}

/** Splits records into WriteRecords calls of at most 100 records each, keeping their order. */
export function toWriteBatches<T>(
  records: readonly T[],
  batchSize: number = TIMESTREAM_LIMITS.recordsPerWrite,
): T[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > TIMESTREAM_LIMITS.recordsPerWrite) {
    throw new RangeError(
      `batchSize must be an integer from 1 to ${TIMESTREAM_LIMITS.recordsPerWrite}, got ${batchSize}`,
    );
  }
  const batches: T[][] = [];
  for (let i = 0; i < records.length; i += batchSize) batches.push(records.slice(i, i + batchSize));
  return batches;
}

/** Estimated size of a record as `toTimestreamRecords` counts it; exported for tests. */
export const estimateRecordBytes = (record: TimestreamRecord): number =>
  record.Dimensions.reduce((sum, d) => sum + utf8Bytes(d.Name) + utf8Bytes(d.Value), 0) +
  utf8Bytes(record.MeasureName) +
  record.Time.length +
  record.MeasureValues.reduce((sum, m) => sum + measureBytes(m), 0);

// ----- data operations (issue 16): what a replay no longer stores ----------------------------------

/**
 * The measure of a replayed Timestream record that lists (comma-separated) the readings of its message
 * the new definition no longer stores: LiveAnalytics cannot delete them, so reads treat them as absent
 * (adapters/timestream/writer.ts `rewrite`, query.ts).
 */
export const DROPPED_MEASURES = 'dropped_measures';

const STATUS_MEASURES: readonly string[] = [
  'status.online',
  'status.uptime_s',
  'status.firmware_version',
  'status.hardware_revision',
];
const EVENT_MEASURES: readonly string[] = ['event.type', 'event.severity', 'event.message'];

/**
 * Every measure a message's readings can become, named as `toTimeSeriesPoints` names them, stored or
 * not: the readings the core judged (telemetry), each trend channel's statistics, the status and event
 * fields. A replay's sink that cannot delete (Timestream) marks those of them the new enrichment does
 * not store.
 */
export function messageMeasureNames(message: EnrichedMessage): readonly string[] {
  switch (message.event_type) {
    case 'telemetry':
      return Object.keys(message.data_quality.readings);
    case 'trends':
      return Object.keys(message.measurements).flatMap((path) =>
        TREND_STATS.map((stat) => `${path}.${stat}`),
      );
    case 'status':
      return STATUS_MEASURES;
    case 'event':
      return EVENT_MEASURES;
  }
}
