/**
 * Export figures (issue 16): time and peak memory of exporting one device's points from the local
 * DuckDB store, as CSV, as Parquet through DuckDB (local) and through hyparquet-writer (the Lambda
 * path), each in a fresh process so one run's memory does not hide in another's.
 *
 *   npm run bench:export                    100,000 points of one measure, 10 s apart
 *   npm run bench:export -- --points 1000000
 *
 * Each run: the store is filled in memory, then the export is written to a temporary file through
 * `prepareExport` (what the API route streams). Reported: wall time of the export, rows per second,
 * file size, the process's peak RSS over the export (sampled every 5 ms) and how far it rose above the
 * RSS before the export started, and the peak V8 heap.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hyparquetEncoder } from '../../functions/adapters/parquet/hyparquet-encoder.js';
import type { TimeSeriesPoint } from '../../functions/core/timeseries.js';
import { prepareExport } from '../../functions/handlers/api/export.js';
import { apiEvent, seedRegistryFake } from '../../functions/handlers/api/test-support.js';
import { duckdbParquetEncoder } from '../export/duckdb-parquet.js';
import { DuckDbTimeseriesStore } from '../timeseries/duckdb-store.js';
import { makeBenchDir, removeBenchDir } from './bench-dir.js';

const FORMATS = ['csv', 'parquet-duckdb', 'parquet-hyparquet'] as const;
type Format = (typeof FORMATS)[number];

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '100000' },
    format: { type: 'string' },
  },
});
const points = Number(values.points);
if (!Number.isSafeInteger(points) || points < 1)
  throw new Error(`--points must be a positive integer, got ${values.points}`);

const DEVICE = 'breaker-bench-1';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const STEP_MS = 10_000;

async function runOne(format: Format): Promise<void> {
  const store = await DuckDbTimeseriesStore.open({ path: ':memory:' });
  for (let start = 0; start < points; start += 20_000) {
    const batch: TimeSeriesPoint[] = [];
    for (let i = start; i < Math.min(points, start + 20_000); i++)
      batch.push({
        deviceId: DEVICE,
        deviceType: 'smart_breaker',
        measure: 'voltage.phase_a',
        kind: 'telemetry',
        time: T0 + i * STEP_MS,
        value: 220 + (i % 1000) / 100,
        valueType: 'DOUBLE',
        quality: 'GOOD',
      });
    await store.write(batch);
  }
  const dir = makeBenchDir('export-bench-');
  const path = join(dir, 'export');
  const to = T0 + points * STEP_MS;
  const query = `format=${format === 'csv' ? 'csv' : 'parquet'}&measures=voltage.phase_a&from=${new Date(T0).toISOString()}&to=${new Date(to).toISOString()}`;
  const dependencies = {
    registry: seedRegistryFake(),
    devices: {
      get: async () => ({
        deviceId: DEVICE,
        deviceType: 'smart_breaker',
        firstSeen: '',
        lastSeen: '',
        messageCount: points,
        status: 'online' as const,
      }),
    },
    timeseries: store,
    parquet: format === 'parquet-hyparquet' ? hyparquetEncoder : duckdbParquetEncoder,
    now: () => to,
  };

  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peakRss = baseline;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 5);
  const started = performance.now();
  const file = await prepareExport(
    dependencies,
    DEVICE,
    apiEvent({ method: 'GET', path: `/api/devices/${DEVICE}/export?${query}` }),
  );
  await pipeline(Readable.from(file.body), createWriteStream(path));
  const ms = performance.now() - started;
  clearInterval(sampler);
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  const size = (await stat(path)).size;
  removeBenchDir(dir);
  await store.close();
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  process.stdout.write(
    `${format.padEnd(18)} ${points} rows  ${ms.toFixed(0).padStart(6)} ms  ${Math.round((points / ms) * 1000)
      .toString()
      .padStart(
        8,
      )} rows/s  file ${mb(size).padStart(8)}  peak RSS ${mb(peakRss)} (+${mb(peakRss - baseline)} over the filled store)  peak heap ${mb(peakHeap)}\n`,
  );
}

if (values.format) {
  if (!(FORMATS as readonly string[]).includes(values.format))
    throw new Error(`--format must be one of ${FORMATS.join(', ')}`);
  await runOne(values.format as Format);
} else {
  process.stdout.write(
    `export of ${points} points of one device (one measure, 10 s apart), each format in its own process\n`,
  );
  for (const format of FORMATS) {
    execFileSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--points',
        String(points),
        '--format',
        format,
      ],
      { stdio: 'inherit' },
    );
  }
}
