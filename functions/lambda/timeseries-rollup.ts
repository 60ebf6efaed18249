/**
 * Lambda entry: hourly rollups of the DynamoDB time-series sink (only where TIMESERIES_SINK is
 * `dynamodb`). An EventBridge schedule, recommended `cron(5 * * * ? *)` (five minutes past every hour,
 * so the last minutes' messages of the hour just closed are in), invokes it with a Scheduled Event;
 * it rolls up, for every device seen in the last 3 hours (a Scan of the devices table), the 2 hours
 * closed last and any hour of the past week whose rollup late data invalidated (ROLLUP_HOURS and
 * REPAIR_HOURS in functions/adapters/dynamodb/timeseries/rollup.ts).
 *
 * The job is an optimisation, never a source of truth: the query adapter computes any hour without a
 * valid rollup from its points. Each run is idempotent (a valid rollup is left alone), so the async
 * invocation's retries are harmless: a run with failed device-hours throws after doing all the others,
 * and the retry redoes only those.
 *
 * Event: the EventBridge "Scheduled Event" (`time` is the scheduled time; the run's clock is the
 * invocation's, so a retry an hour later rolls up the hours closed by then).
 *
 * Env vars read:
 *   TIMESERIES_POINTS_TABLE, TIMESERIES_ROLLUPS_TABLE   the sink's tables                 required
 *   DEVICES_TABLE                                       devices seen (lastSeen)           required
 *   AWS_REGION                                          set by Lambda                     required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL       optional
 * AWS resources and actions used:
 *   DynamoDB time-series points table: dynamodb:Query
 *   DynamoDB time-series rollups table: dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query
 *   DynamoDB devices table: dynamodb:Scan
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 * Timeout: a few minutes is ample (each device-hour is a GetItem, one Query of its points, a PutItem;
 * eight run at once); no VPC needed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import {
  DynamoTimeseriesRollups,
  type RollupRunSummary,
  timeseriesDocumentClient,
} from '../adapters/dynamodb/timeseries/index.js';
import { AWS_REGION_ENV, readTableNames, readTimeseriesTableNames } from './config.js';
import { requireEnv } from './environment.js';
import {
  createObservability,
  instrument,
  MetricUnit,
  type Observability,
  traceClient,
} from './observability.js';

export interface TimeseriesRollupLambdaOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tables: { readonly points: string; readonly rollups: string; readonly devices: string };
  readonly observability: Observability;
  readonly now?: () => number;
}

export function createTimeseriesRollupLambda(options: TimeseriesRollupLambdaOptions) {
  const { logger, metrics } = options.observability;
  const rollups = new DynamoTimeseriesRollups({
    client: options.client,
    tables: { points: options.tables.points, rollups: options.tables.rollups },
    devicesTable: options.tables.devices,
    ...(options.now ? { now: options.now } : {}),
  });
  return async (_event: ScheduledEvent): Promise<RollupRunSummary> => {
    const summary = await rollups.rollupDevicesSeen();
    metrics.addMetric('RollupDevices', MetricUnit.Count, summary.devices);
    metrics.addMetric('RollupsWritten', MetricUnit.Count, summary.written);
    metrics.addMetric('RollupsFailed', MetricUnit.Count, summary.failed.length);
    logger.info('rollups done', {
      devices: summary.devices,
      written: summary.written,
      unchanged: summary.unchanged,
    });
    if (summary.failed.length > 0) {
      logger.error('some rollups failed; the retry redoes them', { failed: summary.failed.slice(0, 20) });
      throw new Error(
        `${summary.failed.length} device-hour rollups failed (first: ${summary.failed[0]?.error})`,
      );
    }
    return summary;
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-timeseries-rollup');
const region = requireEnv(AWS_REGION_ENV);
const timeseriesTables = readTimeseriesTableNames(['timeseriesPoints', 'timeseriesRollups']);
const { devices } = readTableNames(['devices']);

export const handler: (event: ScheduledEvent, context?: Context) => Promise<RollupRunSummary> = instrument(
  observability,
  createTimeseriesRollupLambda({
    client: timeseriesDocumentClient(traceClient(observability, new DynamoDBClient({ region }))),
    tables: {
      points: timeseriesTables.timeseriesPoints,
      rollups: timeseriesTables.timeseriesRollups,
      devices,
    },
    observability,
  }),
);
