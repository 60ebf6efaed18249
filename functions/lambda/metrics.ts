/**
 * The declared pipeline metrics (functions/shared/metrics.ts) in AWS: CloudWatch Embedded Metric Format
 * through Powertools Metrics, under the declared names, with each label as a dimension beside the
 * `service` one. Counters are summed over an invocation and written once per label set; histogram
 * observations are written as EMF value arrays (up to 100 values per metric per log line, Powertools
 * flushes at 100), so CloudWatch computes percentiles from every observation
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 *
 * Labels must stay few-valued: each label set is a CloudWatch metric of its own (billed per metric).
 * The declared labels are (stage, reason code, severity, device type, verdict, handler, store, channel).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as DeclaredUnit, MetricDeclaration, MetricsRecorder } from '../shared/metrics.js';

const UNITS: Record<DeclaredUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  count: MetricUnit.Count,
  seconds: MetricUnit.Seconds,
};

interface LabelSet {
  readonly labels: Readonly<Record<string, string>>;
  readonly counters: Map<MetricDeclaration, number>;
  readonly observations: Map<MetricDeclaration, number[]>;
}

export interface EmfMetricsOptions {
  readonly namespace: string;
  readonly serviceName: string;
  /** Writes one label set's metrics (default: Powertools' publishStoredMetrics, a log line to stdout). */
  readonly emit?: (metrics: Metrics) => void;
}

export class EmfMetrics implements MetricsRecorder {
  private readonly sets = new Map<string, LabelSet>();

  constructor(private readonly options: EmfMetricsOptions) {}

  private set(labels: object): LabelSet {
    const entries = Object.entries(labels as Record<string, string>).sort(([a], [b]) => a.localeCompare(b));
    const key = JSON.stringify(entries);
    let set = this.sets.get(key);
    if (!set) {
      set = { labels: Object.fromEntries(entries), counters: new Map(), observations: new Map() };
      this.sets.set(key, set);
    }
    return set;
  }

  add<M extends MetricDeclaration>(metric: M, labels: object, value = 1): void {
    const counters = this.set(labels).counters;
    counters.set(metric, (counters.get(metric) ?? 0) + value);
  }

  observe<M extends MetricDeclaration>(metric: M, labels: object, value: number): void {
    const observations = this.set(labels).observations;
    const values = observations.get(metric) ?? [];
    values.push(value);
    observations.set(metric, values);
  }

  /** Writes what was recorded since the last flush (instrument() calls it after every invocation). */
  flush(): void {
    const emit = this.options.emit ?? ((metrics: Metrics) => metrics.publishStoredMetrics());
    for (const set of this.sets.values()) {
      const metrics = new Metrics({
        namespace: this.options.namespace,
        serviceName: this.options.serviceName,
        defaultDimensions: set.labels,
      });
      for (const [metric, value] of set.counters) metrics.addMetric(metric.name, UNITS[metric.unit], value);
      for (const [metric, values] of set.observations)
        for (const value of values) metrics.addMetric(metric.name, UNITS[metric.unit], value);
      if (set.counters.size > 0 || set.observations.size > 0) emit(metrics);
    }
    this.sets.clear();
  }
}
