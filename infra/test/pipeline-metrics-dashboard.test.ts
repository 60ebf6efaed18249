import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DECLARED_METRICS, METRICS } from '../../functions/shared/metrics.js';
import { PrometheusMetrics } from '../../local/metrics/prometheus.js';
import { Observability } from '../lib/constructs/observability.js';
import { EMF_METRICS } from '../lib/constructs/pipeline-metric-widgets.js';
import { assemblyOutdir } from './synth.js';

/** The dashboard body as text (a Fn::Join of strings and tokens, flattened). */
function dashboardBody(template: Template): string {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  // The body is JSON inside a template string: drop every level of quote escaping.
  return JSON.stringify(dashboards[0]?.Properties?.DashboardBody).replace(/\\+"/g, '"');
}

const searchedNames = (body: string) =>
  new Set([...body.matchAll(/MetricName="([A-Za-z0-9_]+)"/g)].map((m) => m[1]));

describe('CloudWatch dashboard from the metrics declaration', () => {
  let body: string;

  beforeAll(() => {
    // An App without outdir would leave its assembly in a temp dir nobody removes.
    const stack = new Stack(new App({ outdir: assemblyOutdir('widgets') }), 'Test');
    const fn = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_20_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
      });
    const enrich = fn('Enrich');
    new Observability(stack, 'Observability', {
      environmentName: 'test',
      key: new kms.Key(stack, 'Key'),
      ingestRuleName: 'rule',
      bufferQueue: new sqs.Queue(stack, 'Buffer'),
      deadLetterQueues: { Dlq: new sqs.Queue(stack, 'Dlq') },
      functions: { Enrich: enrich },
      kafkaConsumers: { Enrich: enrich },
    });
    body = dashboardBody(Template.fromStack(stack));
  }, 120_000);

  it('has a widget for every metric the functions emit as EMF', () => {
    const names = searchedNames(body);

    for (const metric of EMF_METRICS) expect(names, metric.name).toContain(metric.name);
  });

  it('searches declared metrics only, over their declared dimensions', () => {
    const declared = new Map(DECLARED_METRICS.map((m) => [m.name, m]));

    const searches = [...body.matchAll(/\{IotCloud,([a-z_,]+)\} MetricName="([A-Za-z0-9_]+)"/g)];
    expect(searches.length).toBeGreaterThanOrEqual(EMF_METRICS.length);
    for (const match of searches) {
      const metric = declared.get(match[2] ?? '');
      expect(metric, match[2]).toBeDefined();
      expect(match[1]).toBe(['service', ...(metric?.labels ?? [])].join(','));
    }
  });

  it("shows consumer lag with Lambda's metric the declaration names for it", () => {
    expect(METRICS.consumerLag.aws.metricName).toBe('OffsetLag');
    expect(body).toContain('"OffsetLag"');
  });

  it('names the same metrics as the local /metrics endpoint', async () => {
    const exposition = await new PrometheusMetrics().render();
    const local = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));

    const searched = searchedNames(body);
    expect(searched.size).toBe(EMF_METRICS.length);
    for (const name of searched) expect(local, name).toContain(name);
  });
});
