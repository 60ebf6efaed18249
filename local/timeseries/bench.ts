/**
 * One-off benchmark of the DuckDB time-series store (not a test): write rate and query times on a file
 * store that grows through ordinary writes, as the local runtime's would.
 *
 *   npx tsx local/timeseries/bench.ts [--messages 40000] [--series 1000000] [--keep]
 *
 * 1. Fleet writes: `--messages` breaker telemetry messages (points from the core's toTimeSeriesPoints,
 *    100 devices, one message each 5 s), one write call per message with up to 256 calls in flight,
 *    so the store coalesces them; then the same with calls awaited one by one, then a redelivery.
 * 2. One long series: `--series` points of one measure, one a second, in batches of 100 (the first
 *    100,000) and 1,000 (the rest), each awaited.
 * 3. Queries: 5-minute buckets over the long series and over a fleet series, raw series, latest, count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processMessage } from '../../functions/core/process-message.js';
import { compileRegistry } from '../../functions/core/registry.js';
import { breakerTelemetry, PROCESSED_AT, RECEIVED_AT } from '../../functions/core/test-support/messages.js';
import { type TimeSeriesPoint, toTimeSeriesPoints } from '../../functions/core/timeseries.js';
import { seedRegistry } from '../../registry-data/index.js';
import { makeBenchDir, removeBenchDir } from '../bench/bench-dir.js';
import { DuckDbTimeseriesStore } from './duckdb-store.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const MESSAGES = option('messages', 40_000);
const SERIES_POINTS = option('series', 1_000_000);
const DEVICES = 100;
const IN_FLIGHT = 256;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const outcome = processMessage(
  JSON.stringify(breakerTelemetry()),
  { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
  { registry: compileRegistry(seedRegistry), service: 'bench', serviceVersion: '0' },
);
if (outcome.kind !== 'enriched') throw new Error('the template message did not enrich');
const template = toTimeSeriesPoints(outcome.message);

/** Message `n` of the fleet: the template's points for device n % DEVICES at its time, values jittered. */
const message = (n: number, offset = 0): TimeSeriesPoint[] => {
  const deviceId = `breaker-${String(n % DEVICES).padStart(3, '0')}`;
  const time = T0 + (offset + Math.floor(n / DEVICES)) * 5000;
  return template.map((p) => ({
    ...p,
    deviceId,
    time,
    value:
      typeof p.value === 'number' && p.valueType === 'DOUBLE'
        ? p.value * (0.95 + Math.random() * 0.1)
        : p.value,
  }));
};

const rate = (points: number, ms: number) =>
  `${Math.round((points / ms) * 1000).toLocaleString('en-US')} points/s`;

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, performance.now() - start];
}

/** Median and best of `rounds` runs of a query, in ms. */
async function queryTimes(run: () => Promise<unknown>, rounds = 15): Promise<string> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push((await timed(run))[1]);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? Number.NaN;
  return `median ${median.toFixed(1)} ms, best ${(times[0] ?? Number.NaN).toFixed(1)} ms`;
}

async function inFlight(count: number, write: (n: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await write(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

const keep = args.includes('--keep');
const dir = keep ? mkdtempSync(join(tmpdir(), 'duckdb-ts-bench-')) : makeBenchDir('duckdb-ts-bench-');
const path = join(dir, 'timeseries.duckdb');
try {
  let store = await DuckDbTimeseriesStore.open({ path });
  const perMessage = template.length;
  console.log(`DuckDB time-series store bench: ${path}`);
  console.log(`${perMessage} points per breaker message, ${DEVICES} devices`);

  const [, fleetMs] = await timed(() => inFlight(MESSAGES, (n) => store.write(message(n))));
  console.log(
    `fleet writes, ${MESSAGES} messages, ${IN_FLIGHT} in flight: ${rate(MESSAGES * perMessage, fleetMs)} (${(fleetMs / 1000).toFixed(1)} s)`,
  );

  const sequential = 2_000;
  const offset = MESSAGES / DEVICES + 10;
  const [, seqMs] = await timed(async () => {
    for (let n = 0; n < sequential; n++) await store.write(message(n, offset));
  });
  console.log(`sequential writes, one message per call, awaited: ${rate(sequential * perMessage, seqMs)}`);

  const redelivery = Array.from({ length: 400 }, (_, n) => message(n)).flat();
  const [, dupMs] = await timed(async () => {
    for (let i = 0; i < redelivery.length; i += 1000) await store.write(redelivery.slice(i, i + 1000));
  });
  console.log(`redelivered points, batches of 1,000: ${rate(redelivery.length, dupMs)}`);

  const series = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      ...(template[0] as TimeSeriesPoint),
      deviceId: 'breaker-long',
      measure: 'voltage.phase_a',
      time: T0 + (from + i) * 1000,
      value: 120 + Math.sin((from + i) / 600),
    }));
  const small = Math.min(100_000, SERIES_POINTS);
  const [, smallMs] = await timed(async () => {
    for (let i = 0; i < small; i += 100) await store.write(series(i, Math.min(100, small - i)));
  });
  console.log(`long series, batches of 100 awaited: ${rate(small, smallMs)}`);
  const [, seriesMs] = await timed(async () => {
    for (let i = small; i < SERIES_POINTS; i += 1000) {
      await store.write(series(i, Math.min(1000, SERIES_POINTS - i)));
    }
  });
  console.log(`long series, batches of 1,000 awaited: ${rate(SERIES_POINTS - small, seriesMs)}`);
  const total = await store.count();
  console.log(`stored: ${total.toLocaleString('en-US')} points`);

  await store.close();
  store = await DuckDbTimeseriesStore.open({ path });
  const to = T0 + SERIES_POINTS * 1000;
  const [longBuckets, coldMs] = await timed(() =>
    store.buckets({
      deviceId: 'breaker-long',
      measure: 'voltage.phase_a',
      from: T0,
      to,
      bucketMs: 300_000,
      limit: 10_000,
    }),
  );
  console.log(
    `5-min buckets over the ${SERIES_POINTS.toLocaleString('en-US')}-point series (${longBuckets.length} buckets), first after reopen: ${coldMs.toFixed(1)} ms`,
  );
  console.log(
    `  then ${await queryTimes(() => store.buckets({ deviceId: 'breaker-long', measure: 'voltage.phase_a', from: T0, to, bucketMs: 300_000, limit: 10_000 }))}`,
  );
  console.log(
    `5-min buckets of one fleet series (${MESSAGES / DEVICES} points among ${total.toLocaleString('en-US')}): ${await queryTimes(() => store.buckets({ deviceId: 'breaker-007', measure: 'voltage.phase_a', from: T0, to, bucketMs: 300_000, limit: 10_000 }))}`,
  );
  console.log(
    `raw series, last hour of the long series: ${await queryTimes(() => store.series({ deviceId: 'breaker-long', measure: 'voltage.phase_a', from: to - 3_600_000, to, limit: 10_000 }))}`,
  );
  console.log(`latest of a fleet device: ${await queryTimes(() => store.latest('breaker-007'))}`);
  console.log(`count: ${await queryTimes(() => store.count())}`);
  await store.close();
} finally {
  if (!keep) removeBenchDir(dir);
}
