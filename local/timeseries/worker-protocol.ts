/** Requests from the pipeline thread to the time-series worker (worker.ts). */

import type { WatchedReadings } from '../../functions/core/no-data.js';
import type { KafkaBatchResponse, KafkaEvent } from '../../functions/ports/stream.js';
import type { SeriesQuery } from '../../functions/ports/timeseries.js';
import type { RecordedMetric } from '../metrics/worker-buffer.js';

export interface TimeseriesWorkerData {
  /** A DuckDB file, or ':memory:'. */
  readonly path: string;
}

/** What the runtime needs to know of each enriched message written. */
export interface WrittenSummary {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Epoch ms the platform received the message. */
  readonly receivedAt: number;
  /** Telemetry: device timestamp -> points committed, ms. */
  readonly latencyMs?: number;
  /** Status messages: what the device said. */
  readonly online?: boolean;
  /** Issue 15: the watched readings the message carried (watchedReadingsIn), for the device record. */
  readonly readings?: readonly string[];
}

export interface WriteResult {
  readonly response: KafkaBatchResponse;
  readonly written: readonly WrittenSummary[];
  /** Metrics the worker recorded since its last reply (replayed into the main thread's registry). */
  readonly metrics?: readonly RecordedMetric[];
}

export type TimeseriesRequest =
  // watchedReadings: the registry's (issue 15), which the worker does not hold.
  | { readonly op: 'write'; readonly event: KafkaEvent; readonly watchedReadings: WatchedReadings }
  | { readonly op: 'latest'; readonly deviceId: string }
  | { readonly op: 'series'; readonly query: SeriesQuery }
  | { readonly op: 'seriesPage'; readonly query: SeriesQuery }
  | { readonly op: 'buckets'; readonly query: SeriesQuery & { readonly bucketMs: number } }
  | { readonly op: 'count' }
  | { readonly op: 'messageCounts'; readonly deviceIds: readonly string[] }
  | { readonly op: 'close' };
