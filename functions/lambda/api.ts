/**
 * Lambda entry: the HTTP API. API Gateway HTTP API (payload 2.0) -> the shared handler
 * (functions/handlers/api.ts) over the DynamoDB stores, the environment's time-series sink for
 * telemetry reads (TIMESERIES_SINK, read at cold start: the DynamoDB sink's tables or Timestream) and
 * the pipeline-stats table for /api/stats. Write routes (API_ROUTES `write: true`) sit behind API
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
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoIngestMappingStore,
  DynamoMessageSampleStore,
  DynamoRegistryStore,
  documentClient,
} from '../adapters/dynamodb/index.js';
import { DynamoNotificationChannelStore } from '../adapters/dynamodb/notification-channels.js';
import { DynamoOperationStore } from '../adapters/dynamodb/operations.js';
import {
  DynamoPipelineStatsStore,
  devicesSeenFromDevicesTable,
} from '../adapters/dynamodb/pipeline-stats.js';
import { DynamoTimeseriesQuery, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import { checkTarget } from '../adapters/notifications/guarded-http.js';
import { TimestreamTimeseriesQuery } from '../adapters/timestream/query.js';
import type { DeviceType } from '../core/contract/registry.js';
import { STRICT_URL_POLICY } from '../core/url-policy.js';
import { type ApiDependencies, createApiHandler, toDeviceSummary } from '../handlers/api.js';
import type { TimeseriesQuery } from '../ports/timeseries.js';
import type { TableNames } from '../shared/tables.js';
import {
  AWS_REGION_ENV,
  readRegistryRefreshMs,
  readTableNames,
  readTimeseriesSink,
  readTimeseriesTableNames,
} from './config.js';
import { invokedDataOps } from './data-ops-invocation.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, instrument, type Observability, traceClient } from './observability.js';
import { loadCompiledRegistry, Refreshing } from './support.js';

/** Reporting interval assumed for a device whose type is not (or no longer) registered. */
const DEFAULT_REPORTING_INTERVAL_MS = 60_000;

/** Telemetry reads: Timestream (the query adapter is built here), or a ready port (the DynamoDB sink's). */
export type ApiTimeseriesOptions =
  | {
      readonly timestream: TimestreamQueryClient;
      readonly timestreamDatabase: string;
      readonly timestreamTable: string;
    }
  | { readonly timeseries: TimeseriesQuery };

export type ApiLambdaOptions = ApiBaseOptions & ApiTimeseriesOptions;

interface ApiBaseOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly tables: Pick<
    TableNames,
    'deviceTypes' | 'applications' | 'devices' | 'messages' | 'alerts' | 'pipelineStats' | 'notifications'
  > &
    // Ingest mappings (issue 14); left out, their routes answer 503.
    Partial<Pick<TableNames, 'ingestMappings'>>;
  readonly version: string;
  readonly observability: Observability;
  /** How long the registered types are cached (device status and dimension names). */
  readonly registryRefreshMs: number;
  readonly now?: () => number;
  /**
   * Data operations (issue 16): the data-ops function (invoked) and the operations table (read); left
   * out, their routes answer 503.
   */
  readonly dataOps?: {
    readonly lambda: Pick<LambdaClient, 'send'>;
    readonly functionName: string;
    readonly operationsTable: string;
  };
}

/** The API's dependencies in AWS: every port on its AWS adapter. */
export function createApiLambdaDependencies(options: ApiLambdaOptions): ApiDependencies {
  const { dynamo, tables } = options;
  const now = options.now ?? Date.now;
  const registry = new DynamoRegistryStore({ client: dynamo, tables, now });
  const devices = new DynamoDeviceStore({ client: dynamo, tableName: tables.devices });
  const samples = new DynamoMessageSampleStore({ client: dynamo, tableName: tables.messages });
  const alerts = new DynamoAlertStore({ client: dynamo, tableName: tables.alerts, now });
  const stats = new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats, now });
  // The registered types, cached like enrichment's registry: device status needs their reporting
  // intervals, `latest` their dimension names.
  const types = new Refreshing<Map<string, DeviceType>>({
    load: async () =>
      new Map((await registry.listDeviceTypes()).map((r) => [r.deviceType.typeId, r.deviceType])),
    refreshMs: options.registryRefreshMs,
    now,
    onRefreshError: (error) =>
      options.observability.logger.warn('registry refresh failed, keeping the previous types', {
        error: String(error),
      }),
  });
  const compiledRegistry = new Refreshing({
    load: () => loadCompiledRegistry(registry),
    refreshMs: options.registryRefreshMs,
    now,
    onRefreshError: (error) =>
      options.observability.logger.warn('registry refresh failed, keeping the previous registry', {
        error: String(error),
      }),
  });
  const reportingIntervalMs = async (typeId: string) =>
    ((await types.current()).get(typeId)?.updateFrequencySeconds ?? DEFAULT_REPORTING_INTERVAL_MS / 1000) *
    1000;
  const summary = async (record: Parameters<typeof toDeviceSummary>[0]) =>
    toDeviceSummary(record, await reportingIntervalMs(record.deviceType), now());

  const devicesSeen = devicesSeenFromDevicesTable({
    client: dynamo,
    tableName: tables.devices,
    deviceTypes: async () => [...(await types.current()).keys()],
  });

  return {
    version: options.version,
    registry,
    ...(tables.ingestMappings
      ? {
          ingestMappings: new DynamoIngestMappingStore({
            client: dynamo,
            tableName: tables.ingestMappings,
            now,
          }),
        }
      : {}),
    alerts,
    // ----- data operations (issue 16): through the data-ops function in the VPC -----------------
    ...(options.dataOps ? { dataOps: dataOpsRoutes(options.dataOps, dynamo, devices, now) } : {}),
    auth: { mode: 'jwt' },
    now,
    devices: deviceRoutes(devices, summary),
    timeseries:
      'timeseries' in options
        ? options.timeseries
        : new TimestreamTimeseriesQuery({
            client: options.timestream,
            database: options.timestreamDatabase,
            table: options.timestreamTable,
            dimensionNames: async () => [
              ...new Set([...(await types.current()).values()].flatMap((t) => t.dimensions)),
            ],
          }),
    messages: { recent: (stage, query) => samples.recent(stage, query) },
    // Issue 14: dry runs compile the registry as the enrich Lambda does (same loader, same refresh
    // period) and only read the alert condition state (a Query on the alerts table, already granted).
    preview: {
      registry: () => compiledRegistry.current(),
      alertState: new DynamoAlertStateStore({ client: dynamo, tableName: tables.alerts }),
    },
    // Measured per-minute counters written by the bridge, enrich and time-series writer functions,
    // latency percentiles at the histogram's bucket resolution. Consumer lag and stored points are
    // not measured here in AWS (MSK's and Timestream's own metrics show them), so they are left out.
    stats: async (windowMinutes) => {
      const [snapshot, latencyMs] = await Promise.all([
        stats.snapshot(windowMinutes, devicesSeen),
        stats.latency(windowMinutes),
      ]);
      return { ...snapshot, pipeline: { latencyMs } };
    },
    health: registryHealth(registry, options.observability),
    onError: (error, route) =>
      options.observability.logger.error(`unhandled error on ${route}`, error as Error),
    notifications: notificationRoutes(dynamo, tables.notifications, now),
  };
}

