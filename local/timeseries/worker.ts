/**
 * Worker thread of the local time series: DuckDB and the time-series writer handler (the same factory
 * the Lambda entry uses), so parsing enriched messages, building points and DuckDB's appender calls
 * leave the pipeline thread. Profiled under `npm run bench:e2e`, that work was the largest part of
 * what the pipeline thread still did after DynamoDB moved to its own worker.
 *
 * Requests (see worker-host.ts): `write` runs the handler on a Lambda MSK event and answers its batch
 * response plus one summary per message written (for the runtime's stats and device bookkeeping);
 * `latest`, `series`, `buckets`, `count` answer queries; `close` checkpoints and closes DuckDB.
 */
import { workerData } from 'node:worker_threads';
import { timedSink } from '../../functions/adapters/timed-sink.js';
import type { WatchedReadings } from '../../functions/core/no-data.js';
import { createTimeseriesWriterHandler } from '../../functions/handlers/timeseries-writer.js';
import type { KafkaEvent } from '../../functions/ports/stream.js';
import { BufferedMetrics } from '../metrics/worker-buffer.js';
import { serveRequests } from '../worker-rpc.js';
import { DuckDbTimeseriesStore } from './duckdb-store.js';
import type {
  TimeseriesRequest,
  TimeseriesWorkerData,
  WriteResult,
  WrittenSummary,
} from './worker-protocol.js';
import { writtenNote, writtenSummaries } from './written.js';

const data = workerData as TimeseriesWorkerData;
const store = await DuckDbTimeseriesStore.open({ path: data.path });
// Recorded here, sent with each write's reply to the main thread's registry (see worker-buffer.ts).
const metrics = new BufferedMetrics();
const sink = timedSink(store, metrics, 'duckdb');

/**
 * Not an async function, nor is `write`: a write request carries a batch of records (base64), which
 * an async frame would hold until DuckDB has committed.
 */
function run(request: TimeseriesRequest): Promise<unknown> {
  switch (request.op) {
    case 'write':
      return write(request.event, request.watchedReadings);
    case 'latest':
      return store.latest(request.deviceId);
    case 'series':
      return store.series(request.query);
    case 'seriesPage':
      return store.seriesPage(request.query);
    case 'buckets':
      return store.buckets(request.query);
    case 'count':
      return store.count();
    case 'messageCounts':
      return store.messageCounts(request.deviceIds);
    case 'close':
      return store.close().then(() => undefined);
  }
  return Promise.reject(new Error(`unknown request ${JSON.stringify((request as { op?: unknown }).op)}`));
}

function write(event: KafkaEvent, watchedReadings: WatchedReadings): Promise<WriteResult> {
  let written: WrittenSummary[] = [];
  const handler = createTimeseriesWriterHandler({
    sink,
    note: (message) => writtenNote(message, watchedReadings),
    // Called once the points are committed.
    onWritten: (notes) => {
      written = writtenSummaries(notes, Date.now());
    },
  });
  return handler(event).then((response) => ({ response, written, metrics: metrics.drain() }));
}

serveRequests((request) => run(request as unknown as TimeseriesRequest), 'ready', {
  memory: () => store.memoryByTag(),
  interrupt: () => store.interrupt(),
});
