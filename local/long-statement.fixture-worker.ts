/**
 * A worker thread for forced-exit-native.test.ts: `long` starts a DuckDB statement that would run for
 * many minutes, `ping` answers at once. With FIXTURE_INTERRUPT unset the worker gives serveRequests no
 * interrupt, as a worker with a native call that cannot be interrupted.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { serveRequests } from './worker-rpc.js';

const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
/** About 10^12 rows: a quarter of an hour or more on any machine. */
const ENDLESS = 'SELECT count(*) AS n FROM range(1000000000000) t(i) WHERE i % 7 = 3';

serveRequests(
  async (request) => {
    const { op } = request as { op?: string };
    if (op === 'ping') return 'pong';
    const reader = await connection.runAndReadAll(ENDLESS);
    return String(reader.getRowObjectsJS()[0]?.n);
  },
  'ready',
  process.env.FIXTURE_INTERRUPT ? { interrupt: () => connection.interrupt() } : {},
);
