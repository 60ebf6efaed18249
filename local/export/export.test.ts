/**
 * Export (issue 16): 100,000 rows out of the local DuckDB store as CSV and as Parquet (DuckDB's
 * encoder and the Lambda path's hyparquet-writer), each file read back with DuckDB: row count, header,
 * values. Then the API's answers: the buffered Lambda route (base64, 413 past its size), the local
 * server's stream, and the 4xx that come before any store read.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hyparquetEncoder } from '../../functions/adapters/parquet/hyparquet-encoder.js';
import type { ParquetEncoder } from '../../functions/core/export.js';
import type { TimeSeriesPoint } from '../../functions/core/timeseries.js';
import {
  collectExport,
  type ExportDependencies,
  MAX_EXPORT_MEASURES,
  prepareExport,
} from '../../functions/handlers/api/export.js';
import { apiEvent, emptyApiStores, seedRegistryFake } from '../../functions/handlers/api/test-support.js';
import type { DeviceSummary } from '../../functions/handlers/api.js';
import { createApiHandler } from '../../functions/handlers/api.js';
import { startHttpServer } from '../http-server.js';
import { DuckDbTimeseriesStore } from '../timeseries/duckdb-store.js';
import { duckdbParquetEncoder } from './duckdb-parquet.js';

const DEVICE = 'breaker-export-1';
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const ROWS = 100_000;
const STEP_MS = 10_000;
/** voltage on every row, current on every 4th: 125,000 points in 100,000 rows. */
const voltageAt = (i: number) => 220 + (i % 1000) / 100;
const currentAt = (i: number) => i / 4;

const breaker: DeviceSummary = {
  deviceId: DEVICE,
  deviceType: 'smart_breaker',
  firstSeen: new Date(T0).toISOString(),
  lastSeen: new Date(T0 + ROWS * STEP_MS).toISOString(),
  messageCount: ROWS,
  status: 'online',
};

function point(measure: string, i: number, value: number): TimeSeriesPoint {
  return {
    deviceId: DEVICE,
    deviceType: 'smart_breaker',
    measure,
    kind: 'telemetry',
    time: T0 + i * STEP_MS,
    value,
    valueType: 'DOUBLE',
    quality: 'GOOD',
  };
}

let store: DuckDbTimeseriesStore;
let dir: string;
let reader: DuckDBInstance;

beforeAll(async () => {
  store = await DuckDbTimeseriesStore.open({ path: ':memory:' });
  for (let start = 0; start < ROWS; start += 20_000) {
    const batch: TimeSeriesPoint[] = [];
    for (let i = start; i < start + 20_000; i++) {
      batch.push(point('voltage.phase_a', i, voltageAt(i)));
      if (i % 4 === 0) batch.push(point('current.phase_a', i, currentAt(i)));
    }
    await store.write(batch);
  }
  dir = await mkdtemp(join(tmpdir(), 'export-test-'));
  reader = await DuckDBInstance.create(':memory:', { threads: '1' });
}, 120_000);

