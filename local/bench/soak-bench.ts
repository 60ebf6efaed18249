import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatsSnapshot } from '../../functions/handlers/api.js';
import { createSimulatedFleet, createTransport, runFleet } from '../../simulator/index.js';
import type { WorkerMemory } from '../worker-rpc.js';
import { makeBenchDir, removeBenchDir, writesInBenchDir } from './bench-dir.js';
import { startPlatformProcess } from './platform-process.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '2000' },
    devices: { type: 'string', default: '200' },
    'warmup-minutes': { type: 'string' },
    'heap-snapshot-dir': { type: 'string' },
  },
});
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const DEVICES = Number(values.devices);
const WARMUP_MINUTES = Number(values['warmup-minutes'] ?? Math.min(5, Math.max(1, Math.floor(MINUTES / 3))));
if (!(MINUTES >= 2)) throw new RangeError(`--minutes must be at least 2, got ${values.minutes}`);
if (!(RATE > 0)) throw new RangeError(`--rate must be positive, got ${values.rate}`);
if (!(WARMUP_MINUTES >= 0 && WARMUP_MINUTES <= MINUTES - 2))
  throw new RangeError(`--warmup-minutes must leave at least 2 measured minutes, got ${WARMUP_MINUTES}`);
const MINUTE_MS = 60_000;
const PROBE_MS = 10_000;
const MB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MB).toFixed(0);

/** The platform as its own process, as `npm start` runs it, with the memory probe loaded first. */
const startPlatform = (dataDir: string, probeFile: string) =>
  startPlatformProcess({
    dataDir,
    onSpawn: writesInBenchDir,
    preload: [new URL('./memory-probe.ts', import.meta.url).href],
    platformArguments: ['--reset'],
    env: {
      ...process.env,
      SOAK_PROBE_FILE: probeFile,
      SOAK_PROBE_MS: String(PROBE_MS),
      // The probe writes the main thread's and every worker thread's heap snapshot on SIGUSR2.
      ...(values['heap-snapshot-dir'] ? { SOAK_SNAPSHOT_DIR: values['heap-snapshot-dir'] } : {}),
    },
  });

/** VmRSS and its parts: anonymous memory (heaps, native allocations) and mapped files (page cache). */
async function vmRss(pid: number): Promise<{ total: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const kilobytes = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1];
    if (kilobytes === undefined) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(kilobytes) * 1024;
  };
  return { total: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

interface ProbeLine {
  readonly time: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapCommitted: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly workers: readonly WorkerMemory[];
}

async function probeLines(file: string): Promise<ProbeLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ProbeLine);
}

async function stats(httpUrl: string): Promise<StatsSnapshot> {
  const response = await fetch(`${httpUrl}/api/stats?window=1m`);
  return (await response.json()) as StatsSnapshot;
}

/** Least-squares slope of (minutes, bytes) points, in MB per minute. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return num / den / MB;
}

// Interrupted, the bench stops the platform (its own process, it would outlive the bench), then removes this.
const dataDir = makeBenchDir('iotcloud-soak-');
const probeFile = join(dataDir, 'memory-probe.jsonl');
const platform = await startPlatform(join(dataDir, 'platform'), probeFile);
const pid = platform.child.pid;
if (pid === undefined) throw new Error('the platform has no pid');
const started = Date.now();
const rssSamples: [number, number][] = [];
console.log(
  `soak: ${RATE} msg/s from ${DEVICES} devices for ${MINUTES} min (warm-up ${WARMUP_MINUTES} min), platform pid ${pid}`,
);
console.log(
  'MB: RSS (anon, file) | main thread: heap used/committed, external, arrayBuffers | ' +
    'each worker: heap used/committed, external | DuckDB (duckdb_memory) | DuckDB WAL | raw total, consumer lag',
);
/** A worker's short name in the table: "DynamoDB worker" -> "dynamodb". */
const shortName = (what: string) => what.split(' ')[0]?.toLowerCase() ?? what;
const sample = async (minute: number) => {
  const rss = await vmRss(pid);
  const probe = (await probeLines(probeFile)).at(-1);
  const snapshot = await stats(platform.httpUrl);
  // DuckDB's write-ahead log: what the stop's CHECKPOINT (or the next start) has to fold in.
  const wal = await stat(join(dataDir, 'platform', 'timeseries.duckdb.wal')).then(
    (s) => s.size,
    () => 0,
  );
  rssSamples.push([minute, rss.total]);
  const workers = (probe?.workers ?? []).map((worker) => {
    const duckdb = worker.native
      ? ` duckdb ${mb(Object.values(worker.native).reduce((sum, bytes) => sum + bytes, 0))}`
      : '';
    return `${shortName(worker.what)} ${mb(worker.heapUsed)}/${mb(worker.heapCommitted)} ext ${mb(worker.external)}${duckdb}`;
  });
  console.log(
    `min ${String(minute).padStart(3)}  RSS ${mb(rss.total).padStart(5)} (${mb(rss.anon)}, ${mb(rss.file)})  ` +
      `main ${mb(probe?.heapUsed ?? 0)}/${mb(probe?.heapCommitted ?? 0)} ext ${mb(probe?.external ?? 0)} ab ${mb(probe?.arrayBuffers ?? 0)}  ` +
      `${workers.join('  ')}  wal ${mb(wal)}  raw ${snapshot.totals.raw} lag ${snapshot.pipeline?.consumerLag}`,
  );
};
const snapshot = () => {
  if (values['heap-snapshot-dir']) platform.child.kill('SIGUSR2');
};

