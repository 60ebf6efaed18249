/**
 * The no-data Lambda's composition (issue 15): every port of the no-data handler
 * (functions/handlers/no-data.ts) on its DynamoDB adapter. The entry (no-data.ts) reads the
 * configuration at cold start and calls createNoDataLambda with these; the tests compose the same
 * over dynalite.
 *
 * Reading-level rules (rule.path) need no read of their own: the enrich stage's bookkeeping records
 * each watched reading's last-seen time on the device record (batch-bookkeeping.ts), and the handler
 * lists those records anyway. The same for both time-series sinks, and the same as locally.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoRegistryStore,
} from '../adapters/dynamodb/index.js';
import type { CompiledRegistry } from '../core/registry.js';
import type { NoDataDependencies } from '../handlers/no-data.js';
import type { TableNames } from '../shared/tables.js';
import type { Observability } from './observability.js';
import { loadCompiledRegistry, Refreshing } from './support.js';

export interface NoDataLambdaOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly tables: Pick<TableNames, 'deviceTypes' | 'applications' | 'devices' | 'alerts'>;
  /** How long the compiled registry is kept before it is read again. */
  readonly registryRefreshMs: number;
  readonly observability: Observability;
  readonly now?: () => number;
}

export type NoDataLambdaDependencies = NoDataDependencies & {
  readonly registry: () => Promise<CompiledRegistry>;
};

/** The no-data handler's dependencies in AWS: every port on its DynamoDB adapter. */
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
    alertState: new DynamoAlertStateStore({ client: dynamo, tableName: tables.alerts }),
    alerts: new DynamoAlertStore({ client: dynamo, tableName: tables.alerts }),
    ...(options.now ? { now: options.now } : {}),
  };
}
