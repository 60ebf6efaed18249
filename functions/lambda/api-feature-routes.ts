/**
 * The API Lambda's feature routes that reach beyond its tables (wired by api-dependencies.ts):
 * notification channels (issue 15), whose URLs are checked against the strict policy, and data
 * operations (issue 16), run by the data-ops function.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDeviceStore } from '../adapters/dynamodb/index.js';
import { DynamoNotificationChannelStore } from '../adapters/dynamodb/notification-channels.js';
import { DynamoOperationStore } from '../adapters/dynamodb/operations.js';
import { checkTarget } from '../adapters/notifications/guarded-http.js';
import { STRICT_URL_POLICY } from '../core/url-policy.js';
import type { ApiDependencies } from '../handlers/api.js';
import { invokedDataOps } from './data-ops-invocation.js';

/** Data operations (issue 16): the data-ops function (invoked) and the operations table (read). */
export interface ApiDataOpsOptions {
  readonly lambda: Pick<LambdaClient, 'send'>;
  readonly functionName: string;
  readonly operationsTable: string;
}

/**
 * Notification channels (issue 15): AWS refuses http and private addresses; the stack always owns the
 * topic sns channels publish to (infra/lib/constructs/notifications.ts).
 */
export function notificationRoutes(
  dynamo: DynamoDBDocumentClient,
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
export function dataOpsRoutes(
  dataOps: ApiDataOpsOptions,
  dynamo: DynamoDBDocumentClient,
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
