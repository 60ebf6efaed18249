/**
 * Lambda entry: the no-data evaluator (issue 15). An EventBridge Scheduler schedule invokes it once a
 * minute (the finest rate it offers; the evaluation window of functions/core/no-data.ts); it runs the
 * shared handler (functions/handlers/no-data.ts) over the devices' last-seen records of every type
 * with no-data rules, raising and clearing through the alert condition state, and stores the events
 * in the alerts table (whose stream feeds the notifier). A retried or overlapping invocation in the
 * same window changes nothing (idempotent per window).
 *
 * Reading-level no-data rules (`path`) compare, here, the device's last-seen time: the newest value
 * per reading lives in the environment's time-series sink, which this function does not read yet
 * (locally the runtime passes the time-series store's latest values).
 *
 * Env vars read:
 *   DEVICE_TYPES_TABLE, APPLICATIONS_TABLE, DEVICES_TABLE, ALERTS_TABLE   table names          required
 *   REGISTRY_REFRESH_SECONDS  registry re-read period, 1-3600, default 60                    optional
 *   AWS_REGION                set by Lambda                                                 required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL           optional
 * AWS resources and actions used:
 *   DynamoDB device types and applications tables: dynamodb:Scan, dynamodb:GetItem, dynamodb:Query
 *   DynamoDB devices table: dynamodb:Scan; its index byTypeLastSeen: dynamodb:Query
 *   DynamoDB alerts table: dynamodb:Query, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 * No VPC: it talks to DynamoDB only.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoRegistryStore,
  documentClient,
} from '../adapters/dynamodb/index.js';
import type { CompiledRegistry } from '../core/registry.js';
import { createNoDataHandler, type NoDataDependencies, type NoDataRunSummary } from '../handlers/no-data.js';
import { AWS_REGION_ENV, readRegistryRefreshMs, readTableNames } from './config.js';
import { requireEnv } from './environment.js';
import {
  createObservability,
  instrument,
  MetricUnit,
  type Observability,
  traceClient,
} from './observability.js';
import { loadCompiledRegistry, Refreshing } from './support.js';

export function createNoDataLambda(
  dependencies: Omit<NoDataDependencies, 'registry'> & {
    readonly registry: () => Promise<CompiledRegistry>;
    readonly observability: Observability;
  },
) {
  const { logger, metrics } = dependencies.observability;
  const run = createNoDataHandler(dependencies);
  return async (_event: ScheduledEvent): Promise<NoDataRunSummary> => {
    const summary = await run();
    metrics.addMetric('NoDataDevices', MetricUnit.Count, summary.devices);
    metrics.addMetric('NoDataRaised', MetricUnit.Count, summary.raised);
    metrics.addMetric('NoDataCleared', MetricUnit.Count, summary.cleared);
    logger.info('no-data evaluation done', { ...summary });
    return summary;
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-no-data');
const region = requireEnv(AWS_REGION_ENV);
const tables = readTableNames(['deviceTypes', 'applications', 'devices', 'alerts']);
const dynamo = documentClient(traceClient(observability, new DynamoDBClient({ region })));
const registryStore = new DynamoRegistryStore({ client: dynamo, tables });
const registry = new Refreshing({
  load: () => loadCompiledRegistry(registryStore),
  refreshMs: readRegistryRefreshMs(),
  onRefreshError: (error) =>
    observability.logger.warn('registry refresh failed; keeping the previous registry', {
      error: error as Error,
    }),
});

export const handler: (event: ScheduledEvent, context?: Context) => Promise<NoDataRunSummary> = instrument(
  observability,
  createNoDataLambda({
    registry: () => registry.current(),
    devices: new DynamoDeviceStore({ client: dynamo, tableName: tables.devices }),
    alertState: new DynamoAlertStateStore({ client: dynamo, tableName: tables.alerts }),
    alerts: new DynamoAlertStore({ client: dynamo, tableName: tables.alerts }),
    observability,
  }),
);
