/**
 * Lambda entry: the HTTP API (its composition: api-dependencies.ts). API Gateway HTTP API (payload
 * 2.0) -> the shared handler (functions/handlers/api.ts) over the DynamoDB stores, the environment's
 * time-series sink for telemetry reads (TIMESERIES_SINK, read at cold start: the DynamoDB sink's tables
 * or Timestream) and the pipeline-stats table for /api/stats. Write routes (API_ROUTES `write: true`) sit behind API
 * Gateway's Cognito JWT authorizer; the handler also refuses a write without verified claims.
 *
 * Env vars read:
 *   DEVICE_TYPES_TABLE, APPLICATIONS_TABLE, DEVICES_TABLE, MESSAGES_TABLE, ALERTS_TABLE,
 *   PIPELINE_STATS_TABLE, NOTIFICATIONS_TABLE, INGEST_MAPPINGS_TABLE   table names         required
 *   TIMESERIES_SINK           dynamodb | timestream                                        required
 *   with dynamodb: TIMESERIES_POINTS_TABLE, TIMESERIES_LATEST_TABLE, TIMESERIES_ROLLUPS_TABLE required
 *   with timestream: TIMESTREAM_DATABASE, TIMESTREAM_TABLE   the telemetry table          required
 *   PLATFORM_VERSION          reported by /api/health and the OpenAPI document            required
 *   REGISTRY_REFRESH_SECONDS  re-read period of the types (device status, dimensions) and of
 *                             the compiled registry the previews run on                   optional
 *   DATA_OPS_FUNCTION_NAME, OPERATIONS_TABLE   data operations (issue 16): the function the
 *                             routes invoke and the table their progress is read from      required
 *   AWS_REGION                set by Lambda                                               required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL         optional
 * AWS resources and actions used:
 *   DynamoDB device types table: dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem, dynamodb:Scan
 *   DynamoDB applications table: dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem,
 *     dynamodb:Scan, dynamodb:BatchGetItem, dynamodb:BatchWriteItem; its index byDeviceType: dynamodb:Query
 *   DynamoDB devices table: dynamodb:GetItem, dynamodb:Scan; its index byTypeLastSeen: dynamodb:Query
 *   DynamoDB messages table and its index byDevice: dynamodb:Query
 *   DynamoDB alerts table and its indexes byRaisedAt, bySeverity: dynamodb:Query (the table: alerts,
 *     and the alert condition state the previews read); the table: dynamodb:GetItem,
 *     dynamodb:PutItem, dynamodb:UpdateItem (issue 15: acknowledge, operator clear)
 *   DynamoDB pipeline stats table: dynamodb:Query
 *   DynamoDB notifications table: dynamodb:GetItem, PutItem, DeleteItem, Query, BatchWriteItem
 *   DNS: resolves notification channel URLs at PUT (the SSRF check, strict policy)
 *   DynamoDB ingest mappings table: dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem, dynamodb:Scan
 *   with dynamodb: time-series points table, latest table and rollups table: dynamodb:Query (each)
 *   with timestream: timestream:Select on the telemetry table; timestream:DescribeEndpoints
 *     (resource *, the SDK's endpoint discovery)
 *   Data operations (issue 16): lambda:InvokeFunction on the data-ops function; DynamoDB operations
 *     table: dynamodb:GetItem (progress, and the replay lock for the 409); the devices table's
 *     dynamodb:GetItem above resolves a device replay's type
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { documentClient } from '../adapters/dynamodb/index.js';
import { DynamoTimeseriesQuery, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import { type ApiTimeseriesOptions, createApiLambda } from './api-dependencies.js';
import {
  AWS_REGION_ENV,
  readRegistryRefreshMs,
  readTableNames,
  readTimeseriesSink,
  readTimeseriesSinkTables,
} from './config.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, traceClient } from './observability.js';

// The composition lives in api-dependencies.ts; re-exported here, where the tests import it.
export {
  type ApiLambdaOptions,
  type ApiTimeseriesOptions,
  createApiLambda,
  createApiLambdaDependencies,
} from './api-dependencies.js';

// Cold start: configuration read once, each missing variable reported by name.
const observability = createObservability('iot-cloud-api');
const region = requireEnv(AWS_REGION_ENV);
const dynamoClient = traceClient(observability, new DynamoDBClient({ region }));

function timeseriesReads(): ApiTimeseriesOptions {
  if (readTimeseriesSink() === 'dynamodb') {
    const client = timeseriesDocumentClient(dynamoClient);
    return { timeseries: new DynamoTimeseriesQuery({ client, tables: readTimeseriesSinkTables() }) };
  }
  return {
    timestream: traceClient(observability, new TimestreamQueryClient({ region })),
    timestreamDatabase: requireEnv(ENV.timestreamDatabase),
    timestreamTable: requireEnv(ENV.timestreamTable),
  };
}

export const handler: (
  event: APIGatewayProxyEventV2,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2> = createApiLambda({
  dynamo: documentClient(dynamoClient),
  ...timeseriesReads(),
  tables: readTableNames([
    'deviceTypes',
    'applications',
    'devices',
    'messages',
    'alerts',
    'pipelineStats',
    'notifications',
    'ingestMappings',
  ]),
  version: requireEnv(ENV.platformVersion),
  registryRefreshMs: readRegistryRefreshMs(),
  observability,
  dataOps: {
    lambda: traceClient(observability, new LambdaClient({ region })),
    functionName: requireEnv(ENV.dataOpsFunctionName),
    operationsTable: readTableNames(['operations']).operations,
  },
});
