/**
 * The no-data Lambda's composition (issue 15): every port of the no-data handler
 * (functions/handlers/no-data.ts) on its AWS adapter. The entry (no-data.ts) reads the configuration at
 * cold start (readNoDataReadings here for the time-series part) and calls createNoDataLambda.
 *
 * Reading-level rules (rule.path) need when each reading was last seen, which only the environment's
 * time-series sink knows:
 * - DynamoDB sink: its latest table keeps the newest value per reading; one Query per device of a type
 *   with such rules (DynamoLatestValues, the API's `latest` read).
 * - Timestream: a query per device per minute would be billed each time, so one query per type and run
 *   gives the newest time per device and reading over a bounded look-back (readingsSeen in
 *   functions/adapters/timestream/query.ts; the look-back: core readingsLookBack).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoRegistryStore,
} from '../adapters/dynamodb/index.js';
import { DynamoLatestValues, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import { TimestreamTimeseriesQuery } from '../adapters/timestream/query.js';
import type { CompiledRegistry } from '../core/registry.js';
import type { NoDataDependencies } from '../handlers/no-data.js';
import type { TableNames } from '../shared/tables.js';
import { readTimeseriesSink, readTimeseriesTableNames } from './config.js';
import { ENV, requireEnv } from './environment.js';
import { type Observability, traceClient } from './observability.js';
import { loadCompiledRegistry, Refreshing } from './support.js';

/** Where reading-level rules learn when each reading was last seen: the environment's sink. */
export type NoDataReadingsOptions =
  // client: a document client from `timeseriesDocumentClient` (the sink's number handling).
  | { readonly sink: 'dynamodb'; readonly client: DynamoDBDocumentClient; readonly latestTable: string }
  | { readonly sink: 'timestream'; readonly client: TimestreamQueryClient; database: string; table: string };

export interface NoDataLambdaOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly tables: Pick<TableNames, 'deviceTypes' | 'applications' | 'devices' | 'alerts'>;
  readonly readings: NoDataReadingsOptions;
  /** How long the compiled registry is kept before it is read again. */
  readonly registryRefreshMs: number;
  readonly observability: Observability;
  readonly now?: () => number;
}

export type NoDataLambdaDependencies = NoDataDependencies & {
  readonly registry: () => Promise<CompiledRegistry>;
};

/** The no-data handler's dependencies in AWS: every port on its AWS adapter. */
export function createNoDataLambdaDependencies(options: NoDataLambdaOptions): NoDataLambdaDependencies {
  const { dynamo, tables, observability } = options;
  const registryStore = new DynamoRegistryStore({ client: dynamo, tables });
  const registry = new Refreshing({
    load: () => loadCompiledRegistry(registryStore),
    refreshMs: options.registryRefreshMs,
    ...(options.now ? { now: options.now } : {}),
    onRefreshError: (error) =>
      observability.logger.warn('registry refresh failed; keeping the previous registry', {
        error: error as Error,
      }),
  });
  return {
    registry: () => registry.current(),
    devices: new DynamoDeviceStore({ client: dynamo, tableName: tables.devices }),
    ...readingsOf(options.readings, options.now),
    alertState: new DynamoAlertStateStore({ client: dynamo, tableName: tables.alerts }),
    alerts: new DynamoAlertStore({ client: dynamo, tableName: tables.alerts }),
    ...(options.now ? { now: options.now } : {}),
  };
}

function readingsOf(
  readings: NoDataReadingsOptions,
  now: (() => number) | undefined,
): Pick<NoDataDependencies, 'latest' | 'readingsSeen'> {
  if (readings.sink === 'dynamodb') {
    const latest = new DynamoLatestValues({
      client: readings.client,
      table: readings.latestTable,
      ...(now ? { now } : {}),
    });
    return { latest: (deviceId) => latest.latest(deviceId) };
  }
  const timestream = new TimestreamTimeseriesQuery({
    client: readings.client,
    database: readings.database,
    table: readings.table,
  });
  return { readingsSeen: (query) => timestream.readingsSeen(query) };
}

/** Cold start: the sink's reads from TIMESERIES_SINK and its variables, each missing one named. */
export function readNoDataReadings(wiring: {
  readonly observability: Observability;
  readonly region: string;
  readonly dynamoClient: DynamoDBClient;
}): NoDataReadingsOptions {
  if (readTimeseriesSink() === 'dynamodb') {
    return {
      sink: 'dynamodb',
      client: timeseriesDocumentClient(wiring.dynamoClient),
      latestTable: readTimeseriesTableNames(['timeseriesLatest']).timeseriesLatest,
    };
  }
  return {
    sink: 'timestream',
    client: traceClient(wiring.observability, new TimestreamQueryClient({ region: wiring.region })),
    database: requireEnv(ENV.timestreamDatabase),
    table: requireEnv(ENV.timestreamTable),
  };
}
