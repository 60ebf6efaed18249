/**
 * Metrics recorded on a worker thread reach the main thread's registry this way: the worker records
 * into a buffer, sends what it holds with its replies (a structured-clone array), and the host replays
 * it into the PrometheusMetrics of the process. prom-client's own aggregation (AggregatorRegistry)
 * is for cluster processes, not worker threads.
 */
import {
  DECLARED_METRICS,
  type MetricDeclaration,
  type MetricsRecorder,
} from '../../functions/shared/metrics.js';

export interface RecordedMetric {
  readonly name: string;
  readonly op: 'add' | 'observe';
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class BufferedMetrics implements MetricsRecorder {
  private entries: RecordedMetric[] = [];

  add<M extends MetricDeclaration>(metric: M, labels: object, value = 1): void {
    this.entries.push({ name: metric.name, op: 'add', labels: labels as Record<string, string>, value });
  }

  observe<M extends MetricDeclaration>(metric: M, labels: object, value: number): void {
    this.entries.push({ name: metric.name, op: 'observe', labels: labels as Record<string, string>, value });
  }

  /** What was recorded since the last call. */
  drain(): RecordedMetric[] {
    const taken = this.entries;
    this.entries = [];
    return taken;
  }
}

const BY_NAME = new Map(DECLARED_METRICS.map((metric) => [metric.name, metric]));

/** Replays a worker's recordings into this thread's recorder; a name not declared is an error. */
export function replayMetrics(
  recorder: MetricsRecorder,
  entries: readonly RecordedMetric[] | undefined,
): void {
  for (const entry of entries ?? []) {
    const metric = BY_NAME.get(entry.name);
    if (!metric)
      throw new Error(`a worker recorded ${entry.name}, which functions/shared/metrics.ts does not declare`);
    if (entry.op === 'add') recorder.add(metric, entry.labels as never, entry.value);
    else recorder.observe(metric, entry.labels as never, entry.value);
  }
}
