/**
 * Data operations in AWS (issue 16): the data-ops function (functions/lambda/data-ops.ts) that runs
 * dead-letter triage, redrive and replay for the API. In the VPC (isolated subnets, the Kafka clients'
 * security group): MSK Serverless is reachable only from there, and the operations table through the
 * VPC's DynamoDB gateway endpoint. Reserved concurrency 2: at most two operations at once, so a burst
 * of requests cannot take the account's concurrency from the pipeline (throttled Event invocations
 * wait in Lambda's queue).
 *
 * Asynchronous invocations are not retried: a redrive or a replay that failed is stored as failed, and
 * a retry under the same id would find its own replay lock and record a conflict. Lambda retries an
 * asynchronous invocation twice by default
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html).
 *
 * Its role, exactly what the entry's header lists: the operations table (GetItem, PutItem,
 * UpdateItem); Kafka Connect, DescribeTopic + ReadData on iot.dlq, iot.raw and iot.enriched, WriteData
 * on iot.raw and iot.enriched (a redriven failed record goes back to its topic; idempotent producer:
 * WriteDataIdempotently on the cluster), DescribeGroup + AlterGroup on the range reader's throwaway
 * groups `iot-cloud-data-ops-*` (a wildcard: each read makes a new group); the failed-records bucket:
 * ListBucket only with `s3:prefix` under Lambda's `aws/lambda/` and GetObject on `aws/lambda/*` (a
 * wildcard: Lambda names the objects), never the Timestream reports beside them.
 * The API function may invoke this function only (`grantInvoke`), and only read the operations table.
 */
import { type CfnElement, Duration, Fn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DATA_OPS_GROUP_PREFIX } from '../../../functions/adapters/kafka/range-reader.js';
import { ENV } from '../../../functions/lambda/environment.js';
import {
  DATA_OPS_TIMEOUT_SECONDS,
  ON_FAILURE_RECORDS_PREFIX,
  ON_FAILURE_REDRIVE_TOPICS,
} from '../../../functions/shared/data-ops.js';
import { TOPICS } from '../../../functions/shared/stream.js';
import { acknowledge } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import { grantKafkaAccess } from './kafka-access.js';
import type { Network } from './network.js';
import type { Registry } from './registry.js';
import type { StreamEndpoint } from './stream.js';

export interface DataOpsProps {
  readonly network: Network;
  readonly stream: StreamEndpoint;
  readonly registry: Registry;
  /** The Kafka mappings' on-failure destination (StatefulStack.failedRecordsBucketExport): a redrive reads it. */
  readonly failedRecordsBucket: { readonly arn: string; readonly exportName: string };
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** At most this many operations run at once. */
export const DATA_OPS_RESERVED_CONCURRENCY = 2;

export class DataOps extends Construct {
  public readonly handler: IotFunction;
  private readonly registry: Registry;

  constructor(scope: Construct, id: string, props: DataOpsProps) {
    super(scope, id);
    const { network, stream } = props;
    this.registry = props.registry;
    // The bucket's name from its ARN (Fn::Select of Fn::Split at deploy time): no second export.
    const failedRecords = s3.Bucket.fromBucketArn(this, 'FailedRecords', props.failedRecordsBucket.arn);
    this.handler = new IotFunction(this, 'Handler', {
      entry: LAMBDA_ENTRIES.dataOps,
      serviceName: 'data-ops',
      description: 'Dead-letter triage, redrive and replay over MSK, for the API',
      platformVersion: props.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      // Lambda's longest: a replay of up to DATA_OPS_LIMITS.maxReplayMessages; also the replay lock's lease.
      timeout: Duration.seconds(DATA_OPS_TIMEOUT_SECONDS),
      memorySize: 1024,
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.kafkaClientSecurityGroup],
      reservedConcurrentExecutions: DATA_OPS_RESERVED_CONCURRENCY,
      environment: {
        [ENV.kafkaBootstrapBrokers]: stream.bootstrapBrokers,
        [ENV.failedRecordsBucket]: failedRecords.bucketName,
      },
    });
    const fn = this.handler.function;
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    props.registry.bind(fn, {
      operations: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    });
    // Connect, and the idempotent producer's writes: dead letters go back to iot.raw, failed records
    // of a batch to the topic they came from (iot.raw or iot.enriched).
    const redriveTopics = [...new Set([TOPICS.raw, ...ON_FAILURE_REDRIVE_TOPICS])];
    grantKafkaAccess(fn, stream.arns, { produce: redriveTopics });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: [TOPICS.dlq, ...redriveTopics].map((topic) => stream.arns.topic(topic)),
      }),
    );
    // The on-failure records, and nothing else of their bucket: ListObjectsV2 is allowed only with a
    // prefix under Lambda's own (the adapter always sends it), GetObject only below it (the `s3:prefix`
    // pattern of https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-policies-s3.html,
    // "Allowing each IAM user access to a folder in a bucket").
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.failedRecordsBucket.arn],
        conditions: { StringLike: { 's3:prefix': [`${ON_FAILURE_RECORDS_PREFIX}*`] } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`${props.failedRecordsBucket.arn}/${ON_FAILURE_RECORDS_PREFIX}*`],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
        resources: [stream.arns.group(`${DATA_OPS_GROUP_PREFIX}-*`)],
      }),
    );
    // cdk-nag names the finding by the resolved ARN: the cluster's name and uuid as the template
    // writes them (Fn::Select of Fn::Split of the cluster ARN, as KafkaArns builds them).
    const stack = Stack.of(this);
    const clusterPart = (index: number) =>
      JSON.stringify(stack.resolve(Fn.select(index, Fn.split('/', stream.clusterArn))));
    acknowledge(fn, [
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kafka:<AWS::Region>:<AWS::AccountId>:group/${clusterPart(1)}/${clusterPart(2)}/${DATA_OPS_GROUP_PREFIX}-*]`,
        reason:
          'Each range read joins a new throwaway consumer group named {prefix}-{uuid} (functions/adapters/kafka/range-reader.ts): the group name cannot be known in advance, only its prefix.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${props.failedRecordsBucket.exportName}/${ON_FAILURE_RECORDS_PREFIX}*]`,
        reason:
          'Lambda chooses the object keys of on-failure records under its own prefix (aws/lambda/<mapping uuid>/...): GetObject is scoped to that prefix of the failed-records bucket, not the Timestream reports beside it.',
      },
    ]);
  }

  /**
   * The API function's side: invoke this function (its ARN only, not its versions) and read progress
   * from the operations table.
   */
  bindApi(api: iam.IGrantable & { addEnvironment(name: string, value: string): unknown }): void {
    const fn = this.handler.function;
    api.addEnvironment(ENV.dataOpsFunctionName, fn.functionName);
    api.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
    );
    this.registry.bind(api, { operations: ['dynamodb:GetItem'] });
  }

  /** The function's logical ID (tests). */
  get logicalId(): string {
    return Stack.of(this).getLogicalId(this.handler.function.node.defaultChild as CfnElement);
  }
}
