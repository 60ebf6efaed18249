/** The DynamoDB time-series sink: writer, query adapter and hourly rollups (README.md here). */
export {
  DEFAULT_RETENTION_DAYS,
  HOUR_MS,
  type TimeseriesTableNamesOf,
  timeseriesDocumentClient,
} from './layout.js';
export {
  DynamoTimeseriesQuery,
  type DynamoTimeseriesQueryOptions,
  InvalidTimeseriesQuery,
  MAX_QUERY_POINTS,
} from './query.js';
export {
  DynamoTimeseriesRollups,
  devicesSeenSince,
  REPAIR_HOURS,
  ROLLUP_HOURS,
  type RollupOptions,
  type RollupRunSummary,
} from './rollup.js';
export { type ConsumedCapacity, DynamoTimeseriesSink, type DynamoTimeseriesSinkOptions } from './sink.js';
