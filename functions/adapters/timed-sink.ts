/**
 * A time-series sink that measures its writes (iot_store_write_duration_seconds): wraps any sink, so
 * DuckDB, the DynamoDB sink and Timestream are timed the same way, in both runtimes.
 */

import type { EnrichedMessage } from '../core/contract/messages.js';
import type { TimeSeriesPoint } from '../core/timeseries.js';
import type { TimeseriesSink } from '../ports/timeseries.js';
import { type MetricsRecorder, recordStoreWrite } from '../shared/metrics.js';

export function timedSink(
  sink: TimeseriesSink,
  recorder: MetricsRecorder,
  store: string,
  now: () => number = performance.now.bind(performance),
): TimeseriesSink {
  return {
    write(points: readonly TimeSeriesPoint[], messages: readonly EnrichedMessage[]): Promise<void> {
      const started = now();
      // Failed writes are timed too: a store that times out is what the histogram should show.
      return sink.write(points, messages).finally(() => recordStoreWrite(recorder, store, now() - started));
    },
  };
}
