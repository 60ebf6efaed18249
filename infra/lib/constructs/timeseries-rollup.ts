/**
 * The hourly rollup of the DynamoDB time-series sink: a scheduled function
 * (functions/lambda/timeseries-rollup.ts) that reads the last hours' points of each device and writes
 * the hour's aggregates (avg, min, max, count) whole, so a rerun overwrites rather than double counts.
 * An EventBridge rule runs it hourly, a few minutes past the hour, once the previous hour's late
 * points have had time to arrive. Only for the `dynamodb` sink (Timestream aggregates in its queries).
 * Out of the VPC: it talks to DynamoDB only.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import type { Registry } from './registry.js';
import type { DynamoTimeSeries } from './timeseries.js';

/** Minute past each hour at which the rollup runs. */
export const ROLLUP_MINUTE_PAST_HOUR = 5;

export interface TimeSeriesRollupProps {
  readonly timeSeries: DynamoTimeSeries;
  readonly registry: Registry;
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class TimeSeriesRollup extends Construct {
  public readonly handler: IotFunction;
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: TimeSeriesRollupProps) {
    super(scope, id);
    this.handler = new IotFunction(this, 'Handler', {
      entry: LAMBDA_ENTRIES.timeseriesRollup,
      serviceName: 'timeseries-rollup',
      description: 'Hourly rollups (avg, min, max, count) of the DynamoDB time-series points',
      platformVersion: props.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      timeout: Duration.minutes(5),
      memorySize: 512,
      // No reserved concurrency: an account at the default quota of 10 refuses any reservation (the
      // unreserved pool may not drop below 10), and an overlapping run would only redo the same hours.
    });
    // Devices are listed from the registry (Query on the type index, or Scan), points queried per device.
    props.registry.bind(this.handler.function, { devices: ['dynamodb:Scan'] });
    props.timeSeries.bindRollup(this.handler.function);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Runs the time-series rollup hourly, a few minutes past the hour',
      schedule: events.Schedule.cron({ minute: String(ROLLUP_MINUTE_PAST_HOUR) }),
      targets: [new targets.LambdaFunction(this.handler.function, { retryAttempts: 2 })],
    });
  }
}
