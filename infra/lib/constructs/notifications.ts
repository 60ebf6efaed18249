/**
 * Notifications (issue 15): the notifier Lambda on the alerts table's stream, and the SNS topic that
 * `sns` channels publish to (operators subscribe e-mail and other endpoints to it).
 *
 * The notifier runs OUTSIDE the VPC: webhook and Slack receivers are on the internet, and the VPC's
 * isolated subnets have no route there. Every URL is checked at each delivery with the strict policy
 * (https, public addresses only), so the function's network reach is no wider than a receiver's.
 *
 * The event source mapping (DynamoDB Streams facts from
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html):
 * - a filter keeps INSERTs of alert items only (they have `alertId` and `body`); claims and condition
 *   states have neither, acknowledgements are MODIFYs, TTL deletes are REMOVEs. Filtered-out records
 *   never invoke the function (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html);
 * - retries are bounded: by default they are infinite (-1, "retried until the record expires", 24 h
 *   of stream retention) and would hold the shard; bisecting isolates a bad record; records given up
 *   go to an SQS on-failure destination (a standard queue, as the parameters page requires) with their
 *   stream coordinates;
 * - small batches: one batch can hold a channel's sequence of deliveries, each up to
 *   worstCaseDeliveryMs(DEFAULT_RETRY_POLICY) (27 s) when a receiver keeps failing, so the timeout
 *   is sized from it.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_RETRY_POLICY, worstCaseDeliveryMs } from '../../../functions/core/notifications.js';
import { ENV } from '../../../functions/lambda/environment.js';
import { acknowledge } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import type { Registry } from './registry.js';

/** Stream records per invocation (the default is 100; alerts are rare and each may take seconds). */
export const NOTIFIER_BATCH_SIZE = 10;
/** Retries of a failed batch before its records go to the on-failure queue (default -1 = until expiry). */
export const NOTIFIER_RETRY_ATTEMPTS = 3;

export interface NotificationsProps {
  readonly registry: Registry;
  /** Encrypts the topic and the on-failure queue (the platform's customer-managed key). */
  readonly key: kms.IKey;
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class Notifications extends Construct {
  public readonly handler: IotFunction;
  /** `sns` channels publish here; subscribe e-mail and other endpoints to it. */
  public readonly topic: sns.Topic;
  /** Stream records the notifier gave up on (their coordinates, to replay). */
  public readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'IoT Cloud alert notifications',
      masterKey: props.key,
      enforceSSL: true,
    });
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.failureQueue, [
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter (on-failure) destination.' },
    ]);

    // Every delivery of a batch may hit its worst case one after another for one (channel, device).
    const worstBatchSeconds = Math.ceil(
      (worstCaseDeliveryMs(DEFAULT_RETRY_POLICY) * NOTIFIER_BATCH_SIZE) / 1000,
    );
    this.handler = new IotFunction(this, 'Handler', {
      entry: LAMBDA_ENTRIES.notifier,
      serviceName: 'notifier',
      description: 'Sends alert raises and clears to the notification channels (webhook, Slack, SNS)',
      platformVersion: props.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      timeout: Duration.seconds(Math.min(900, worstBatchSeconds + 30)),
      environment: { [ENV.notificationTopicArn]: this.topic.topicArn },
      // No vpc: it must reach the internet (see above).
    });
    const fn = this.handler.function;
    // Exactly the actions the entry's header lists (functions/lambda/notifier.ts). Publishing to a topic
    // encrypted with a customer-managed key needs GenerateDataKey and Decrypt on that key; CDK's
    // grantPublish (and SqsDlq's grantSendMessages) would add kms:GenerateDataKey* and kms:ReEncrypt*.
    props.registry.bind(fn, { notifications: ['dynamodb:Query', 'dynamodb:PutItem'] });
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.key.keyArn],
      }),
    );

    fn.addEventSource(
      new DynamoEventSource(props.registry.tables.alerts, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: NOTIFIER_BATCH_SIZE,
        bisectBatchOnError: true,
        retryAttempts: NOTIFIER_RETRY_ATTEMPTS,
        // Past a day the stream has dropped the record anyway (24 h retention).
        maxRecordAge: Duration.hours(6),
        onFailure: exactSqsDestination(this.failureQueue),
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('INSERT'),
            dynamodb: {
              NewImage: {
                alertId: { S: lambda.FilterRule.exists() },
                body: { S: lambda.FilterRule.exists() },
              },
            },
          }),
        ],
      }),
    );
  }
}

/**
 * The on-failure destination with exactly the grant it needs: the event source mapping sends with the
 * function's role (sqs:SendMessage, and the key for an encrypted queue).
 */
function exactSqsDestination(queue: sqs.Queue): lambda.IEventSourceDlq {
  return {
    bind: (_mapping, target) => {
      target.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
      );
      if (queue.encryptionMasterKey) {
        target.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
            resources: [queue.encryptionMasterKey.keyArn],
          }),
        );
      }
      return { destination: queue.queueArn };
    },
  };
}
