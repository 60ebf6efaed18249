/** The local time-series store (DuckDB): the TimeseriesSink and TimeseriesQuery ports of local mode. */
export {
  DuckDbTimeseriesStore,
  type DuckDbTimeseriesStoreOptions,
  MAX_POINTS_PER_TRANSACTION,
  MAX_QUERY_LIMIT,
  MEASURE_PATTERN,
  MIN_BUCKET_MS,
} from './duckdb-store.js';
export { DEFAULT_LOCAL_ROLLUP_INTERVAL_MS, startDynamoTimeseries } from './dynamodb-timeseries.js';
export { startTimeseriesWorker, type TimeseriesWorker } from './worker-host.js';
export type { WrittenSummary } from './worker-protocol.js';
