/**
 * The no-data evaluator (issue 15): a function (functions/lambda/no-data.ts) that an EventBridge
 * Scheduler schedule invokes once a minute (rate(1 minute) is Scheduler's finest rate:
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html). It reads the devices'
 * last-seen records and the alert condition state, and writes state and alert events to the alerts
 * table. Out of the VPC: it talks to DynamoDB only. Scheduler invokes it through the role the L2 target
 * creates: lambda:InvokeFunction on this function and its versions only, assumable by Scheduler for
 * this account's schedules.
 */
import { type CfnElement, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import type { Registry } from './registry.js';

export interface NoDataEvaluatorProps {
  readonly registry: Registry;
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class NoDataEvaluator extends Construct {
  public readonly handler: IotFunction;
  public readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: NoDataEvaluatorProps) {
    super(scope, id);
    this.handler = new IotFunction(this, 'Handler', {
      entry: LAMBDA_ENTRIES.noData,
      serviceName: 'no-data',
      description: 'Raises and clears no-data alerts over the devices last-seen records, once a minute',
      platformVersion: props.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      // Under the one-minute period, so runs do not pile up; a late run only repeats its window.
      timeout: Duration.seconds(50),
      memorySize: 512,
    });
    // Exactly the actions the entry's header lists (functions/lambda/no-data.ts).
    props.registry.bind(this.handler.function, {
      deviceTypes: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:Query'],
      applications: ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:Query'],
      devices: ['dynamodb:Scan', 'dynamodb:Query'],
      alerts: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Runs the no-data evaluator once a minute',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      // A missed minute is redone by the next one: no retries to pile onto it.
      target: new targets.LambdaInvoke(this.handler.function, { retryAttempts: 0 }),
    });
    const logicalId = Stack.of(this).getLogicalId(this.handler.function.node.defaultChild as CfnElement);
    // The target's role is created at stack level (one per target function), outside this construct.
    const schedulerRole = Stack.of(this)
      .node.findAll()
      .find((c) => c.node.id.startsWith('SchedulerRoleForTarget'));
    acknowledge(schedulerRole ?? this, [
      {
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason:
          "Scheduler's role may invoke this one function: `<function arn>:*` is the ARN format of its versions.",
      },
    ]);
  }
}
