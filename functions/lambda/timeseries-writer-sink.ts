/**
 * The time-series writer's sink (TIMESERIES_SINK), wired at cold start: the DynamoDB sink, built once,
 * or Timestream's client and table (its sink is built per batch, see timeseries-writer-lambda.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeviceTypeStore } from '../adapters/dynamodb/index.js';
import { DynamoTimeseriesSink, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import type { TimeseriesSink } from '../ports/timeseries.js';
import {
  readOptionalHttpsEndpoint,
  readRegistryRefreshMs,
  readTableNames,
  readTimeseriesSinkTables,
} from './config.js';
import { ENV, requireEnv } from './environment.js';
import { MetricUnit, type Observability, traceClient } from './observability.js';
import { Refreshing } from './support.js';

/** The Timestream sink, built per invocation (it collects that batch's rejected records). */
export interface TimestreamSinkDependencies {
  readonly timestream: Pick<TimestreamWriteClient, 'send'>;
  readonly database: string;
  readonly table: string;
  /** Device type -> the message tags it writes as dimensions. */
  readonly dimensions: () => Promise<ReadonlyMap<string, readonly string[]>>;
}

/** A sink that rejects nothing for good (the DynamoDB sink), built once at cold start. */
export interface ReadySinkDependencies {
  readonly sink: TimeseriesSink;
  /** Write units the sink consumed since the last call (reported as the TimeseriesWriteUnits metric). */
  readonly takeWriteUnits?: () => number;
}

/** What the entry gives the wiring: its Powertools, its region and its (traced) DynamoDB clients. */
export interface SinkWiring {
  readonly observability: Observability;
  readonly region: string;
  readonly dynamoClient: DynamoDBClient;
  readonly dynamo: DynamoDBDocumentClient;
}

/** The writer's DynamoDB sink, counting the write units it consumed. */
export function dynamoSink({ observability, dynamoClient }: SinkWiring): ReadySinkDependencies {
  let writeUnits = 0;
  const sink = new DynamoTimeseriesSink({
    client: timeseriesDocumentClient(dynamoClient),
    tables: readTimeseriesSinkTables(),
    // Measured, not estimated: the figure the cost model's write units per message can be checked against.
    onConsumedCapacity: ({ units }) => {
      writeUnits += units;
    },
    onUnstorableTime: (points) => {
      observability.metrics.addMetric('TimeseriesUnstorablePoints', MetricUnit.Count, points.length);
      observability.logger.warn('points with a time DynamoDB keys cannot hold were not stored', {
        deviceId: points[0]?.deviceId,
        time: points[0]?.time,
        points: points.length,
      });
    },
  });
  return {
    sink,
    takeWriteUnits: () => {
      const units = writeUnits;
      writeUnits = 0;
      return units;
    },
  };
}

/** The writer's Timestream table, with each device type's dimension tags (re-read like the registry). */
export function timestreamSink({ observability, region, dynamo }: SinkWiring): TimestreamSinkDependencies {
  const database = requireEnv(ENV.timestreamDatabase);
  const table = requireEnv(ENV.timestreamTable);
  // In isolated subnets the cell endpoint is given (discovery's regional host is unreachable there).
  const ingestEndpoint = readOptionalHttpsEndpoint(ENV.timestreamIngestEndpoint);
  const deviceTypes = new DynamoDeviceTypeStore({
    client: dynamo,
    tableName: readTableNames(['deviceTypes']).deviceTypes,
  });
  const dimensions = new Refreshing({
    load: async () =>
      new Map(
        (await deviceTypes.listDeviceTypes()).map((t) => [t.deviceType.typeId, t.deviceType.dimensions]),
      ),
    refreshMs: readRegistryRefreshMs(),
    onRefreshError: (error) =>
      observability.logger.warn('device type refresh failed; keeping the previous ones', {
        error: error as Error,
      }),
  });
  return {
    // Without an endpoint the SDK discovers the cell (DescribeEndpoints); with one it skips discovery.
    timestream: traceClient(
      observability,
      new TimestreamWriteClient({ region, ...(ingestEndpoint ? { endpoint: ingestEndpoint } : {}) }),
    ),
    database,
    table,
    dimensions: () => dimensions.current(),
  };
}
