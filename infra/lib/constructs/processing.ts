/**
 * The two Kafka consumers: enrich on iot.raw and the time-series writer on iot.enriched, each an MSK
 * event source mapping with an explicit consumer group (CONSUMER_GROUPS), batch size and window from
 * the configuration, and the error controls of EVENT_SOURCE_ERROR_CONTROLS.
 *
 * Error controls and mode (AWS Lambda developer guide, "Configuring error handling controls for Kafka
 * event sources" and "Apache Kafka event poller scaling modes"): MaximumRetryAttempts,
 * BisectBatchOnFunctionError, ReportBatchItemFailures (FunctionResponseTypes) and MaximumRecordAge are
 * configured under provisioned mode, so both mappings run in provisioned mode (ProvisionedPollerConfig).
 * Without them a failing batch is retried forever and blocks its partition. After the retries, the
 * batch goes to the on-failure destination: an S3 bucket, which receives the records themselves plus
 * the failure metadata (SQS/SNS destinations receive metadata only), reached through the S3 gateway
 * endpoint of the cluster's VPC.
 *
 * Placement: both functions produce to Kafka themselves (enrich to iot.enriched/alerts/dlq, the writer
 * rejected records to iot.dlq), so both must reach the brokers and run in the VPC; the mappings'
 * pollers would not need it. The writer reaches its sink through the VPC's DynamoDB gateway endpoint
 * (sink `dynamodb`) or the Timestream cell's interface endpoint (sink `timestream`).
 *
 * The topics exist before a mapping polls them: this stack deploys after the Stateful stack, whose
 * SSM parameters (read here) are written only once the topics resource has succeeded.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../../functions/lambda/environment.js';
import {
  CONSUMER_GROUPS,
  EVENT_SOURCE_ERROR_CONTROLS,
  TOPICS,
  type TopicName,
} from '../../../functions/shared/stream.js';
import type { EnvironmentConfig } from '../config.js';
import { acknowledge } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import { grantKafkaAccess } from './kafka-access.js';
import type { Network } from './network.js';
import type { Registry } from './registry.js';
import type { StreamEndpoint } from './stream.js';
import type { TimeSeriesSink } from './timeseries.js';

export interface ProcessingProps {
  readonly config: EnvironmentConfig;
  readonly network: Network;
  /** Read from SSM at deploy time (streamEndpointFromParameters), not a cross-stack export. */
  readonly stream: StreamEndpoint;
  readonly registry: Registry;
  readonly timeSeries: TimeSeriesSink;
  /** On-failure destination of both mappings (StatefulStack.failedRecordsBucketExport). */
  readonly failedRecordsBucket: { readonly arn: string; readonly exportName: string };
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class Processing extends Construct {
  public readonly enrich: IotFunction;
  public readonly timeseriesWriter: IotFunction;
  public readonly enrichMapping: lambda.EventSourceMapping;
  public readonly timeseriesWriterMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    const { config, network, stream, registry, timeSeries } = props;
    const common = {
      platformVersion: config.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      timeout: Duration.minutes(2),
      memorySize: 1024,
    };

    this.enrich = new IotFunction(this, 'Enrich', {
      ...common,
      entry: LAMBDA_ENTRIES.enrich,
      serviceName: 'enrich',
      description: 'iot.raw to iot.enriched / iot.alerts / iot.dlq: detect, enrich, validate, alert',
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.kafkaClientSecurityGroup],
      environment: {
        [ENV.kafkaBootstrapBrokers]: stream.bootstrapBrokers,
        [ENV.registryRefreshSeconds]: String(config.registryRefreshSeconds),
      },
    });
    // Exactly the actions the entry's header lists (functions/lambda/enrich.ts).
    registry.bind(this.enrich.function, {
      deviceTypes: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:Query'],
      applications: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:Query'],
      devices: ['dynamodb:UpdateItem'],
      // UpdateItem: a stored clear event marks its raise cleared (issue 15 lifecycle).
      alerts: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      // Query and BatchWriteItem: each device's samples are trimmed to its newest (issue 14).
      messages: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'],
      pipelineStats: ['dynamodb:UpdateItem'],
      // Ingest mappings (issue 14): read with the registry, compiled once per refresh.
      ingestMappings: ['dynamodb:Scan'],
    });
    grantKafkaAccess(this.enrich.function, stream.arns, {
      consume: { topic: TOPICS.raw, group: CONSUMER_GROUPS.enrich },
      produce: [TOPICS.enriched, TOPICS.alerts, TOPICS.dlq],
    });

    this.timeseriesWriter = new IotFunction(this, 'TimeseriesWriter', {
      ...common,
      entry: LAMBDA_ENTRIES.timeseriesWriter,
      serviceName: 'timeseries-writer',
      description: `iot.enriched to the time-series sink (${timeSeries.sink})`,
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.kafkaClientSecurityGroup],
      environment: {
        [ENV.kafkaBootstrapBrokers]: stream.bootstrapBrokers,
        [ENV.registryRefreshSeconds]: String(config.registryRefreshSeconds),
      },
    });
    timeSeries.bindWriter(this.timeseriesWriter.function);
    registry.bind(this.timeseriesWriter.function, {
      deviceTypes: ['dynamodb:Scan'],
      pipelineStats: ['dynamodb:UpdateItem'],
    });
    grantKafkaAccess(this.timeseriesWriter.function, stream.arns, {
      consume: { topic: TOPICS.enriched, group: CONSUMER_GROUPS.timeseriesWriter },
      produce: [TOPICS.dlq],
    });

    const pollerGroupName = config.consumers.pollerGroup ? `iot-cloud-${config.name}` : undefined;
    this.enrichMapping = this.consume(this.enrich, {
      topic: TOPICS.raw,
      group: CONSUMER_GROUPS.enrich,
      settings: config.consumers.enrich,
      pollerGroupName,
      props,
    });
    this.timeseriesWriterMapping = this.consume(this.timeseriesWriter, {
      topic: TOPICS.enriched,
      group: CONSUMER_GROUPS.timeseriesWriter,
      settings: config.consumers.timeseriesWriter,
      pollerGroupName,
      props,
    });
  }

  private consume(
    consumer: IotFunction,
    options: {
      topic: TopicName;
      group: string;
      settings: EnvironmentConfig['consumers']['enrich'];
      pollerGroupName: string | undefined;
      props: ProcessingProps;
    },
  ): lambda.EventSourceMapping {
    const { stream, failedRecordsBucket, config } = options.props;
    const fn = consumer.function;
    const mapping = new lambda.EventSourceMapping(this, `${consumer.node.id}Mapping`, {
      target: fn,
      eventSourceArn: stream.clusterArn,
      kafkaTopic: options.topic,
      kafkaConsumerGroupId: options.group,
      startingPosition: lambda.StartingPosition[config.consumers.startingPosition],
      batchSize: options.settings.batchSize,
      maxBatchingWindow: Duration.seconds(options.settings.maxBatchingWindowSeconds),
      provisionedPollerConfig: {
        minimumPollers: options.settings.minimumPollers,
        maximumPollers: options.settings.maximumPollers,
        ...(options.pollerGroupName ? { pollerGroupName: options.pollerGroupName } : {}),
      },
      retryAttempts: EVENT_SOURCE_ERROR_CONTROLS.maximumRetryAttempts,
      bisectBatchOnError: EVENT_SOURCE_ERROR_CONTROLS.bisectBatchOnFunctionError,
      reportBatchItemFailures: EVENT_SOURCE_ERROR_CONTROLS.reportBatchItemFailures,
      onFailure: { bind: () => ({ destination: failedRecordsBucket.arn }) },
      supportS3OnFailureDestination: true,
      metricsConfig: {
        metrics: [
          lambda.MetricType.EVENT_COUNT,
          lambda.MetricType.ERROR_COUNT,
          lambda.MetricType.KAFKA_METRICS,
        ],
      },
    });

    // What the mapping itself needs, on the function's role (Lambda developer guide, MSK permissions).
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
        resources: [stream.clusterArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        // The pollers' network interfaces in the cluster's subnets; EC2 offers no resource-level
        // scoping for the Describe actions.
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeVpcs',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
        ],
        resources: ['*'],
      }),
    );
    // On-failure destination: exactly the two actions Lambda documents for S3.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [failedRecordsBucket.arn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [`${failedRecordsBucket.arn}/*`] }),
    );
    acknowledge(fn, [
      {
        id: `AwsSolutions-IAM5[Resource::${failedRecordsBucket.exportName}/*]`,
        reason:
          "Lambda chooses the object keys of on-failure records: PutObject needs the bucket's object ARN pattern.",
      },
    ]);
    return mapping;
  }
}
