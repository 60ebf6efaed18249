import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { DeviceType } from './contract/registry.js';
import { processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import {
  estimateRecordBytes,
  TIMESTREAM_LIMITS,
  type TimestreamRecord,
  toTimeSeriesPoints,
  toTimestreamRecords,
  toWriteBatches,
} from './timeseries.js';

const registry = compileRegistry(seedRegistry);
const receivedAt = Date.parse('2026-11-23T12:00:00.000Z');
const TIME = '2026-11-23T11:59:59.250Z';

function enrich(message: Record<string, unknown>, options = { registry }) {
  const outcome = processMessage(
    JSON.stringify(message),
    { receivedAt, processedAt: receivedAt },
    {
      ...options,
      service: 'test',
      serviceVersion: '0',
    },
  );
  if (outcome.kind !== 'enriched') throw new Error(`expected enrichment, got ${outcome.rejection.reason}`);
  return outcome.message;
}

const environmental = (measurements: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  enrich({
    device_id: 'env-1',
    device_type: 'environmental_sensor',
    timestamp: TIME,
    event_type: 'telemetry',
    measurements,
    ...extra,
  });

/** An access controller's telemetry with both doors and strikes closed, plus the given groups. */
const accessController = (extra: Record<string, unknown>) =>
  enrich({
    device_id: 'f2-1',
    device_type: 'f2_access_controller',
    timestamp: TIME,
    event_type: 'telemetry',
    measurements: {
      door_sensors: { door_1: true, door_2: false },
      strikes: { strike_1: false, strike_2: false },
      ...extra,
    },
  });

const measureNames = (record: TimestreamRecord | undefined) => record?.MeasureValues.map((m) => m.Name) ?? [];

describe('toTimeSeriesPoints', () => {
  it('writes one typed point per known reading at the message time', () => {
    const message = environmental({ temperature: 21.5, humidity: 40, pressure: 1013.2 });

    const points = toTimeSeriesPoints(message);

    expect(points).toEqual([
      expect.objectContaining({ measure: 'temperature', value: 21.5, valueType: 'DOUBLE', quality: 'GOOD' }),
      expect.objectContaining({ measure: 'humidity', value: 40, valueType: 'DOUBLE' }),
      expect.objectContaining({ measure: 'pressure', value: 1013.2, valueType: 'DOUBLE' }),
    ]);
    expect(points.every((p) => p.time === Date.parse(TIME) && p.deviceId === 'env-1')).toBe(true);
  });

  it('never writes a measurement the registry does not know', () => {
    const message = environmental({
      temperature: 21.5,
      humidity: 40,
      pressure: 1013.2,
      flux_capacitor: 1.21,
    });

    const measures = toTimeSeriesPoints(message).map((p) => p.measure);

    expect(measures).not.toContain('flux_capacitor');
  });

  it('leaves BAD readings out of the series', () => {
    const message = environmental({ temperature: 999, humidity: 40, pressure: 1013.2 });

    const measures = toTimeSeriesPoints(message).map((p) => p.measure);

    expect(measures).toEqual(['humidity', 'pressure']);
  });

  it('marks every point SUSPECT when the timestamp had to be doubted', () => {
    const message = environmental(
      { temperature: 21.5, humidity: 40, pressure: 1013.2 },
      { timestamp: '2026-11-23T13:00:00.000Z' },
    );

    const qualities = new Set(toTimeSeriesPoints(message).map((p) => p.quality));

    expect(qualities).toEqual(new Set(['SUSPECT']));
  });

  it('types integers as BIGINT, booleans as BOOLEAN and decoded hex as numbers', () => {
    const message = accessController({ rs485: { temperature: '00E6', co2: '01F4' } });

    const byMeasure = new Map(toTimeSeriesPoints(message).map((p) => [p.measure, p]));

    expect(byMeasure.get('door_sensors.door_1')).toMatchObject({ value: true, valueType: 'BOOLEAN' });
    expect(byMeasure.get('rs485.temperature')).toMatchObject({ value: 23, valueType: 'DOUBLE' });
    expect(byMeasure.get('rs485.co2')).toMatchObject({ value: 500, valueType: 'BIGINT' });
  });

  it('writes trend statistics per channel at the window start', () => {
    const message = enrich({
      device_id: 'breaker-1',
      device_type: 'smart_breaker',
      timestamp: TIME,
      event_type: 'trends',
      window: { start: '2026-11-23T11:55:00.000Z', end: '2026-11-23T12:00:00.000Z' },
      measurements: { temperature: { avg: 40, min: 35, max: 45, last: 41, count: 60 } },
    });

    const points = toTimeSeriesPoints(message);

    expect(points.map((p) => [p.measure, p.value, p.valueType])).toEqual([
      ['temperature.avg', 40, 'DOUBLE'],
      ['temperature.min', 35, 'DOUBLE'],
      ['temperature.max', 45, 'DOUBLE'],
      ['temperature.last', 41, 'DOUBLE'],
      ['temperature.count', 60, 'BIGINT'],
    ]);
    expect(points[0]?.time).toBe(Date.parse('2026-11-23T11:55:00.000Z'));
  });

  it('writes device status as online, uptime and firmware', () => {
    const message = enrich({
      device_id: 'env-1',
      device_type: 'environmental_sensor',
      timestamp: TIME,
      event_type: 'status',
      status: { online: false, uptime_s: 3600, firmware_version: '2.1.0' },
    });

    const points = toTimeSeriesPoints(message).map((p) => [p.measure, p.value]);

    expect(points).toEqual([
      ['status.online', false],
      ['status.uptime_s', 3600],
      ['status.firmware_version', '2.1.0'],
    ]);
  });
});

describe('toTimestreamRecords', () => {
  it('maps one message to one multi-measure record with device dimensions and millisecond time', () => {
    const message = environmental({ temperature: 21.5, humidity: 40, pressure: 1013.2 });

    const records = toTimestreamRecords(message);

    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      Dimensions: [
        { Name: 'device_id', Value: 'env-1', DimensionValueType: 'VARCHAR' },
        { Name: 'device_type', Value: 'environmental_sensor', DimensionValueType: 'VARCHAR' },
      ],
      MeasureName: 'telemetry',
      MeasureValueType: 'MULTI',
      Time: String(Date.parse(TIME)),
      TimeUnit: 'MILLISECONDS',
    });
    expect(records[0]?.MeasureValues).toContainEqual({ Name: 'temperature', Value: '21.5', Type: 'DOUBLE' });
  });

  it('adds the tags the device type declares as dimensions, and no others', () => {
    const message = environmental(
      { temperature: 21.5, humidity: 40, pressure: 1013.2 },
      { tags: { site: 'plant-1', operator: 'alice' } },
    );

    const dimensions = toTimestreamRecords(message, ['site'])[0]?.Dimensions.map((d) => d.Name);

    expect(dimensions).toEqual(['device_id', 'device_type', 'site']);
  });

  it('records the quality score and lists the SUSPECT measures', () => {
    const message = environmental(
      { temperature: 21.5, humidity: 40, pressure: 1013.2 },
      { timestamp: '2026-11-22T00:00:00.000Z' },
    );

    const values = toTimestreamRecords(message)[0]?.MeasureValues ?? [];

    expect(values).toContainEqual({ Name: 'quality_score', Value: '0.5', Type: 'DOUBLE' });
    expect(values).toContainEqual({
      Name: 'suspect_measures',
      Value: 'temperature,humidity,pressure',
      Type: 'VARCHAR',
    });
  });

  it('keeps a full breaker message in one record under the 2 KB record limit', () => {
    const message = enrich({
      device_id: 'breaker-1',
      device_type: 'smart_breaker',
      timestamp: TIME,
      event_type: 'telemetry',
      measurements: {
        voltage: { phase_a: 120.1, phase_b: 119.9, phase_c: 120.3 },
        current: { phase_a: 40.2, phase_b: 41.1, phase_c: 39.8 },
        power: { active: 13800.5, reactive: 2900.25, apparent: 14101.75, factor: 0.978 },
        frequency: 60.012,
        temperature: 41.2,
        status: { breaker: 1, position: 1, communication: 1 },
        protection: {
          trip_count: 2,
          ground_fault_current: 0.12,
          arc_fault_detected: false,
          harmonic_distortion: 3.1,
        },
        operational: { load_percentage: 41.5, operating_hours: 1234.5, maintenance_due: false },
      },
    });

    const records = toTimestreamRecords(message);

    expect(records).toHaveLength(1);
    expect(estimateRecordBytes(records[0] as TimestreamRecord)).toBeLessThanOrEqual(
      TIMESTREAM_LIMITS.recordBytes,
    );
  });

  it('splits a message too large for one record into continuation records, each within the limit', () => {
    // A type with 150 readings: more than a 2 KB record can hold.
    const readings = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [
        `sensor_reading_${i}`,
        {
          description: 'x',
          unit: '1',
          dataType: 'number',
          required: false,
          validRange: { min: 0, max: 1e9 },
        },
      ]),
    );
    const wide: DeviceType = {
      typeId: 'wide_sensor',
      name: 'Wide',
      description: 'Many readings',
      category: 'test',
      version: 1,
      capabilities: [],
      manufacturers: [],
      dataFormat: 'json',
      updateFrequencySeconds: 1,
      retentionDays: 1,
      dimensions: [],
      measurements: readings as DeviceType['measurements'],
    };
    const wideRegistry = compileRegistry({ deviceTypes: [wide], alertRules: [], applications: [] });
    const message = enrich(
      {
        device_id: 'wide-1',
        device_type: 'wide_sensor',
        timestamp: TIME,
        event_type: 'telemetry',
        measurements: Object.fromEntries(Object.keys(readings).map((k, i) => [k, 123456.789 + i])),
      },
      { registry: wideRegistry },
    );

    const records = toTimestreamRecords(message);

    expect(records.length).toBeGreaterThan(1);
    expect(records.map((r) => r.MeasureName)).toEqual([
      'telemetry',
      ...records.slice(1).map((_, i) => `telemetry_${i + 2}`),
    ]);
    for (const record of records) {
      expect(estimateRecordBytes(record)).toBeLessThanOrEqual(TIMESTREAM_LIMITS.recordBytes);
      expect(record.MeasureValues.length).toBeLessThanOrEqual(TIMESTREAM_LIMITS.measuresPerRecord);
      expect(record.Time).toBe(records[0]?.Time);
    }
    const written = records.flatMap(measureNames).filter((name) => name.startsWith('sensor_reading_'));
    expect(written).toHaveLength(150);
  });

  it('never writes a text value that cannot fit a record', () => {
    const message = accessController({ readers: { qr: '€'.repeat(500) } });

    const names = toTimestreamRecords(message).flatMap(measureNames);

    expect(names).not.toContain('readers.qr');
  });
});

describe('toWriteBatches', () => {
  it('cuts records into batches of at most 100, in order', () => {
    const records = Array.from({ length: 250 }, (_, i) => i);

    const batches = toWriteBatches(records);

    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(records);
  });

  it('returns no batch for no records', () => {
    expect(toWriteBatches([])).toEqual([]);
  });

  it('refuses a batch size above the WriteRecords limit', () => {
    expect(() => toWriteBatches([1], 101)).toThrow(RangeError);
  });
});
