/**
 * Start-up time against the data kept (npm run bench:startup). Fills a data directory's local log with
 * `--fill-mb` MB of raw and enriched records (about 2 KB each, as the pipeline writes them) whose
 * consumer groups have committed everything (a restart after a clean day of ingest), then starts the
 * platform `--runs` times as `npm start` runs it and prints the time from spawn to its "running" line.
 * Usage: npm run bench:startup [-- --fill-mb 500 --runs 3 --data-dir DIR (kept) --crash]
 * (--crash: before the last run, the index file of each partition's active segment is deleted, as a
 * crash after appends leaves it stale, so that start scans the active segments: crash recovery.)
 */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CONSUMER_GROUPS, TOPICS } from '../../functions/shared/stream.js';
import { LocalLog } from '../log/index.js';
import { makeBenchDir, removeBenchDir, writesInBenchDir } from './bench-dir.js';
import { platformCommand, RUNNING_LINE } from './platform-process.js';

const { values } = parseArgs({
  options: {
    'fill-mb': { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    'data-dir': { type: 'string' },
    crash: { type: 'boolean', default: false },
  },
});
const FILL_BYTES = Number(values['fill-mb']) * 1024 * 1024;
const RUNS = Number(values.runs);

/** Writes about FILL_BYTES of records to raw and enriched, then commits both groups to the end. */
async function fill(dataDir: string): Promise<void> {
  const log = new LocalLog({ dataDir: join(dataDir, 'log'), fsync: false });
  await log.open();
  const padding = 'x'.repeat(1700);
  let written = 0;
  let n = 0;
  while (written < FILL_BYTES) {
    const records = Array.from({ length: 500 }, () => {
      n += 1;
      const value = Buffer.from(
        JSON.stringify({ device_id: `dev-${n % 1000}`, timestamp: new Date().toISOString(), padding }),
      );
      written += value.length * 2;
      return { key: `dev-${n % 1000}`, value };
    });
    await log.send(TOPICS.raw, records);
    await log.send(TOPICS.enriched, records);
  }
  for (const [group, topic] of [
    [CONSUMER_GROUPS.enrich, TOPICS.raw],
    [CONSUMER_GROUPS.timeseriesWriter, TOPICS.enriched],
  ] as const) {
    const ends = log.endOffsets(topic);
    await log.commitOffsets(group, topic, new Map(ends.map((end, partition) => [partition, end])));
  }
  const bytes = log.status().reduce((sum, p) => sum + p.bytes, 0);
  console.log(`filled ${dataDir}: ${(bytes / 1024 / 1024).toFixed(0)} MB in the log, ${n} records per topic`);
  await log.close();
}

/** Deletes the index file of each partition's last segment: what a crash after appends amounts to. */
async function staleActiveIndexes(dataDir: string): Promise<void> {
  const topics = join(dataDir, 'log', 'topics');
  for (const topic of await readdir(topics)) {
    for (const partition of await readdir(join(topics, topic))) {
      if (partition === 'topic.json') continue;
      const dir = join(topics, topic, partition);
      const last = (await readdir(dir))
        .filter((name) => name.endsWith('.log'))
        .sort()
        .at(-1);
      if (last) await rm(join(dir, last.replace(/\.log$/, '.index')), { force: true });
    }
  }
}

/** Starts the platform, resolves with ms until its "running" line, then stops it (SIGTERM). */
function startOnce(dataDir: string): Promise<number> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    platformCommand({ dataDir }),
    // stderr only matters if it fails (the AWS SDK warns about the Node version on every start).
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  writesInBenchDir(child);
  return new Promise<number>((resolve, reject) => {
    let output = '';
    let ready: number | undefined;
    let stopSent = false;
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (ready === undefined && output.includes(RUNNING_LINE)) {
        ready = performance.now() - started;
      }
      // A SIGTERM right after the start-up lines was seen to kill it before its handler ran (and then
      // the next start has a crash recovery to do): one answered request first.
      const health = /API\s+(http:\/\/\S+\/api\/health)/.exec(output)?.[1];
      if (ready !== undefined && !stopSent && health && output.includes('Ctrl+C stops it cleanly')) {
        stopSent = true;
        void fetch(health)
          .catch(() => undefined)
          .finally(() => child.kill('SIGTERM'));
      }
    });
    child.once('exit', (code, signal) => {
      if (ready === undefined)
        reject(new Error(`the platform exited (${code ?? signal}) before it was ready:\n${output}`));
      else {
        if (!output.includes('stopped cleanly'))
          console.log(`the platform did not stop cleanly (${code ?? signal}):\n${output}`);
        resolve(ready);
      }
    });
  });
}

const dataDir = values['data-dir'] ?? makeBenchDir('iotcloud-startup-');
try {
  if (FILL_BYTES > 0) await fill(dataDir);
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const crash = values.crash && run === RUNS - 1;
    if (crash) await staleActiveIndexes(dataDir);
    times.push(await startOnce(dataDir));
    console.log(
      `start ${run + 1}${crash ? ' (active segments scanned, as after a crash)' : ''}: ${(times[run] ?? 0).toFixed(0)} ms to "running"`,
    );
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `start-up with ${values['fill-mb']} MB filled: median ${(sorted[sorted.length >> 1] ?? 0).toFixed(0)} ms over ${RUNS} runs`,
  );
} finally {
  if (!values['data-dir']) removeBenchDir(dataDir);
}