try {
  await sample(0);
  const fleetDone = runFleet({
    fleet: createSimulatedFleet({
      devices: DEVICES,
      seed: 11,
      startTime: Date.now(),
      schedule: { mode: 'rate', messagesPerSecond: RATE },
    }),
    transport: createTransport({
      kind: 'mqtt',
      url: platform.mqttUrl,
      protocolVersion: 4,
      connectionMode: 'per-device',
    }),
    realTime: true,
    signal: AbortSignal.timeout(MINUTES * MINUTE_MS),
  });
  for (let minute = 1; minute <= MINUTES; minute++) {
    await new Promise((resolve) => setTimeout(resolve, started + minute * MINUTE_MS - Date.now()));
    await sample(minute);
    if (minute === WARMUP_MINUTES) snapshot();
  }
  const run = await fleetDone;
  snapshot();
  const afterWarmup = rssSamples.filter(([minute]) => minute >= WARMUP_MINUTES);
  const lines = (await probeLines(probeFile))
    .map((line) => ({ minute: (line.time - started) / MINUTE_MS, line }))
    .filter(({ minute }) => minute >= WARMUP_MINUTES);
  /** Slope and range of one series of the probe's lines after the warm-up. */
  const trend = (name: string, pick: (line: ProbeLine) => number | undefined) => {
    const points = lines.flatMap(({ minute, line }) => {
      const bytes = pick(line);
      return bytes === undefined ? [] : [[minute, bytes] as [number, number]];
    });
    if (points.length < 2) return `${name} n/a`;
    const ys = points.map(([, y]) => y);
    return `${name} ${slope(points).toFixed(2)} MB/min (${mb(Math.min(...ys))}-${mb(Math.max(...ys))} MB)`;
  };
  const workerNames = [...new Set(lines.flatMap(({ line }) => line.workers.map((worker) => worker.what)))];
  const ofWorker = (line: ProbeLine, what: string) => line.workers.find((worker) => worker.what === what);
  console.log(
    `published ${run.delivery.acked} messages at ${run.ratePerSecond.toFixed(0)} msg/s; ` +
      `after the ${WARMUP_MINUTES} min warm-up: RSS slope ${slope(afterWarmup).toFixed(2)} MB/min ` +
      `(${mb(Math.min(...afterWarmup.map(([, y]) => y)))}-${mb(Math.max(...afterWarmup.map(([, y]) => y)))} MB)`,
  );
  console.log(
    `  slopes after the warm-up (probe every ${PROBE_MS / 1000} s): ${[
      trend('main heap used', (line) => line.heapUsed),
      trend('main heap committed', (line) => line.heapCommitted),
      ...workerNames.map((what) =>
        trend(`${shortName(what)} heap committed`, (line) => ofWorker(line, what)?.heapCommitted),
      ),
      ...workerNames
        .filter((what) => lines.some(({ line }) => ofWorker(line, what)?.native))
        .map((what) =>
          trend(`${shortName(what)} native`, (line) => {
            const native = ofWorker(line, what)?.native;
            return native && Object.values(native).reduce((sum, bytes) => sum + bytes, 0);
          }),
        ),
    ].join('; ')}`,
  );
} finally {
  // The stop after a long run is part of what the soak measures: its time, its exit and what it printed.
  const stopStarted = Date.now();
  platform.child.kill('SIGTERM');
  const { code, signal } = await platform.exited;
  const output = platform.output();
  const stopLines = output.slice(Math.max(0, output.lastIndexOf('stopping'))).trimEnd();
  console.log(`stop: exit ${code ?? signal} after ${Date.now() - stopStarted} ms; the platform printed:`);
  console.log(stopLines.replace(/^/gm, '  '));
  removeBenchDir(dataDir);
}
