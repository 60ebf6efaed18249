/**
 * Loaded into the platform process by bench:soak (`node --import`): every SOAK_PROBE_MS it appends one
 * JSON line of the process's memory to SOAK_PROBE_FILE. RSS covers the whole process (worker threads
 * included); heap is the main thread's V8 heap (each worker thread has its own isolate).
 */
import { appendFileSync } from 'node:fs';

const file = process.env.SOAK_PROBE_FILE;
const everyMs = Number(process.env.SOAK_PROBE_MS ?? 10_000);
if (file) {
  const probe = () => {
    const usage = process.memoryUsage();
    appendFileSync(
      file,
      `${JSON.stringify({
        time: Date.now(),
        rss: usage.rss,
        heapUsed: usage.heapUsed,
        heapTotal: usage.heapTotal,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
      })}\n`,
    );
  };
  probe();
  setInterval(probe, everyMs).unref();
}
