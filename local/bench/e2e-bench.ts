import { parseArgs } from 'node:util';
import type { StatsSnapshot } from '../../functions/handlers/api.js';
import { createSimulatedFleet, createTransport, runFleet } from '../../simulator/index.js';
import { makeBenchDir, removeBenchDir, writesInBenchDir } from './bench-dir.js';
import { startPlatformProcess } from './platform-process.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    devices: { type: 'string', default: '100' },
    'latency-seconds': { type: 'string', default: '20' },
    'cpu-prof-dir': { type: 'string' },
    progress: { type: 'boolean', default: false },
    'skip-latency': { type: 'boolean', default: false },
    'kafka-brokers': { type: 'string' },
  },
});
const KAFKA_BROKERS = values['kafka-brokers'];
const MESSAGES = Number(values.messages);
const DEVICES = Number(values.devices);
const LATENCY_SECONDS = Number(values['latency-seconds']);
if (!(LATENCY_SECONDS > 0 && LATENCY_SECONDS <= 45))
  throw new RangeError('--latency-seconds must be 1 to 45 (the measurement fits in one minute)');
const WARMUP_MS = 5000;
/** Time allowed for the fleet's 100 connections before the warm-up starts. */
const CONNECT_ALLOWANCE_MS = 1000;
const MINUTE_MS = 60_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The platform as its own process, with the command `npm start` runs (`--reset`: a fresh data dir). */
const startPlatform = (dataDir: string, streamArguments: readonly string[]) =>
  startPlatformProcess({
    dataDir,
    nodeFlags: values['cpu-prof-dir'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof-dir']] : [],
    platformArguments: [...streamArguments, '--reset'],
    onSpawn: writesInBenchDir,
  });

async function stats(httpUrl: string, window = '60m'): Promise<StatsSnapshot> {
  const response = await fetch(`${httpUrl}/api/stats?window=${window}`);
  return (await response.json()) as StatsSnapshot;
}

/** Waits until `count` raw messages are in and every consumer has caught up. */
async function drained(httpUrl: string, count: number): Promise<StatsSnapshot> {
  for (;;) {
    const snapshot = await stats(httpUrl);
    if (snapshot.totals.raw >= count && snapshot.pipeline?.consumerLag === 0) return snapshot;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function printProgress(httpUrl: string, started: number): Promise<void> {
  const { totals, pipeline } = await stats(httpUrl);
  console.log(
    `  ${((Date.now() - started) / 1000).toFixed(1)} s: raw ${totals.raw}, enriched ${totals.enriched}, ` +
      `points ${pipeline?.storedPoints}, consumer lag ${pipeline?.consumerLag}`,
  );
}

/** The fleet at 1,000 msg/s until `signal` aborts. */
const pacedFleet = (url: string, signal: AbortSignal) =>
  runFleet({
    fleet: createSimulatedFleet({
      devices: DEVICES,
      seed: 7,
      startTime: Date.now(),
      schedule: { mode: 'rate', messagesPerSecond: 1000 },
    }),
    transport: createTransport({ kind: 'mqtt', url, protocolVersion: 4, connectionMode: 'per-device' }),
    realTime: true,
    signal,
  });

interface LatencyFigures {
  readonly p50?: number;
  readonly p99?: number;
  readonly samples: number;
}

interface BackendFigures {
  readonly backend: string;
  readonly latency?: LatencyFigures;
  readonly published: number;
  readonly publishRate: number;
  readonly publishSeconds: number;
  readonly queryableSeconds: number;
  readonly sustained: number;
}

async function measureLatency(
  url: string,
  httpUrl: string,
  baseline: number,
): Promise<{ after: StatsSnapshot; latency: LatencyFigures }> {
  const measuredMinute = Math.ceil((Date.now() + WARMUP_MS + CONNECT_ALLOWANCE_MS) / MINUTE_MS) * MINUTE_MS;
  await sleep(measuredMinute - WARMUP_MS - CONNECT_ALLOWANCE_MS - Date.now());
  const fleetStarted = Date.now();
  const paced = await pacedFleet(
    url,
    AbortSignal.timeout(measuredMinute + LATENCY_SECONDS * 1000 - Date.now()),
  );
  const afterPaced = await drained(httpUrl, baseline + paced.delivery.acked);
  const measured = await stats(httpUrl, '1m');
  if (Date.now() >= measuredMinute + MINUTE_MS) throw new Error('the measured minute ended before the drain');
  const warmupSeconds = (measuredMinute - fleetStarted - paced.connectMs) / 1000;
  const whole = afterPaced.pipeline?.latencyMs;
  const latency = measured.pipeline?.latencyMs;
  console.log(
    `latency at 1,000 msg/s (${DEVICES} devices, ${fmt(paced.delivery.acked)} messages, ${fmt(paced.ratePerSecond)} msg/s achieved): ` +
      `after a ${warmupSeconds.toFixed(1)} s warm-up, ${LATENCY_SECONDS} s measured: ` +
      `p50 ${latency?.p50} ms, p99 ${latency?.p99} ms over ${fmt(latency?.samples ?? 0)} telemetry messages (device timestamp -> queryable in DuckDB; target p99 <= 250 ms); ` +
      `whole run, start-up included: p50 ${whole?.p50} ms, p99 ${whole?.p99} ms over ${fmt(whole?.samples ?? 0)}`,
  );
  return {
    after: afterPaced,
    latency: {
      ...(latency?.p50 === undefined || latency.p50 === null ? {} : { p50: latency.p50 }),
      ...(latency?.p99 === undefined || latency.p99 === null ? {} : { p99: latency.p99 }),
      samples: latency?.samples ?? 0,
    },
  };
}

/** --skip-latency: the same warm-up, without waiting for a minute to begin or measuring. */
async function warmUpOnly(url: string, httpUrl: string, baseline: number): Promise<StatsSnapshot> {
  const paced = await pacedFleet(url, AbortSignal.timeout(WARMUP_MS + CONNECT_ALLOWANCE_MS));
  console.log(
    `warm-up: ${fmt(paced.delivery.acked)} messages at 1,000 msg/s, latency not measured (--skip-latency)`,
  );
  return drained(httpUrl, baseline + paced.delivery.acked);
}

/** Both phases on one platform process, started with `streamArguments` (none: the local log). */
async function benchmark(backend: string, streamArguments: readonly string[]): Promise<BackendFigures> {
  console.log(`== ${backend}`);
  const dataDir = makeBenchDir('iotcloud-e2e-');
  const platform = await startPlatform(dataDir, streamArguments).catch((error: unknown) => {
    removeBenchDir(dataDir);
    throw error;
  });
  const { httpUrl, mqttUrl: url } = platform;
  try {
    // A Kafka cluster keeps its topics across runs: count from what they already hold.
    const start = (await stats(httpUrl)).totals;
    const baseline = start.raw;
    // 1. Latency at a fixed rate, measured in the minute that begins after the warm-up (or a warm-up alone).
    const measured = values['skip-latency']
      ? { after: await warmUpOnly(url, httpUrl, baseline), latency: undefined }
      : await measureLatency(url, httpUrl, baseline);

    // 2. Sustained throughput, as fast as the broker takes messages.
    const before = measured.after.totals.raw;
    const started = Date.now();
    // Progress lines are only informative: a look that fails (an answer still due as the platform stops)
    // is skipped rather than left as an unhandled rejection.
    const progress = values.progress
      ? setInterval(() => printProgress(httpUrl, started).catch(() => undefined), 500)
      : undefined;
    const burst = await runFleet({
      fleet: createSimulatedFleet({
        devices: DEVICES,
        seed: 8,
        startTime: Date.now(),
        schedule: { mode: 'rate', messagesPerSecond: 20_000 },
      }),
      transport: createTransport({ kind: 'mqtt', url, protocolVersion: 4, connectionMode: 'per-device' }),
      realTime: false,
      count: MESSAGES,
    });
    const published = Date.now();
    const done = await drained(httpUrl, before + burst.delivery.acked);
    const finished = Date.now();
    clearInterval(progress);
    const sustained = (burst.delivery.acked * 1000) / (finished - started);
    console.log(
      `throughput: ${fmt(burst.delivery.acked)} messages from ${DEVICES} devices published at ${fmt(burst.ratePerSecond)} msg/s; ` +
        `all queryable after ${((finished - started) / 1000).toFixed(1)} s (publishing took ${((published - started) / 1000).toFixed(1)} s): ` +
        `sustained ${fmt(sustained)} msg/s end to end (target >= 5,000); ` +
        `${fmt(done.pipeline?.storedPoints ?? 0)} points stored, ${fmt(done.totals.alerts - start.alerts)} alerts, ${done.totals.dlq - start.dlq} dead letters in this run`,
    );
    return {
      backend,
      ...(measured.latency ? { latency: measured.latency } : {}),
      published: burst.delivery.acked,
      publishRate: burst.ratePerSecond,
      publishSeconds: (published - started) / 1000,
      queryableSeconds: (finished - started) / 1000,
      sustained,
    };
  } finally {
    platform.child.kill('SIGTERM');
    await new Promise((resolve) => platform.child.once('exit', resolve));
    removeBenchDir(dataDir);
  }
}

const results = [await benchmark('local log', [])];
if (KAFKA_BROKERS) {
  results.push(await benchmark(`Kafka at ${KAFKA_BROKERS}`, ['--kafka-brokers', KAFKA_BROKERS]));
  console.log('\nside by side (one run):');
  const rows = [
    [
      'stream',
      'latency p50 / p99 (ms)',
      'published (msg/s)',
      'publishing (s)',
      'all queryable (s)',
      'sustained (msg/s)',
    ],
    ...results.map((r) => [
      r.backend,
      r.latency ? `${r.latency.p50 ?? '-'} / ${r.latency.p99 ?? '-'}` : 'not measured',
      fmt(r.publishRate),
      r.publishSeconds.toFixed(1),
      r.queryableSeconds.toFixed(1),
      fmt(r.sustained),
    ]),
  ];
  const widths = (rows[0] as string[]).map((_, column) =>
    Math.max(...rows.map((row) => String(row[column]).length)),
  );
  for (const row of rows)
    console.log(`  ${row.map((cell, column) => String(cell).padEnd(widths[column] ?? 0)).join('  ')}`);
}
