/**
 * A time-series sink that measures its writes (iot_store_write_duration_seconds): wraps any sink, so
 * DuckDB, the DynamoDB sink and Timestream are timed the same way, in both runtimes.
 */

import type { EnrichedMessage } from '../core/contract/messages.js';
import type { TimeSeriesPoint } from '../core/timeseries.js';
import type { MessagePointKey, TimeseriesSink } from '../ports/timeseries.js';
import { type MetricsRecorder, recordStoreWrite } from '../shared/metrics.js';

export function timedSink(
  sink: TimeseriesSink,
  recorder: MetricsRecorder,
  store: string,
  now: () => number = performance.now.bind(performance),
): TimeseriesSink {
  const timed = <T>(write: () => Promise<T>): Promise<T> => {
    const started = now();
    // Failed writes are timed too: a store that times out is what the histogram should show.
    return write().finally(() => recordStoreWrite(recorder, store, now() - started));
  };
  const wrapped: TimeseriesSink = {
    write: (points: readonly TimeSeriesPoint[], messages: readonly EnrichedMessage[]) =>
      timed(() => sink.write(points, messages)),
  };
  // Optional in the port (a replay's rewrite, issue 16): offered only where the wrapped sink has it.
  const { rewrite } = sink;
  if (rewrite) {
    wrapped.rewrite = (
      points: readonly TimeSeriesPoint[],
      messages: readonly MessagePointKey[],
      enriched?: readonly EnrichedMessage[],
    ) => timed(() => rewrite.call(sink, points, messages, enriched));
  }
  return wrapped;
}
