/**
 * Lambda entry: the no-data evaluator (issue 15). An EventBridge Scheduler schedule invokes it once a
 * minute (the finest rate it offers; the evaluation window of functions/core/no-data.ts); it runs the
 * shared handler (functions/handlers/no-data.ts) over the devices' last-seen records of every type
 * with no-data rules, raising and clearing through the alert condition state, and stores the events
 * in the alerts table (whose stream feeds the notifier). A retried or overlapping invocation in the
 * same window changes nothing (idempotent per window).
 *
 * Reading-level no-data rules (`path`) compare when that reading was last seen, which the device
 * record holds (the enrich stage records it for every reading a no-data rule watches): no read beyond
 * the device list, whatever the time-series sink (no-data-dependencies.ts).
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
import { documentClient } from '../adapters/dynamodb/index.js';
import { createNoDataHandler, type NoDataRunSummary } from '../handlers/no-data.js';
import { AWS_REGION_ENV, readRegistryRefreshMs, readTableNames } from './config.js';
import { requireEnv } from './environment.js';
import { createNoDataLambdaDependencies, type NoDataLambdaDependencies } from './no-data-dependencies.js';
import {
  createObservability,
  instrument,
  MetricUnit,
  type Observability,
  traceClient,
} from './observability.js';

export function createNoDataLambda(
  dependencies: NoDataLambdaDependencies & { readonly observability: Observability },
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

// Composition root (no-data-dependencies.ts): read at cold start (a missing variable fails the init,
// naming it), reused warm.
const observability = createObservability('iot-cloud-no-data');
const region = requireEnv(AWS_REGION_ENV);

export const handler: (event: ScheduledEvent, context?: Context) => Promise<NoDataRunSummary> = instrument(
  observability,
  createNoDataLambda({
    ...createNoDataLambdaDependencies({
      dynamo: documentClient(traceClient(observability, new DynamoDBClient({ region }))),
      tables: readTableNames(['deviceTypes', 'applications', 'devices', 'alerts']),
      registryRefreshMs: readRegistryRefreshMs(),
      observability,
    }),
    observability,
  }),
);
