/**
 * Soak benchmark (npm run bench:soak): does the platform's memory have a ceiling? The platform runs as
 * its own process, as `npm start` runs it (no simulator, empty temporary data directory), and a
 * simulated fleet publishes to it over MQTT at a steady rate. Every minute it prints the platform's
 * RSS (/proc/<pid>/status VmRSS: the whole process, worker threads included) and its main thread's V8
 * heap (process.memoryUsage() reported by memory-probe.ts, loaded into the platform with --import); at
 * the end, the least-squares slope of both after the warm-up, in MB per minute.
 * Usage: npm run bench:soak [-- --minutes 30 --rate 2000 --devices 200 --warmup-minutes 5
 *        --heap-snapshot-dir DIR]
 * (--heap-snapshot-dir: the platform writes a V8 heap snapshot there at the end of the warm-up and at the
 * end of the run, for comparing what stayed. Writing one stops the platform for seconds and raises its
 * RSS for good, so a run with snapshots shows where memory goes, not the curve.)
 * At a rate the machine cannot sustain, memory follows the backlog (messages acknowledged by the broker
 * and waiting for the log, consumer lag), not a leak: the lines show raw total and consumer lag for that.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatsSnapshot } from '../../functions/handlers/api.js';
import { createSimulatedFleet, createTransport, runFleet } from '../../simulator/index.js';

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

function npmStartArguments(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const [command, ...args] = manifest.scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`npm start runs "${command}", not node: update the benchmark`);
  return args;
}

interface Platform {
  readonly process: ChildProcess;
  readonly httpUrl: string;
  readonly mqttUrl: string;
}

async function startPlatform(dataDir: string, probeFile: string): Promise<Platform> {
  const args = npmStartArguments();
  const script = args.pop() ?? '';
  const snapshotDir = values['heap-snapshot-dir'];
  const child = spawn(
    process.execPath,
    [
      ...(snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : []),
      ...args,
      '--import',
      new URL('./memory-probe.ts', import.meta.url).href,
      script,
      '--no-simulator',
      '--reset',
      '--data-dir',
      dataDir,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--status-every',
      '3600',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, SOAK_PROBE_FILE: probeFile, SOAK_PROBE_MS: String(PROBE_MS) },
    },
  );
  return new Promise<Platform>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const httpUrl = /API\s+(http:\/\/\S+)\/api\/health/.exec(output)?.[1];
      const mqttUrl = /MQTT\s+(mqtt:\/\/\S+)/.exec(output)?.[1];
      if (httpUrl && mqttUrl) resolve({ process: child, httpUrl, mqttUrl });
    });
    child.once('exit', (code) =>
      reject(new Error(`the platform exited (${code}) before it was ready:\n${output}`)),
    );
  });
}

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
  readonly external: number;
  readonly arrayBuffers: number;
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

const dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-soak-'));
const probeFile = join(dataDir, 'memory-probe.jsonl');
const platform = await startPlatform(join(dataDir, 'platform'), probeFile);
const pid = platform.process.pid;
if (pid === undefined) throw new Error('the platform has no pid');
const started = Date.now();
const rssSamples: [number, number][] = [];
console.log(
  `soak: ${RATE} msg/s from ${DEVICES} devices for ${MINUTES} min (warm-up ${WARMUP_MINUTES} min), platform pid ${pid}`,
);
console.log('minute  RSS MB (anon  file)  heap used MB  external MB  raw total  consumer lag');
const sample = async (minute: number) => {
  const rss = await vmRss(pid);
  const probe = (await probeLines(probeFile)).at(-1);
  const snapshot = await stats(platform.httpUrl);
  rssSamples.push([minute, rss.total]);
  console.log(
    `${String(minute).padStart(6)}  ${mb(rss.total).padStart(6)} (${mb(rss.anon).padStart(4)}  ${mb(rss.file).padStart(4)})  ` +
      `${mb(probe?.heapUsed ?? 0).padStart(12)}  ` +
      `${mb(probe?.external ?? 0).padStart(11)}  ${String(snapshot.totals.raw).padStart(9)}  ${snapshot.pipeline?.consumerLag}`,
  );
};
const snapshot = () => {
  if (values['heap-snapshot-dir']) platform.process.kill('SIGUSR2');
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
  const heap = (await probeLines(probeFile))
    .map((line) => [(line.time - started) / MINUTE_MS, line.heapUsed] as [number, number])
    .filter(([minute]) => minute >= WARMUP_MINUTES);
  console.log(
    `published ${run.delivery.acked} messages at ${run.ratePerSecond.toFixed(0)} msg/s; ` +
      `after the ${WARMUP_MINUTES} min warm-up: RSS slope ${slope(afterWarmup).toFixed(2)} MB/min ` +
      `(${mb(Math.min(...afterWarmup.map(([, y]) => y)))}-${mb(Math.max(...afterWarmup.map(([, y]) => y)))} MB), ` +
      `main-thread heap slope ${slope(heap).toFixed(2)} MB/min ` +
      `(${mb(Math.min(...heap.map(([, y]) => y)))}-${mb(Math.max(...heap.map(([, y]) => y)))} MB)`,
  );
} finally {
  platform.process.kill('SIGTERM');
  await new Promise((resolve) => platform.process.once('exit', resolve));
  await rm(dataDir, { recursive: true, force: true });
}
