/**
 * Environment variable names the CDK stack sets on each Lambda and the Lambda entry points read: one
 * declaration so the two sides cannot drift. Append new names; keep each name's meaning stable.
 */
// Table names travel in TABLE_NAME_ENV (functions/shared/tables.ts), next to the table declarations.
export { TABLE_NAME_ENV, TIMESERIES_TABLE_NAME_ENV } from '../shared/tables.js';

export const ENV = {
  /** Comma-separated bootstrap brokers of the MSK cluster (IAM, port 9098). */
  kafkaBootstrapBrokers: 'KAFKA_BOOTSTRAP_BROKERS',
  /** The environment's time-series sink: `dynamodb` or `timestream` (functions/shared/timeseries-sink.ts). */
  timeseriesSink: 'TIMESERIES_SINK',
  /** Timestream database and table names (sink `timestream` only). */
  timestreamDatabase: 'TIMESTREAM_DATABASE',
  timestreamTable: 'TIMESTREAM_TABLE',
  /**
   * The account's Timestream ingest cell endpoint (https URL of the interface endpoint). Set for a
   * writer in isolated subnets: endpoint discovery's regional host is unreachable from there, and the
   * SDK skips discovery when it is given an endpoint.
   */
  timestreamIngestEndpoint: 'TIMESTREAM_INGEST_ENDPOINT',
  /** Seconds between registry re-reads in the enrich function (bounds how soon an edit applies). */
  registryRefreshSeconds: 'REGISTRY_REFRESH_SECONDS',
  /** The platform's version string, reported by /api/health. */
  platformVersion: 'PLATFORM_VERSION',
  /** Powertools: service name and metrics namespace. */
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Notifications (issue 15): the stack's SNS topic that `sns` channels publish to. */
  notificationTopicArn: 'NOTIFICATION_TOPIC_ARN',
  /** Data operations (issue 16): the data-ops function the API invokes (its name). */
  dataOpsFunctionName: 'DATA_OPS_FUNCTION_NAME',
  /** Data operations (issue 16): the bucket the Kafka mappings write on-failure records to (a redrive reads it). */
  failedRecordsBucket: 'FAILED_RECORDS_BUCKET',
} as const;

/** Reads a required variable; a missing one is a deployment bug, reported by name at cold start. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}
