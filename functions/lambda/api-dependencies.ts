/**
 * The API Lambda's composition: every port of the API handler (functions/handlers/api.ts) on its AWS
 * adapter. The entry (api.ts) reads the configuration at cold start and calls createApiLambda.
 */
import type { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoIngestMappingStore,
  DynamoMessageSampleStore,
  DynamoRegistryStore,
} from '../adapters/dynamodb/index.js';
import { type ApiDependencies, createApiHandler, deviceSummaries } from '../handlers/api.js';
import type { TimeseriesQuery } from '../ports/timeseries.js';
import type { TableNames } from '../shared/tables.js';
import { type ApiDataOpsOptions, dataOpsRoutes, notificationRoutes } from './api-feature-routes.js';
import { cachedRegistry, pipelineStats, registryHealth, timestreamReads } from './api-wiring.js';
import { instrument, type Observability } from './observability.js';

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
  /** Data operations (issue 16); left out, their routes answer 503. */
  readonly dataOps?: ApiDataOpsOptions;
}

/** The API's dependencies in AWS: every port on its AWS adapter. */
export function createApiLambdaDependencies(options: ApiLambdaOptions): ApiDependencies {
  const { dynamo, tables, observability } = options;
  const now = options.now ?? Date.now;
  const registry = new DynamoRegistryStore({ client: dynamo, tables, now });
  const devices = new DynamoDeviceStore({ client: dynamo, tableName: tables.devices });
  const samples = new DynamoMessageSampleStore({ client: dynamo, tableName: tables.messages });
  const cached = cachedRegistry(registry, options.registryRefreshMs, now, observability);

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
    alerts: new DynamoAlertStore({ client: dynamo, tableName: tables.alerts, now }),
    // ----- data operations (issue 16): through the data-ops function in the VPC -----------------
    ...(options.dataOps ? { dataOps: dataOpsRoutes(options.dataOps, dynamo, devices, now) } : {}),
    auth: { mode: 'jwt' },
    now,
    devices: deviceSummaries(
      devices,
      async (typeId) => (await cached.types()).get(typeId)?.updateFrequencySeconds,
      now,
    ),
    timeseries: 'timeseries' in options ? options.timeseries : timestreamReads(options, cached.types),
    messages: { recent: (stage, query) => samples.recent(stage, query) },
    // Issue 14: dry runs compile the registry as the enrich Lambda does (same loader, same refresh
    // period) and only read the alert condition state (a Query on the alerts table, already granted).
    preview: {
      registry: cached.compiled,
      alertState: new DynamoAlertStateStore({ client: dynamo, tableName: tables.alerts }),
    },
    stats: pipelineStats(
      { client: dynamo, statsTable: tables.pipelineStats, devicesTable: tables.devices, now },
      async () => [...(await cached.types()).keys()],
    ),
    health: registryHealth(registry, observability),
    onError: (error, route) => observability.logger.error(`unhandled error on ${route}`, error as Error),
    notifications: notificationRoutes(dynamo, tables.notifications, now),
  };
}

export function createApiLambda(options: ApiLambdaOptions) {
  return instrument(options.observability, createApiHandler(createApiLambdaDependencies(options)));
}
