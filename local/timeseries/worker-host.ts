/**
 * Starts the time-series worker (worker.ts): DuckDB and the time-series writer handler on their own
 * thread. This side offers the writer as a Kafka handler for the `iot.enriched` consumer, and the
 * store's queries for the API.
 */
import type { WatchedReadings } from '../../functions/core/no-data.js';
import type { KafkaHandler } from '../../functions/ports/stream.js';
import type {
  BucketPoint,
  LatestValue,
  RawPoint,
  SeriesPage,
  SeriesQuery,
  TimeseriesQuery,
} from '../../functions/ports/timeseries.js';
import { type MetricsRecorder, NO_METRICS } from '../../functions/shared/metrics.js';
import { replayMetrics } from '../metrics/worker-buffer.js';
import { startWorker } from '../worker-rpc.js';
import type {
  TimeseriesRequest,
  TimeseriesWorkerData,
  WriteResult,
  WrittenSummary,
} from './worker-protocol.js';

export interface TimeseriesWorker extends TimeseriesQuery {
  /**
   * The time-series writer handler, run in the worker; `onWritten` hears of each message it stored,
   * with the readings of `watchedReadings` (read at each batch: the registry can change) it carried.
   */
  writer(onWritten: (summary: WrittenSummary) => void, watchedReadings: () => WatchedReadings): KafkaHandler;
  /** Messages stored per device, derived from the points (see DuckDbTimeseriesStore.messageCounts). */
  messageCounts(deviceIds: readonly string[]): Promise<Map<string, number>>;
  /** Waits for the calls in flight, checkpoints and closes DuckDB, ends the thread. */
  close(): Promise<void>;
}

export async function startTimeseriesWorker(
  options: TimeseriesWorkerData,
  /** Where the worker's metrics (store write durations) are replayed. */
  metrics: MetricsRecorder = NO_METRICS,
): Promise<TimeseriesWorker> {
  const rpc = await startWorker(new URL('./worker.ts', import.meta.url), options, 'time-series worker');
  const call = <T>(request: TimeseriesRequest) => rpc.call<T>(request);
  return {
    // Not an async function: the event is copied to the worker at once, and an async function would
    // hold its (large) argument until the worker answers.
    writer: (onWritten, watchedReadings) => (event) =>
      call<WriteResult>({ op: 'write', event, watchedReadings: watchedReadings() }).then(
        ({ response, written, metrics: recorded }) => {
          replayMetrics(metrics, recorded);
          for (const summary of written) onWritten(summary);
          return response;
        },
      ),
    latest: (deviceId) => call<LatestValue[]>({ op: 'latest', deviceId }),
    series: (query: SeriesQuery) => call<RawPoint[]>({ op: 'series', query }),
    seriesPage: (query) => call<SeriesPage>({ op: 'seriesPage', query }),
    buckets: (query) => call<BucketPoint[]>({ op: 'buckets', query }),
    count: () => call<number>({ op: 'count' }),
    messageCounts: (deviceIds) => call<Map<string, number>>({ op: 'messageCounts', deviceIds }),
    close: () => rpc.close({ op: 'close' } satisfies TimeseriesRequest),
  };
}
