/**
 * The time-series sinks an environment can choose (`timeseries.sink` in cdk.json). One declaration for
 * the CDK config, the Lambda entries (env TIMESERIES_SINK) and the cost model.
 * - `dynamodb`: on-demand DynamoDB tables (TIMESERIES_TABLES); works in every account, no idle cost.
 * - `timestream`: Amazon Timestream for LiveAnalytics; only for accounts that used it before
 *   2025-06-20 (https://docs.aws.amazon.com/timestream/latest/developerguide/AmazonTimestreamForLiveAnalytics-availability-change.html).
 */
export const TIMESERIES_SINKS = ['dynamodb', 'timestream'] as const;
export type TimeseriesSinkName = (typeof TIMESERIES_SINKS)[number];
export const DEFAULT_TIMESERIES_SINK: TimeseriesSinkName = 'dynamodb';

export function isTimeseriesSinkName(value: unknown): value is TimeseriesSinkName {
  return typeof value === 'string' && (TIMESERIES_SINKS as readonly string[]).includes(value);
}
