/**
 * Everything that holds data and must survive a redeploy of the rest: the network the cluster lives
 * in, the MSK Serverless cluster and its topics, the DynamoDB tables (seeded from registry-data/),
 * the environment's time-series sink (DynamoDB tables, or Timestream where the account has it), and
 * the buckets that keep failed records. Removal policies come from the environment (`retain` in prod;
 * the cluster is the exception, see constructs/stream.ts). Logical IDs here are a contract: a test
 * pins them.
 */
import { createHash } from 'node:crypto';
import { CustomResource, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { seedRegistry } from '../../registry-data/index.js';
import { type EnvironmentConfig, topicPartitions } from './config.js';
import { accessLogsBucket, privateBucket } from './constructs/buckets.js';
import { IotFunction, LAMBDA_ENTRIES } from './constructs/iot-function.js';
import { Network } from './constructs/network.js';
import { Registry } from './constructs/registry.js';
import { Stream } from './constructs/stream.js';
import { DynamoTimeSeries, type TimeSeriesSink, TimestreamTimeSeries } from './constructs/timeseries.js';
import { acknowledgeProviderFramework, acknowledgeStackSingletons } from './nag.js';

export interface StatefulStackProps extends StackProps {
  readonly config: EnvironmentConfig;
}

export class StatefulStack extends Stack {
  public readonly network: Network;
  public readonly stream: Stream;
  public readonly registry: Registry;
  public readonly timeSeries: TimeSeriesSink;
  /** Rejected Timestream records and batches the Kafka consumers gave up on. */
  public readonly failedRecordsBucket: s3.Bucket;
  /**
   * The bucket's ARN under an export name of our own, so the consumers' acknowledgement of its object
   * wildcard (`<arn>/*`) names a stable string.
   */
  public readonly failedRecordsBucketExport: { readonly arn: string; readonly exportName: string };

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    const accessLogs = accessLogsBucket(this, 'AccessLogs', {
      removalPolicy,
      expireAfterDays: Math.max(config.logRetentionDays, 30),
    });
    const timestreamSettings =
      config.timeseries.sink === 'timestream' ? config.timeseries.timestream : undefined;
    if (config.timeseries.sink === 'timestream' && timestreamSettings === undefined) {
      // The schema refuses this already; the check keeps the types honest.
      throw new Error(`environment ${config.name}: the timestream sink needs timeseries.timestream settings`);
    }
    this.failedRecordsBucket = privateBucket(this, 'FailedRecords', {
      removalPolicy,
      accessLogs,
      accessLogsPrefix: 'failed-records/',
      // Timestream's rejected-record reports raise an event (TimestreamTimeSeries.rejectionsRule).
      eventBridgeEnabled: timestreamSettings !== undefined,
    });

    const exportName = `${this.stackName}-FailedRecordsBucketArn`;
    this.failedRecordsBucketExport = {
      arn: this.exportValue(this.failedRecordsBucket.bucketArn, { name: exportName }),
      exportName,
    };

    this.network = new Network(this, 'Network', {
      cidr: config.vpcCidr,
      logRetention,
      removalPolicy,
      timestreamIngestCell: timestreamSettings?.ingestCell,
    });
    this.stream = new Stream(this, 'Stream', {
      clusterName: `iot-cloud-${config.name}`,
      environmentName: config.name,
      network: this.network,
      partitions: topicPartitions(config),
      retentionHours: config.stream.retentionHours,
      platformVersion: config.platformVersion,
      logRetention,
      removalPolicy,
    });

    this.registry = new Registry(this, 'Registry', { removalPolicy });
    this.seedRegistry(config, logRetention, removalPolicy);

    const ingestUrl = this.network.timestreamIngestUrl;
    this.timeSeries =
      timestreamSettings === undefined || ingestUrl === undefined
        ? new DynamoTimeSeries(this, 'TimeSeriesTables', { removalPolicy })
        : new TimestreamTimeSeries(this, 'TimeSeries', {
            memoryRetentionHours: timestreamSettings.memoryRetentionHours,
            magneticRetentionDays: timestreamSettings.magneticRetentionDays,
            rejectedRecordsBucket: this.failedRecordsBucket,
            ingestUrl,
            removalPolicy,
          });

    acknowledgeStackSingletons(this);
  }

  /**
   * Seeds device types, alert rules and applications at deploy. The data is bundled into the function
   * (registry-data/index.ts); its hash is a property, so changing registry-data/ re-runs the seed,
   * which only adds what is missing and never overwrites later edits.
   */
  private seedRegistry(
    config: EnvironmentConfig,
    logRetention: logs.RetentionDays,
    removalPolicy: RemovalPolicy,
  ) {
    const seedFunction = new IotFunction(this, 'SeedRegistryFunction', {
      entry: LAMBDA_ENTRIES.seedRegistryResource,
      serviceName: 'seed-registry',
      description: 'Seeds the registry tables from registry-data/ (custom resource)',
      platformVersion: config.platformVersion,
      logRetention,
      logRemovalPolicy: removalPolicy,
      timeout: Duration.minutes(5),
    });
    // Exactly the actions the entry's header lists (functions/lambda/seed-registry-resource.ts).
    this.registry.bind(seedFunction.function, {
      deviceTypes: ['dynamodb:PutItem', 'dynamodb:GetItem'],
      applications: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      // Ingest mappings (issue 14): created only if absent (a conditional Put).
      ingestMappings: ['dynamodb:PutItem'],
    });
    const provider = new cr.Provider(this, 'SeedRegistryProvider', {
      onEventHandler: seedFunction.function,
      logGroup: new logs.LogGroup(this, 'SeedRegistryProviderLogs', {
        retention: logRetention,
        removalPolicy,
      }),
    });
    acknowledgeProviderFramework(provider, seedFunction.function);
    new CustomResource(this, 'SeedRegistry', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SeedRegistry',
      properties: {
        RegistryDataHash: createHash('sha256').update(JSON.stringify(seedRegistry)).digest('hex'),
      },
    });
  }
}
