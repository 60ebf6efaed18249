/**
 * The project's Lambda defaults in one construct: newest Node.js runtime, arm64, active tracing, an
 * explicit log group with the environment's retention, Powertools env vars, and bundling with the
 * local esbuild (no Docker). Entry files live in functions/lambda/ and export `handler`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../../functions/lambda/environment.js';
import { acknowledge, BASIC_EXECUTION_ROLE, VPC_ACCESS_EXECUTION_ROLE } from '../nag.js';
import { PROJECT_ROOT } from '../paths.js';

/** Namespace of the Powertools (EMF) metrics of every function. */
export const METRICS_NAMESPACE = 'IotCloud';

/** The entry files, fixed names shared with the helpers who write them (OWNERSHIP.md). */
export const LAMBDA_ENTRIES = {
  ingestBridge: 'functions/lambda/ingest-bridge.ts',
  enrich: 'functions/lambda/enrich.ts',
  timeseriesWriter: 'functions/lambda/timeseries-writer.ts',
  timeseriesRollup: 'functions/lambda/timeseries-rollup.ts',
  streamTopicsResource: 'functions/lambda/stream-topics-resource.ts',
  seedRegistryResource: 'functions/lambda/seed-registry-resource.ts',
  api: 'functions/lambda/api.ts',
  // Notifications (issue 15).
  notifier: 'functions/lambda/notifier.ts',
  noData: 'functions/lambda/no-data.ts',
  // Data operations (issue 16).
  dataOps: 'functions/lambda/data-ops.ts',
} as const;

export interface IotFunctionProps {
  /** Path of the entry file relative to the repository root (one of LAMBDA_ENTRIES). */
  readonly entry: string;
  /** Powertools service name (logs, metrics dimension, traces). */
  readonly serviceName: string;
  readonly description: string;
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
  /** Only for functions that must reach the MSK cluster; everything else stays out of the VPC. */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** @default - no reserved concurrency */
  readonly reservedConcurrentExecutions?: number;
}

export class IotFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IotFunctionProps) {
    super(scope, id);
    const entry = join(PROJECT_ROOT, props.entry);
    if (!existsSync(entry)) {
      throw new Error(
        `Lambda entry ${props.entry} does not exist: it is written by another part of the project (see OWNERSHIP.md); merge it before synthesizing`,
      );
    }
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: props.description,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      // The newest Node.js runtime aws-cdk-lib 2.276 offers; the code also runs on Node 20 locally.
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      allowPublicSubnet: false,
      environment: {
        [ENV.powertoolsServiceName]: props.serviceName,
        [ENV.powertoolsMetricsNamespace]: METRICS_NAMESPACE,
        [ENV.platformVersion]: props.platformVersion,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        // The local esbuild devDependency bundles; Docker is never needed.
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: true,
        // Bundle the AWS SDK too: the deployed code runs the versions the tests ran.
        externalModules: [],
        mainFields: ['module', 'main'],
        // CommonJS dependencies bundled into an ES module still call `require`.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    acknowledge(this.function, [
      { id: BASIC_EXECUTION_ROLE, reason: 'AWSLambdaBasicExecutionRole grants only CloudWatch Logs writes.' },
      {
        id: VPC_ACCESS_EXECUTION_ROLE,
        reason:
          'Functions in the VPC: AWSLambdaVPCAccessExecutionRole manages their network interfaces (EC2 has no resource-level scoping for these actions).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords (active tracing), and for Kafka consumers the EC2 network-interface actions of the event source mapping and timestream:DescribeEndpoints.',
      },
    ]);
  }
}