/**
 * Notification channels (issue 15): AWS refuses http and private addresses; the stack always owns the
 * topic sns channels publish to (infra/lib/constructs/notifications.ts).
 */
function notificationRoutes(
  dynamo: ApiLambdaOptions['dynamo'],
  tableName: string,
  now: () => number,
): NonNullable<ApiDependencies['notifications']> {
  return {
    store: new DynamoNotificationChannelStore({ client: dynamo, tableName, now }),
    checkUrl: async (url) => {
      await checkTarget(url, STRICT_URL_POLICY);
    },
    snsAvailable: true,
  };
}

/** Triage, redrive and replay, run by the data-ops function (it reaches MSK; this one does not). */
function dataOpsRoutes(
  dataOps: NonNullable<ApiLambdaOptions['dataOps']>,
  dynamo: ApiLambdaOptions['dynamo'],
  devices: DynamoDeviceStore,
  now: () => number,
) {
  return invokedDataOps({
    lambda: dataOps.lambda,
    functionName: dataOps.functionName,
    operations: new DynamoOperationStore({
      client: dynamo,
      tableName: dataOps.operationsTable,
      // The API only reads: the lease is the writer's (functions/lambda/data-ops.ts).
      replayLeaseMs: 0,
      now,
    }),
    deviceTypeOf: async (deviceId) => (await devices.getDevice(deviceId))?.deviceType,
    now,
  });
}

/** The device routes: each record as a summary with its status. */
function deviceRoutes(
  devices: DynamoDeviceStore,
  summary: (record: Parameters<typeof toDeviceSummary>[0]) => Promise<ReturnType<typeof toDeviceSummary>>,
): ApiDependencies['devices'] {
  return {
    list: async (query) => {
      const page = await devices.listDevices(query);
      return {
        items: await Promise.all(page.items.map(summary)),
        ...(page.nextCursor ? { cursor: page.nextCursor } : {}),
      };
    },
    get: async (deviceId) => {
      const device = await devices.getDevice(deviceId);
      return device ? summary(device) : undefined;
    },
  };
}

/** Health in AWS: the registry table answers a read. */
function registryHealth(
  registry: DynamoRegistryStore,
  observability: Observability,
): ApiDependencies['health'] {
  return async () => {
    try {
      await registry.getDeviceType('health_probe');
      return { registry: 'ok' };
    } catch (error) {
      observability.logger.error('health: the registry table is not readable', error as Error);
      return { registry: 'degraded' };
    }
  };
}

export function createApiLambda(options: ApiLambdaOptions) {
  return instrument(options.observability, createApiHandler(createApiLambdaDependencies(options)));
}

// ---------------------------------------------------------------------------------------------------
// Cold start: configuration read once, each missing variable reported by name.

const observability = createObservability('iot-cloud-api');
const region = requireEnv(AWS_REGION_ENV);
const dynamoClient = traceClient(observability, new DynamoDBClient({ region }));

function timeseriesReads(): ApiTimeseriesOptions {
  if (readTimeseriesSink() === 'dynamodb') {
    const names = readTimeseriesTableNames(['timeseriesPoints', 'timeseriesLatest', 'timeseriesRollups']);
    return {
      timeseries: new DynamoTimeseriesQuery({
        client: timeseriesDocumentClient(dynamoClient),
        tables: {
          points: names.timeseriesPoints,
          latest: names.timeseriesLatest,
          rollups: names.timeseriesRollups,
        },
      }),
    };
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
