/**
 * The stateless part of an environment, rebuilt freely: ingest (IoT rule, SQS buffer, bridge),
 * processing (Kafka consumers), the HTTP API, dashboard hosting, device identity and observability.
 * Everything that holds data comes from the StatefulStack. The stream's cluster ARN and bootstrap
 * brokers, which change when the cluster is replaced, are read from SSM at deploy time
 * (streamEndpointFromParameters), never through a strong cross-stack export ("Export ... in use"
 * would block the replacement).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config.js';
import { Api } from './constructs/api.js';
import { accessLogsBucket } from './constructs/buckets.js';
import { DashboardHosting } from './constructs/dashboard-hosting.js';
import { DataOps } from './constructs/data-ops.js';
import { Devices } from './constructs/devices.js';
import { Ingest } from './constructs/ingest.js';
import { NoDataEvaluator } from './constructs/no-data-evaluator.js';
import { Notifications } from './constructs/notifications.js';
import { Observability } from './constructs/observability.js';
import { Processing } from './constructs/processing.js';
import { streamEndpointFromParameters } from './constructs/stream.js';
import { DynamoTimeSeries, TimestreamTimeSeries } from './constructs/timeseries.js';
import { TimeSeriesRollup } from './constructs/timeseries-rollup.js';
import { acknowledgeStackSingletons } from './nag.js';
import type { StatefulStack } from './stateful-stack.js';

export interface PlatformStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly stateful: StatefulStack;
}

export class PlatformStack extends Stack {
  public readonly ingest: Ingest;
  public readonly processing: Processing;
  public readonly api: Api;
  public readonly hosting: DashboardHosting;
  public readonly devices: Devices;
  public readonly observability: Observability;
  /** Sink `dynamodb` only. */
  public readonly rollup?: TimeSeriesRollup;
  /** Notification channels' notifier and SNS topic (issue 15). */
  public readonly notifications: Notifications;
  /** Issue 15: no-data alerts on a one-minute schedule. */
  public readonly noData: NoDataEvaluator;
  /** Issue 16: dead-letter triage, redrive and replay, invoked by the API. */
  public readonly dataOps: DataOps;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { config, stateful } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    // One customer-managed key for the queues and the alarm topic (the IoT rule and CloudWatch both
    // need key grants, which AWS managed keys cannot give).
    const key = new kms.Key(this, 'QueueKey', {
      description: `IoT Cloud ${config.name}: SQS queues and the alarm topic`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
      removalPolicy,
    });
    const accessLogs = accessLogsBucket(this, 'AccessLogs', {
      removalPolicy,
      expireAfterDays: Math.max(config.logRetentionDays, 30),
    });

    const stream = streamEndpointFromParameters(this, config.name);
    this.ingest = new Ingest(this, 'Ingest', {
      config,
      network: stateful.network,
      stream,
      registry: stateful.registry,
      key,
      logRetention,
      removalPolicy,
    });
    this.processing = new Processing(this, 'Processing', {
      config,
      network: stateful.network,
      stream,
      registry: stateful.registry,
      timeSeries: stateful.timeSeries,
      failedRecordsBucket: stateful.failedRecordsBucketExport,
      logRetention,
      removalPolicy,
    });
    // ----- notifications (issue 15): the notifier on the alerts table's stream, the SNS topic ---------
    this.notifications = new Notifications(this, 'Notifications', {
      registry: stateful.registry,
      key,
      platformVersion: config.platformVersion,
      logRetention,
      removalPolicy,
    });
    this.api = new Api(this, 'Api', {
      config,
      registry: stateful.registry,
      timeSeries: stateful.timeSeries,
      logRetention,
      removalPolicy,
    });
    // ----- data operations (issue 16): the data-ops function in the VPC, invoked by the API ----------
    this.dataOps = new DataOps(this, 'DataOps', {
      network: stateful.network,
      stream,
      registry: stateful.registry,
      // A redrive also reads the Kafka mappings' on-failure records.
      failedRecordsBucket: stateful.failedRecordsBucketExport,
      platformVersion: config.platformVersion,
      logRetention,
      removalPolicy,
    });
    this.dataOps.bindApi(this.api.handler.function);
    if (stateful.timeSeries instanceof DynamoTimeSeries) {
      this.rollup = new TimeSeriesRollup(this, 'TimeSeriesRollup', {
        timeSeries: stateful.timeSeries,
        registry: stateful.registry,
        platformVersion: config.platformVersion,
        logRetention,
        removalPolicy,
      });
    }
    this.noData = new NoDataEvaluator(this, 'NoDataEvaluator', {
      registry: stateful.registry,
      platformVersion: config.platformVersion,
      logRetention,
      removalPolicy,
    });
    this.hosting = new DashboardHosting(this, 'Dashboard', { api: this.api, accessLogs, removalPolicy });
    this.devices = new Devices(this, 'Devices', {
      environmentName: config.name,
      ingestRuleName: this.ingest.ruleName,
    });
    this.observability = new Observability(this, 'Observability', {
      environmentName: config.name,
      alarmEmail: config.alarmEmail,
      key,
      ingestRuleName: this.ingest.ruleName,
      bufferQueue: this.ingest.bufferQueue,
      deadLetterQueues: {
        BufferDeadLetterQueue: this.ingest.bufferDeadLetterQueue,
        RuleErrorQueue: this.ingest.ruleErrorQueue,
      },
      functions: {
        IngestBridge: this.ingest.bridge.function,
        Enrich: this.processing.enrich.function,
        TimeseriesWriter: this.processing.timeseriesWriter.function,
        Api: this.api.handler.function,
        Notifier: this.notifications.handler.function,
        // Issue 16: a redrive or a replay that fails is an error of the data-ops function.
        DataOps: this.dataOps.handler.function,
        ...(this.rollup ? { TimeseriesRollup: this.rollup.handler.function } : {}),
      },
      kafkaConsumers: {
        Enrich: this.processing.enrich.function,
        TimeseriesWriter: this.processing.timeseriesWriter.function,
      },
      timestreamRejections:
        stateful.timeSeries instanceof TimestreamTimeSeries ? stateful.timeSeries.rejectionsRule : undefined,
    });

    new CfnOutput(this, 'DashboardUrl', { value: this.hosting.url, description: 'Dashboard (CloudFront)' });
    new CfnOutput(this, 'ApiUrl', {
      value: `${this.hosting.url}/api`,
      description: 'HTTP API through CloudFront (same origin as the dashboard)',
    });
    new CfnOutput(this, 'ApiGatewayUrl', { value: this.api.url, description: 'HTTP API, direct' });
    new CfnOutput(this, 'UserPoolId', { value: this.api.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', {
      value: this.api.dashboardClient.userPoolClientId,
      description: "The dashboard's app client (hosted UI, authorization code + PKCE)",
    });
    new CfnOutput(this, 'HostedUiDomain', {
      value: this.api.userPoolDomain.baseUrl(),
      description: "Cognito hosted UI: the dashboard's Sign in button starts the code + PKCE flow there",
    });
    new CfnOutput(this, 'IngestRuleName', {
      value: this.ingest.ruleName,
      description:
        'Devices publish to dt/{type}/{thingName}/{kind} or $aws/rules/<this>/dt/... (Basic Ingest)',
    });
    new CfnOutput(this, 'DevicePolicyName', { value: this.devices.policy.ref });
    new CfnOutput(this, 'IotEndpointCommand', {
      value: 'aws iot describe-endpoint --endpoint-type iot:Data-ATS',
      description: 'The account-wide IoT data endpoint (CloudFormation has no attribute for it)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, 'NotificationTopicArn', {
      value: this.notifications.topic.topicArn,
      description: 'sns notification channels publish here: subscribe e-mail or other endpoints to it',
    });

    acknowledgeStackSingletons(this);
  }
}
