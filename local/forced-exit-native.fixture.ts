/**
 * Run by forced-exit-native.test.ts as its own process: a worker thread runs a long DuckDB statement,
 * then the process takes the forced exit, as a second Ctrl+C or an overrun stop does.
 */
import { FORCED_EXIT_CODE, forceExit } from './forced-exit.js';
import { startWorker } from './worker-rpc.js';

const worker = await startWorker(
  new URL('./long-statement.fixture-worker.ts', import.meta.url),
  {},
  'long-statement worker',
);
void worker.call({ op: 'long' });
// The worker serves requests in order: its answer to this one means the statement was handed to DuckDB.
await worker.call({ op: 'ping' });
console.log('statement running: forcing the exit');
await forceExit(FORCED_EXIT_CODE);
