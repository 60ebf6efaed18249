/**
 * Lambda entry: the notifier (issue 15). The alerts table's DynamoDB stream -> the shared notifier
 * (functions/handlers/notifier.ts) -> webhook, Slack and SNS channels. Outside the VPC: webhooks and
 * Slack are on the internet, and every URL is checked against server-side request forgery with the
 * strict policy (https, public addresses only, the checked address pinned for the connection).
 *
 * Event: DynamoDB Streams records (NEW_IMAGE). The event source mapping's filter passes only INSERTs
 * of alert items (they carry `alertId` and `body`); MODIFY (acknowledgements, lifecycle attributes),
 * REMOVE (TTL) and the claim and state items never invoke it. The handler checks the same again.
 * A batch fails only when a delivery outcome cannot be recorded; the mapping then retries it (bisecting),
 * and gives up to its on-failure queue after its bounded retries (infra/lib/constructs/notifications.ts).
 *
 * Env vars read:
 *   NOTIFICATIONS_TABLE       channels and deliveries                                     required
 *   NOTIFICATION_TOPIC_ARN    the stack's topic for sns channels                           required
 *   AWS_REGION                set by Lambda                                                required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL          optional
 * AWS resources and actions used:
 *   DynamoDB notifications table: dynamodb:Query (the channels), dynamodb:PutItem (deliveries)
 *   DynamoDB alerts table's stream: dynamodb:DescribeStream, GetRecords, GetShardIterator, ListStreams
 *     (the event source mapping's, granted by CDK)
 *   SNS the stack's notification topic: sns:Publish (and kms:GenerateDataKey/Decrypt on its key)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 * Metrics (EMF, namespace POWERTOOLS_METRICS_NAMESPACE): iot_notification_deliveries_total and
 * iot_notification_failures_total, per finished delivery, as declared in functions/shared/metrics.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { documentClient } from '../adapters/dynamodb/index.js';
import { DynamoNotificationChannelStore } from '../adapters/dynamodb/notification-channels.js';
import type { Resolver } from '../adapters/notifications/guarded-http.js';
import { createChannelSenders } from '../adapters/notifications/senders.js';
import { DEFAULT_RETRY_POLICY, deliveryFailureReason, type RetryPolicy } from '../core/notifications.js';
import { STRICT_URL_POLICY, type UrlPolicy } from '../core/url-policy.js';
import { createNotifier, type NotifyOutcome } from '../handlers/notifier.js';
import { recordNotificationDelivery } from '../shared/metrics.js';
import { AWS_REGION_ENV, readTableNames } from './config.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, instrument, type Observability, traceClient } from './observability.js';

export interface NotifierLambdaOptions {
  readonly dynamo: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly sns: { readonly client: SNSClient; readonly topicArn: string };
  readonly observability: Observability;
  /** @default STRICT_URL_POLICY (https, public addresses only) */
  readonly policy?: UrlPolicy;
  readonly retry?: RetryPolicy;
  readonly resolve?: Resolver;
}

export function createNotifierLambda(options: NotifierLambdaOptions) {
  const { logger } = options.observability;
  const retry = options.retry ?? DEFAULT_RETRY_POLICY;
  const store = new DynamoNotificationChannelStore({ client: options.dynamo, tableName: options.tableName });
  const notifier = createNotifier({
    channels: store,
    senders: createChannelSenders({
      policy: options.policy ?? STRICT_URL_POLICY,
      attemptTimeoutMs: retry.attemptTimeoutMs,
      sns: options.sns,
      ...(options.resolve ? { resolve: options.resolve } : {}),
    }),
    retry,
    onDelivery: (delivery, channel) => {
      recordNotificationDelivery(options.observability.pipelineMetrics, {
        channel: channel.type,
        outcome: delivery.status,
        ...(delivery.status === 'failed' ? { reason: deliveryFailureReason(delivery.lastError) } : {}),
      });
      if (delivery.status === 'failed') {
        // The error text comes from the receiver's status or the network, never from the channel's
        // secret or URL path (a Slack URL is a credential): safe to log.
        logger.warn('notification failed for good', {
          channelId: delivery.channelId,
          alertId: delivery.alertId,
          attempts: delivery.attempts,
          lastError: delivery.lastError,
        });
      }
    },
    onSkipped: (reason) => logger.warn('skipped a stream record', { reason }),
  });
  return async (event: DynamoDBStreamEvent): Promise<NotifyOutcome> => {
    const outcome = await notifier.dynamoStreamHandler(event);
    logger.info('notified', { records: event.Records.length, ...outcome });
    return outcome;
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-notifier');
const region = requireEnv(AWS_REGION_ENV);

export const handler: (event: DynamoDBStreamEvent, context?: Context) => Promise<NotifyOutcome> = instrument(
  observability,
  createNotifierLambda({
    dynamo: documentClient(traceClient(observability, new DynamoDBClient({ region }))),
    tableName: readTableNames(['notifications']).notifications,
    sns: {
      client: traceClient(observability, new SNSClient({ region })),
      topicArn: requireEnv(ENV.notificationTopicArn),
    },
    observability,
  }),
);
