/**
 * CloudWatch dashboard widgets for the declared pipeline metrics (functions/shared/metrics.ts): one
 * graph per metric the Lambda functions emit as EMF, each a SEARCH expression over the declared name
 * and dimension set (`service` plus the declared labels), so every label value gets its line without
 * the dashboard listing them (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DECLARED_METRICS, type MetricDeclaration } from '../../../functions/shared/metrics.js';

/** Counters are summed per minute; durations shown at p99, batch sizes on average. */
function statisticOf(metric: MetricDeclaration): string {
  if (metric.kind === 'counter') return 'Sum';
  return metric.unit === 'seconds' ? 'p99' : 'Average';
}

/** The SEARCH expression of one declared metric, in `namespace`. */
export function searchExpression(metric: MetricDeclaration, namespace: string, periodSeconds = 60): string {
  const schema = [namespace, 'service', ...metric.labels].join(',');
  return `SEARCH('{${schema}} MetricName="${metric.name}"', '${statisticOf(metric)}', ${periodSeconds})`;
}

/** The declared metrics AWS gets from the functions' EMF lines. */
export const EMF_METRICS: readonly MetricDeclaration[] = DECLARED_METRICS.filter((m) => m.aws.kind === 'emf');

export function pipelineMetricWidgets(namespace: string): cloudwatch.IWidget[] {
  return EMF_METRICS.map(
    (metric) =>
      new cloudwatch.GraphWidget({
        title: `${metric.name} (${statisticOf(metric)}${metric.unit === 'seconds' ? ', seconds' : ''})`,
        left: [
          new cloudwatch.MathExpression({
            expression: searchExpression(metric, namespace),
            usingMetrics: {},
            label: '',
            period: Duration.minutes(1),
          }),
        ],
        width: 8,
      }),
  );
}
