/**
 * Loaded into the platform process by bench:soak (`node --import`): every SOAK_PROBE_MS it appends one
 * JSON line of the process's memory to SOAK_PROBE_FILE: the main thread's (its V8 heap, and the
 * process-wide external and ArrayBuffer memory Node reports there) and each worker thread's, as the
 * worker measures it in its own isolate (worker-rpc.ts), with DuckDB's own figures from its worker.
 *
 * With SOAK_SNAPSHOT_DIR set, SIGUSR2 writes a heap snapshot of the main thread and of every worker
 * thread there (Node's `--heapsnapshot-signal` covers the main thread only).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import { workerMemory, writeWorkerHeapSnapshots } from '../worker-rpc.js';

// Worker threads inherit `--import`: the probe runs once, on the main thread.
const file = isMainThread ? process.env.SOAK_PROBE_FILE : undefined;
const everyMs = Number(process.env.SOAK_PROBE_MS ?? 10_000);
const snapshotDir = isMainThread ? process.env.SOAK_SNAPSHOT_DIR : undefined;

if (file) {
  const probe = async () => {
    const usage = process.memoryUsage();
    const heap = getHeapStatistics();
    // A worker that is starting or stopping answers nothing useful; the main thread's figures stand.
    const workers = await workerMemory().catch(() => []);
    appendFileSync(
      file,
      `${JSON.stringify({
        time: Date.now(),
        rss: usage.rss,
        heapUsed: usage.heapUsed,
        heapTotal: usage.heapTotal,
        heapCommitted: heap.total_physical_size,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
        workers,
      })}\n`,
    );
  };
  void probe();
  setInterval(() => void probe(), everyMs).unref();
}

if (snapshotDir) {
  let taken = 0;
  process.on('SIGUSR2', () => {
    const label = `${Date.now()}-${taken++}`;
    writeHeapSnapshot(join(snapshotDir, `${label}-main.heapsnapshot`));
    void writeWorkerHeapSnapshots(snapshotDir, label).catch((error: unknown) =>
      console.error(`memory probe: worker heap snapshots failed: ${String(error)}`),
    );
  });
}
