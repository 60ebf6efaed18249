/**
 * Device messages into the stream. The IoT rule (functions/shared/iot-rules.ts) sends each message,
 * base64-wrapped, to a KMS-encrypted SQS buffer; its error action keeps the failed message (the IoT
 * error payload carries `base64OriginalPayload`) on a second encrypted queue. The ingest bridge, in
 * the VPC, reads the buffer in batches, produces to iot.raw with the MSK IAM signer and reports
 * partial batch failures; messages that keep failing land in the buffer's own DLQ.
 *
 * Why SQS and not the IoT "Kafka" action: that action cannot authenticate with IAM, the only method
 * MSK Serverless accepts (ARCHITECTURE.md, "Facts that shape it").
 */

import type { RemovalPolicy } from 'aws-cdk-lib';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../../functions/lambda/environment.js';
import { INGEST_RULE, mappedTopicRules } from '../../../functions/shared/iot-rules.js';
import { TOPICS } from '../../../functions/shared/stream.js';
import { seedRegistry } from '../../../registry-data/index.js';
import type { EnvironmentConfig } from '../config.js';
import { acknowledge } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import { grantKafkaAccess } from './kafka-access.js';
import type { Network } from './network.js';
import type { Registry } from './registry.js';
import type { StreamEndpoint } from './stream.js';

/** How long one bridge invocation may take; the buffer's visibility timeout is six times this. */
const BRIDGE_TIMEOUT = Duration.seconds(60);
/** Receives before a buffered message moves to the DLQ. */
const MAX_RECEIVE_COUNT = 5;

export interface IngestProps {
  readonly config: EnvironmentConfig;
  readonly network: Network;
  readonly stream: StreamEndpoint;
  readonly key: kms.IKey;
  readonly registry: Registry;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * Topic filters of the environment's ingest mappings (`iot/{deviceId}/raw`, ...): each gets a rule
   * into the same buffer queue (issue 14).
   * @default - the filters of the mappings shipped in registry-data/ingest-mappings
   */
  readonly mappingTopics?: readonly string[];
}

export class Ingest extends Construct {
  public readonly ruleName: string;
  public readonly rule: iot.CfnTopicRule;
  /** One rule per mapped topic filter (issue 14), same actions as `rule`. */
  public readonly mappedRules: readonly iot.CfnTopicRule[];
  public readonly bufferQueue: sqs.Queue;
  public readonly bufferDeadLetterQueue: sqs.Queue;
  /** The IoT rule's error action target: failed deliveries with their original payload. */
  public readonly ruleErrorQueue: sqs.Queue;
  public readonly bridge: IotFunction;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    const { config, network, stream, key } = props;
    const retention = Duration.days(config.ingest.queueRetentionDays);
    const encrypted = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
    } as const;

    this.bufferDeadLetterQueue = new sqs.Queue(this, 'BufferDeadLetterQueue', {
      ...encrypted,
      retentionPeriod: Duration.days(14),
    });
    this.bufferQueue = new sqs.Queue(this, 'BufferQueue', {
      ...encrypted,
      retentionPeriod: retention,
      visibilityTimeout: Duration.seconds(BRIDGE_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.bufferDeadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.ruleErrorQueue = new sqs.Queue(this, 'RuleErrorQueue', {
      ...encrypted,
      retentionPeriod: Duration.days(14),
    });
    for (const queue of [this.bufferDeadLetterQueue, this.ruleErrorQueue]) {
      acknowledge(queue, [
        { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter destination.' },
      ]);
    }

    const ruleRole = new iam.Role(this, 'RuleRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      description: 'IoT ingest rule: send to the buffer queue and the error queue',
    });
    // Exactly what the SQS action needs on a queue encrypted with a customer-managed key.
    ruleRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [this.bufferQueue.queueArn, this.ruleErrorQueue.queueArn],
      }),
    );
    ruleRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }),
    );

    // Rule names are unique per account and region: the environment suffix lets dev and prod share one.
    this.ruleName = `${INGEST_RULE.name}_${config.name}`;
    this.rule = new iot.CfnTopicRule(this, 'Rule', {
      ruleName: this.ruleName,
      topicRulePayload: {
        description: INGEST_RULE.description,
        sql: INGEST_RULE.sql,
        awsIotSqlVersion: INGEST_RULE.awsIotSqlVersion,
        ruleDisabled: false,
        actions: [
          { sqs: { queueUrl: this.bufferQueue.queueUrl, roleArn: ruleRole.roleArn, useBase64: false } },
        ],
        errorAction: {
          sqs: { queueUrl: this.ruleErrorQueue.queueUrl, roleArn: ruleRole.roleArn, useBase64: false },
        },
      },
    });

    // Ingest mappings (issue 14): derived at synth time from the mappings' topic filters, offline.
    const mappingTopics = props.mappingTopics ?? seedRegistry.ingestMappings.map((m) => m.match.topic);
    this.mappedRules = mappedTopicRules(mappingTopics).map(
      (declaration) =>
        new iot.CfnTopicRule(this, `MappedRule-${declaration.name}`, {
          ruleName: `${declaration.name}_${config.name}`,
          topicRulePayload: {
            description: declaration.description,
            sql: declaration.sql,
            awsIotSqlVersion: declaration.awsIotSqlVersion,
            ruleDisabled: false,
            actions: [
              { sqs: { queueUrl: this.bufferQueue.queueUrl, roleArn: ruleRole.roleArn, useBase64: false } },
            ],
            errorAction: {
              sqs: { queueUrl: this.ruleErrorQueue.queueUrl, roleArn: ruleRole.roleArn, useBase64: false },
            },
          },
        }),
    );

    this.bridge = new IotFunction(this, 'Bridge', {
      entry: LAMBDA_ENTRIES.ingestBridge,
      serviceName: 'ingest-bridge',
      description: 'SQS buffer to the iot.raw Kafka topic (MSK IAM)',
      platformVersion: config.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      timeout: BRIDGE_TIMEOUT,
      memorySize: 512,
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.kafkaClientSecurityGroup],
      environment: { [ENV.kafkaBootstrapBrokers]: stream.bootstrapBrokers },
    });
    // iot.dlq: queue messages that are not the rule's envelope go there with their reason.
    grantKafkaAccess(this.bridge.function, stream.arns, { produce: [TOPICS.raw, TOPICS.dlq] });
    props.registry.bind(this.bridge.function, { pipelineStats: ['dynamodb:UpdateItem'] });
    this.bridge.function.addEventSource(
      new SqsEventSource(this.bufferQueue, {
        batchSize: config.ingest.batchSize,
        maxBatchingWindow: Duration.seconds(config.ingest.maxBatchingWindowSeconds),
        reportBatchItemFailures: true,
        // Caps concurrent producers well below MSK Serverless' connection quota.
        maxConcurrency: config.ingest.maxConcurrency,
      }),
    );
  }
}
