/**
 * The local runtime's metrics registry: every metric of functions/shared/metrics.ts as a prom-client
 * metric, plus prom-client's default process figures, rendered in the Prometheus text format for
 * `GET /metrics`.
 *
 * prom-client (https://github.com/siimon/prom-client) is the Node.js Prometheus client most exporters
 * use: maintained since 2015, no runtime dependencies beyond a tiny one, it escapes label values and
 * formats histograms (`_bucket`/`_sum`/`_count`, `le="+Inf"`) to the exposition format, and its
 * default metrics give the process figures (CPU, memory, event-loop lag, GC) that a hand-written
 * exporter would have to measure itself.
 */
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type LabelValues,
  type Metric,
  Registry,
} from 'prom-client';
import { PIPELINE_FAILURE_REASONS, REJECTION_REASONS } from '../../functions/core/contract/messages.js';
import { NotificationSeverity } from '../../functions/core/contract/notification-channel.js';
import {
  DECLARED_METRICS,
  MESSAGE_STAGES,
  METRICS,
  type MetricDeclaration,
  type MetricsRecorder,
} from '../../functions/shared/metrics.js';

/**
 * Counter label values known in advance, exported at 0 from the start: a series that first appears at
 * 1 has no earlier sample, so increase() and rate() miss that first count (a rare dead-letter reason
 * would never show on the dashboard). Prometheus' "Avoid missing metrics"
 * (https://prometheus.io/docs/practices/instrumentation/#avoid-missing-metrics).
 */
const KNOWN_LABEL_VALUES: readonly (readonly [MetricDeclaration, string, readonly string[]])[] = [
  [METRICS.messages, 'stage', MESSAGE_STAGES],
  [METRICS.deadLetters, 'reason', [...REJECTION_REASONS, ...PIPELINE_FAILURE_REASONS]],
  [METRICS.alerts, 'severity', NotificationSeverity.options],
];

/** One partition's lag as a consumer sees it, read at scrape time. */
export interface PartitionLag {
  readonly consumer: string;
  readonly topic: string;
  readonly partition: number | string;
  readonly lag: number;
}

export class PrometheusMetrics implements MetricsRecorder {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Metric>();
  private lagSources: (() => readonly PartitionLag[])[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const declared of DECLARED_METRICS) this.metrics.set(declared.name, this.create(declared));
    for (const [declared, label, values] of KNOWN_LABEL_VALUES)
      for (const value of values) this.add(declared, { [label]: value }, 0);
  }

  private create(declared: MetricDeclaration): Metric {
    const common = {
      name: declared.name,
      help: declared.help,
      labelNames: [...declared.labels],
      registers: [this.registry],
    };
    if (declared.kind === 'counter') return new Counter(common);
    if (declared.kind === 'histogram')
      return new Histogram({ ...common, buckets: [...(declared.buckets ?? [])] });
    if (declared.name === METRICS.consumerLag.name) {
      // Read when scraped, from the consumers themselves: a lag is a state, not an event to count.
      const sources = () => this.lagSources;
      return new Gauge({
        ...common,
        collect() {
          this.reset();
          for (const source of sources())
            for (const { consumer, topic, partition, lag } of source())
              this.set({ consumer, topic, partition: String(partition) }, lag);
        },
      });
    }
    return new Gauge(common);
  }

  add<M extends MetricDeclaration>(metric: M, labels: object, value = 1): void {
    (this.metrics.get(metric.name) as Counter).inc(labels as LabelValues<string>, value);
  }

  observe<M extends MetricDeclaration>(metric: M, labels: object, value: number): void {
    (this.metrics.get(metric.name) as Histogram).observe(labels as LabelValues<string>, value);
  }

  /** Adds a source of per-partition consumer lag, read at every scrape. */
  addLagSource(source: () => readonly PartitionLag[]): void {
    this.lagSources = [...this.lagSources, source];
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for a scrape. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