afterAll(async () => {
  try {
    reader?.closeSync();
    await store?.close();
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
});

/** The export's dependencies, typed as they are (whole stores), so an API handler can be built on them. */
const dependencies = (parquet: ParquetEncoder = duckdbParquetEncoder) =>
  ({
    registry: seedRegistryFake(),
    devices: { get: async (id: string) => (id === DEVICE ? breaker : undefined) },
    timeseries: store,
    parquet,
    now: () => T0 + ROWS * STEP_MS,
  }) satisfies ExportDependencies;

const exportQuery = (query: string) =>
  apiEvent({ method: 'GET', path: `/api/devices/${DEVICE}/export?${query}` });

const WHOLE = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + ROWS * STEP_MS).toISOString()}`;

async function exportToFile(query: string, name: string, parquet?: ParquetEncoder): Promise<string> {
  const file = await prepareExport(dependencies(parquet), DEVICE, exportQuery(query));
  const path = join(dir, name);
  await pipeline(Readable.from(file.body), createWriteStream(path));
  return path;
}

async function sql(text: string): Promise<Record<string, unknown>[]> {
  const connection = await reader.connect();
  try {
    return (await connection.runAndReadAll(text)).getRowObjectsJS();
  } finally {
    connection.closeSync();
  }
}

/** The checks both file formats must pass, over a DuckDB relation of the file. */
async function expectAllRows(relation: string) {
  const [summary] = await sql(
    `SELECT count(*) AS n, count("current_phase_a [A]") AS currents, sum("voltage_phase_a [V]") AS voltages,
            max("current_phase_a [A]") AS max_current, min("time") AS first, max("time") AS last FROM ${relation}`,
  );
  let voltages = 0;
  for (let i = 0; i < ROWS; i++) voltages += voltageAt(i);
  expect(summary?.n).toBe(BigInt(ROWS));
  expect(summary?.currents).toBe(BigInt(ROWS / 4));
  expect(summary?.voltages as number).toBeCloseTo(voltages, 3);
  expect(Number(summary?.max_current)).toBe(currentAt(ROWS - 4));
  const sample = await sql(
    `SELECT epoch_ms("time") AS t, "voltage_phase_a [V]" AS v, "current_phase_a [A]" AS c FROM ${relation}
     WHERE epoch_ms("time") IN (${T0 + 12_345 * STEP_MS}, ${T0 + 12_344 * STEP_MS}) ORDER BY t`,
  );
  // A CSV reader guesses BIGINT for a column of whole numbers: compared as numbers.
  expect(sample.map(({ t, v, c }) => [Number(t), Number(v), c === null ? null : Number(c)])).toEqual([
    [T0 + 12_344 * STEP_MS, voltageAt(12_344), currentAt(12_344)],
    [T0 + 12_345 * STEP_MS, voltageAt(12_345), null],
  ]);
}

describe('export of 100,000 rows', () => {
  it('writes a CSV with a header of units and ISO 8601 UTC times, every row and value', async () => {
    const path = await exportToFile(`format=csv&measures=voltage.phase_a,current.phase_a&${WHOLE}`, 'a.csv');

    const relation = `read_csv('${path}', header = true, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')`;
    const columns = await sql(`DESCRIBE SELECT * FROM ${relation}`);
    const [first] = await sql(
      `SELECT "time"::VARCHAR AS t FROM read_csv('${path}', all_varchar = true) LIMIT 1`,
    );

    expect(columns.map((c) => c.column_name)).toEqual(['time', 'voltage_phase_a [V]', 'current_phase_a [A]']);
    expect(first?.t).toBe('2026-11-01T00:00:00.000Z');
    await expectAllRows(relation);
  }, 120_000);

  it.each([
    ['DuckDB (local)', duckdbParquetEncoder],
    ['hyparquet-writer (Lambda)', hyparquetEncoder],
  ])(
    'writes a Parquet file through %s with a UTC timestamp column and every value',
    async (name, encoder) => {
      const path = await exportToFile(
        `format=parquet&measures=voltage.phase_a,current.phase_a&${WHOLE}`,
        `${name.split(' ')[0]}.parquet`,
        encoder,
      );

      const columns = await sql(`DESCRIBE SELECT * FROM read_parquet('${path}')`);

      expect(columns.map((c) => [c.column_name, c.column_type])).toEqual([
        ['time', 'TIMESTAMP WITH TIME ZONE'],
        ['voltage_phase_a [V]', 'DOUBLE'],
        ['current_phase_a [A]', 'DOUBLE'],
      ]);
      await expectAllRows(`read_parquet('${path}')`);
    },
    120_000,
  );

  it('writes hourly aggregate columns with bucket=1h, matching the raw rows', async () => {
    const path = await exportToFile(
      `format=parquet&measures=voltage.phase_a&bucket=1h&${WHOLE}`,
      'hourly.parquet',
    );

    const hours = await sql(`SELECT * FROM read_parquet('${path}') ORDER BY "time"`);
    const [fromRaw] = await sql(
      `SELECT count(*) AS n, avg(v) AS avg, min(v) AS min, max(v) AS max FROM (
         SELECT i, 220 + (i % 1000) / 100 AS v FROM range(0, 360) t(i))`,
    );

    expect(hours).toHaveLength(Math.ceil((ROWS * STEP_MS) / 3_600_000));
    expect(Object.keys(hours[0] ?? {})).toEqual([
      'time',
      'voltage_phase_a_avg [V]',
      'voltage_phase_a_min [V]',
      'voltage_phase_a_max [V]',
      'voltage_phase_a_count',
    ]);
    expect(hours[0]?.voltage_phase_a_count).toBe(360);
    expect(hours[0]?.['voltage_phase_a_avg [V]'] as number).toBeCloseTo(fromRaw?.avg as number, 9);
    expect(hours[0]?.['voltage_phase_a_min [V]']).toBe(fromRaw?.min);
    expect(hours[0]?.['voltage_phase_a_max [V]']).toBe(fromRaw?.max);
    expect(hours.reduce((sum, h) => sum + (h.voltage_phase_a_count as number), 0)).toBe(ROWS);
  }, 120_000);
});

