/**
 * One CloudWatch dashboard and the alarms that page someone (SNS topic, e-mail from the config):
 * ingest rate (rule matches, messages into the buffer), consumer offset lag of both Kafka mappings
 * (Lambda's OffsetLag metric), errors and duration of every function, DLQ depths, and, with the
 * `timestream` sink only, Timestream records rejected by the writer (its Powertools metric) and
 * magnetic-store rejection reports (the MatchedEvents metric of TimestreamTimeSeries.rejectionsRule).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../../../functions/shared/metrics.js';
import { METRICS_NAMESPACE } from './iot-function.js';
import { pipelineMetricWidgets } from './pipeline-metric-widgets.js';

/**
 * The writer's metric for records Timestream rejected (RejectedRecords of WriteRecords), emitted with
 * Powertools Metrics under METRICS_NAMESPACE and the `service` dimension.
 */
export const TIMESTREAM_REJECTED_METRIC = {
  name: 'TimestreamRejectedRecords',
  service: 'timeseries-writer',
} as const;

/** Offset lag (records) above which a consumer is falling behind, sustained for 15 minutes. */
const OFFSET_LAG_ALARM_THRESHOLD = 10_000;

export interface ObservabilityProps {
  readonly environmentName: string;
  readonly alarmEmail?: string;
  readonly key: kms.IKey;
  readonly ingestRuleName: string;
  readonly bufferQueue: sqs.IQueue;
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Functions fed by a Kafka event source mapping. */
  readonly kafkaConsumers: Readonly<Record<string, lambda.IFunction>>;
  /**
   * The rule matching Timestream's magnetic-store rejection reports (sink `timestream`).
   * @default - the sink is not Timestream: no Timestream alarms
   */
  readonly timestreamRejections?: events.IRule;
}

export class Observability extends Construct {
  public readonly alarmTopic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `IoT Cloud ${props.environmentName} alarms`,
      masterKey: props.key,
      enforceSSL: true,
    });
    // CloudWatch publishes to the encrypted topic: it needs the key (the AWS managed SNS key would refuse it).
    props.key.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const alarmAction = new actions.SnsAction(this.alarmTopic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      created.addAlarmAction(alarmAction);
      this.alarms.push(created);
      return created;
    };

    const fiveMinutes = Duration.minutes(5);
    const ruleMatches = new cloudwatch.Metric({
      namespace: 'AWS/IoT',
      metricName: 'TopicMatch',
      dimensionsMap: { RuleName: props.ingestRuleName },
      statistic: 'Sum',
      period: Duration.minutes(1),
      label: 'rule matches / min',
    });
    const buffered = props.bufferQueue.metricNumberOfMessagesSent({
      period: Duration.minutes(1),
      label: 'into buffer / min',
    });

    // The declared consumer lag (iot_consumer_lag_records) is, in AWS, Lambda's own metric.
    const lag = METRICS.consumerLag.aws;
    const lagMetrics = Object.entries(props.kafkaConsumers).map(([name, fn]) =>
      fn.metric(lag.metricName, {
        statistic: lag.statistic,
        period: Duration.minutes(1),
        label: `${name} offset lag`,
      }),
    );
    for (const [name, fn] of Object.entries(props.kafkaConsumers)) {
      alarm(`${name}OffsetLag`, {
        alarmDescription: `${name} is falling behind its Kafka topic (offset lag over ${OFFSET_LAG_ALARM_THRESHOLD} for 15 minutes)`,
        metric: fn.metric('OffsetLag', { statistic: 'Maximum', period: fiveMinutes }),
        threshold: OFFSET_LAG_ALARM_THRESHOLD,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, {
        alarmDescription: `${name} returned errors`,
        metric: fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const dlqDepths = Object.entries(props.deadLetterQueues).map(([name, queue]) => {
      const depth = queue.metricApproximateNumberOfMessagesVisible({
        period: fiveMinutes,
        statistic: 'Maximum',
        label: `${name} depth`,
      });
      alarm(`${name}Depth`, {
        alarmDescription: `${name} holds messages that could not be delivered`,
        metric: depth,
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      return depth;
    });
    const timestreamWidgets: cloudwatch.IWidget[] = [];
    if (props.timestreamRejections) {
      const rejected = new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: TIMESTREAM_REJECTED_METRIC.name,
        dimensionsMap: { service: TIMESTREAM_REJECTED_METRIC.service },
        statistic: 'Sum',
        period: fiveMinutes,
        label: 'Timestream rejected records',
      });
      alarm('TimestreamRejectedRecords', {
        alarmDescription: 'Timestream rejected records written by the time-series writer',
        metric: rejected,
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      // One report object per rejected batch of late (magnetic-store) writes, written asynchronously.
      const magneticRejections = new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: { RuleName: props.timestreamRejections.ruleName },
        statistic: 'Sum',
        period: fiveMinutes,
        label: 'Timestream magnetic-store rejection reports',
      });
      alarm('TimestreamMagneticStoreRejections', {
        alarmDescription:
          'Timestream rejected magnetic-store (late) records: reports under timestream-rejected/ in the failed-records bucket',
        metric: magneticRejections,
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      timestreamWidgets.push(
        new cloudwatch.GraphWidget({
          title: 'Timestream rejections',
          left: [rejected, magneticRejections],
          width: 12,
        }),
      );
    }

    const fns = Object.entries(props.functions);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Ingest rate', left: [ruleMatches, buffered], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Consumer offset lag (records)', left: lagMetrics, width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Lambda errors',
            left: fns.map(([name, fn]) => fn.metricErrors({ period: Duration.minutes(1), label: name })),
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Lambda duration p99 (ms)',
            left: fns.map(([name, fn]) =>
              fn.metricDuration({ period: Duration.minutes(1), statistic: 'p99', label: name }),
            ),
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Dead-letter queue depths', left: dlqDepths, width: 12 }),
          ...timestreamWidgets,
        ],
        // The declared pipeline metrics, the same names the local GET /metrics serves.
        ...rowsOf(pipelineMetricWidgets(METRICS_NAMESPACE), 3),
      ],
    });
  }
}

/** Widgets in rows of `perRow`. */
function rowsOf(widgets: readonly cloudwatch.IWidget[], perRow: number): cloudwatch.IWidget[][] {
  const rows: cloudwatch.IWidget[][] = [];
  for (let i = 0; i < widgets.length; i += perRow) rows.push(widgets.slice(i, i + perRow));
  return rows;
}