describe('the export route', () => {
  it('answers the Lambda path as a base64 file', async () => {
    const api = createApiHandler({
      ...emptyApiStores(),
      ...dependencies(hyparquetEncoder),
      version: 'test',
      devices: { list: async () => ({ items: [] }), get: async () => breaker },
      health: async () => ({}),
    });
    const hour = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`;

    const small = await api(exportQuery(`measures=voltage.phase_a&${hour}`));

    expect(small.statusCode).toBe(200);
    expect(small.isBase64Encoded).toBe(true);
    expect(small.headers?.['content-disposition']).toMatch(
      /^attachment; filename="breaker-export-1_.*\.csv"$/,
    );
    const lines = Buffer.from(String(small.body), 'base64').toString('utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(361);
    expect(lines[1]).toBe(`2026-11-01T00:00:00.000Z,${voltageAt(0)}`);
  }, 60_000);

  it('stops collecting at the size it is given, naming the last time that fitted', async () => {
    const file = await prepareExport(
      dependencies(),
      DEVICE,
      exportQuery(`measures=voltage.phase_a&${WHOLE}`),
    );

    // Batches of 10,000 rows are about 330 KB of CSV: three fit.
    await expect(collectExport(file, 1_000_000)).rejects.toMatchObject({
      status: 413,
      details: [
        {
          field: 'to',
          message: expect.stringContaining(`Rows up to ${new Date(T0 + 29_999 * STEP_MS).toISOString()} fit`),
        },
      ],
    });
  });

  it.each([
    ['measures=voltage.phase_a,nope.x', 'measures'],
    ["measures=voltage.phase_a'%20OR%201=1", 'measures'],
    [`measures=${Array.from({ length: MAX_EXPORT_MEASURES + 1 }, (_, i) => `m${i}`).join(',')}`, 'measures'],
    ['measures=protection.arc_fault_detected&bucket=1h', 'measures'],
    ['measures=voltage.phase_a&from=2025-01-01T00:00:00Z&to=2026-06-01T00:00:00Z', 'from'],
    ['measures=voltage.phase_a&format=xlsx', 'format'],
  ])('refuses %s with a 400 naming %s, before any store read', async (query, field) => {
    const reads: string[] = [];
    const spy = {
      ...dependencies(),
      timeseries: {
        seriesPage: async () => {
          reads.push('seriesPage');
          return { points: [] };
        },
        buckets: async () => {
          reads.push('buckets');
          return [];
        },
      },
    };

    const error = await prepareExport(spy, DEVICE, exportQuery(query)).catch((e: unknown) => e);

    expect(error).toMatchObject({ status: 400, details: [expect.objectContaining({ field })] });
    expect(reads).toEqual([]);
  });

  it('streams the file from the local server', async () => {
    const api = createApiHandler({
      ...emptyApiStores(),
      ...dependencies(),
      version: 'test',
      devices: { list: async () => ({ items: [] }), get: dependencies().devices.get },
      health: async () => ({}),
    });
    const server = await startHttpServer({ api, streamingApi: api.exportStream, dashboardDir: dir, port: 0 });
    try {
      const response = await fetch(
        `${server.url}/api/devices/${DEVICE}/export?measures=voltage.phase_a&${WHOLE}`,
      );
      const unknown = await fetch(`${server.url}/api/devices/nobody/export?measures=voltage.phase_a`);

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('transfer-encoding')).toBe('chunked');
      const text = await response.text();
      expect(text.trimEnd().split('\r\n')).toHaveLength(ROWS + 1);
      expect(unknown.status).toBe(404);
    } finally {
      await server.close();
    }
  }, 60_000);
});
