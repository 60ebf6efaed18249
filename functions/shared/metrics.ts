/**
 * The pipeline's metrics, declared once: name, kind, unit, labels and help text. The local runtime
 * serves them in the Prometheus text format (`GET /metrics`, local/metrics/), the Lambda functions emit
 * them as CloudWatch Embedded Metric Format through Powertools (functions/lambda/metrics.ts) under the
 * same names, labels becoming dimensions, and both dashboards (observability/grafana/iot-cloud.json,
 * infra/lib/constructs/observability.ts) are built from or checked against this list.
 *
 * Names follow the Prometheus conventions (base units, `_total` for counters, unit suffix), and
 * CloudWatch takes them unchanged: metric names may hold underscores
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html).
 *
 * Code records through the small functions at the end of this file (recordRaw, recordNotificationDelivery,
 * ...), never through a metric object: a runtime passes its MetricsRecorder.
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** Base units: a histogram of durations is in seconds, counts are plain. */
export type MetricUnit = 'count' | 'seconds';

/**
 * Where AWS has the figure:
 * - `emf`: the named Lambda services emit it under this name (labels as dimensions, plus `service`);
 * - `lambda`: AWS Lambda's own metric stands for it (OffsetLag of a Kafka event source mapping);
 * - `local`: only the local runtime has it (with the reason in `note`).
 */
export type AwsSource =
  | { readonly kind: 'emf'; readonly services: readonly string[] }
  | { readonly kind: 'lambda'; readonly metricName: string; readonly statistic: string }
  | { readonly kind: 'local'; readonly note: string };

export interface MetricDeclaration<Label extends string = string> {
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly help: string;
  readonly labels: readonly Label[];
  /** Histograms: upper bounds of the buckets, in `unit`. */
  readonly buckets?: readonly number[];
  readonly aws: AwsSource;
}

/** Keeps each declaration's literal labels and AWS source in its type. */
const declare = <const Label extends string, const Source extends AwsSource>(
  metric: MetricDeclaration<Label> & { readonly aws: Source },
) => metric;

/** Seconds, from a few ms (a local batch) to minutes (a device far behind). */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Records per batch: a record alone up to the MSK event source mapping's 10,000. */
const BATCH_SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The stages of `iot_messages_total`: the four topics of the pipeline. */
export const MESSAGE_STAGES = ['raw', 'enriched', 'dlq', 'alerts'] as const;
export type MessageStageLabel = (typeof MESSAGE_STAGES)[number];

/** Outcomes of one notification delivery attempt. */
export const NOTIFICATION_OUTCOMES = ['delivered', 'failed'] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

export const METRICS = {
  messages: declare({
    name: 'iot_messages_total',
    kind: 'counter',
    unit: 'count',
    help: 'Messages that reached a stage: raw (appended to iot.raw), enriched, dlq (dead-lettered), alerts (alert events: raises and clears)',
    labels: ['stage'],
    aws: { kind: 'emf', services: ['ingest-bridge', 'enrich', 'timeseries-writer'] },
  }),
  deadLetters: declare({
    name: 'iot_dead_letters_total',
    kind: 'counter',
    unit: 'count',
    help: 'Messages dead-lettered to iot.dlq, by reason code',
    labels: ['reason'],
    aws: { kind: 'emf', services: ['ingest-bridge', 'enrich', 'timeseries-writer'] },
  }),
  alerts: declare({
    name: 'iot_alerts_total',
    kind: 'counter',
    unit: 'count',
    // Every record of iot.alerts counts, as in /api/stats: a raise and its clear are two events.
    help: 'Alert events (raises and clears), by severity',
    labels: ['severity'],
    aws: { kind: 'emf', services: ['enrich'] },
  }),
  qualityVerdicts: declare({
    name: 'iot_quality_verdicts_total',
    kind: 'counter',
    unit: 'count',
    help: 'Enriched messages by data-quality verdict (GOOD, SUSPECT, BAD) and device type',
    labels: ['device_type', 'verdict'],
    aws: { kind: 'emf', services: ['enrich'] },
  }),
  deviceToQueryable: declare({
    name: 'iot_device_to_queryable_seconds',
    kind: 'histogram',
    unit: 'seconds',
    help: "Telemetry from the device's timestamp to its points committed in the time-series store",
    labels: [],
    buckets: LATENCY_BUCKETS_SECONDS,
    aws: { kind: 'emf', services: ['timeseries-writer'] },
  }),
  consumerLag: declare({
    name: 'iot_consumer_lag_records',
    kind: 'gauge',
    unit: 'count',
    help: 'Records of a partition not yet committed by a consumer (end offset minus committed offset)',
    labels: ['consumer', 'topic', 'partition'],
    // Lambda measures it for each Kafka event source mapping (per function, not per partition).
    aws: { kind: 'lambda', metricName: 'OffsetLag', statistic: 'Maximum' },
  }),
  batchRecords: declare({
    name: 'iot_handler_batch_records',
    kind: 'histogram',
    unit: 'count',
    help: 'Records per batch a handler was given',
    labels: ['handler'],
    buckets: BATCH_SIZE_BUCKETS,
    aws: { kind: 'emf', services: ['ingest-bridge', 'enrich', 'timeseries-writer'] },
  }),
  batchDuration: declare({
    name: 'iot_handler_batch_duration_seconds',
    kind: 'histogram',
    unit: 'seconds',
    help: 'Time a handler took for one batch',
    labels: ['handler'],
    buckets: LATENCY_BUCKETS_SECONDS,
    aws: { kind: 'emf', services: ['ingest-bridge', 'enrich', 'timeseries-writer'] },
  }),
  storeWriteDuration: declare({
    name: 'iot_store_write_duration_seconds',
    kind: 'histogram',
    unit: 'seconds',
    help: "One write of a batch's points to the time-series store, until committed",
    labels: ['store'],
    buckets: LATENCY_BUCKETS_SECONDS,
    aws: { kind: 'emf', services: ['timeseries-writer'] },
  }),
  notificationDeliveries: declare({
    name: 'iot_notification_deliveries_total',
    kind: 'counter',
    unit: 'count',
    help: 'Notification delivery attempts, by channel type and outcome (delivered, failed)',
    labels: ['channel', 'outcome'],
    aws: { kind: 'emf', services: ['notifier'] },
  }),
  notificationFailures: declare({
    name: 'iot_notification_failures_total',
    kind: 'counter',
    unit: 'count',
    help: 'Failed notification deliveries, by channel type and reason',
    labels: ['channel', 'reason'],
    aws: { kind: 'emf', services: ['notifier'] },
  }),
} as const;

export type DeclaredMetric = (typeof METRICS)[keyof typeof METRICS];
export const DECLARED_METRICS: readonly MetricDeclaration[] = Object.values(METRICS);

/**
 * The platform's own process figures: prom-client's default metrics, under their usual names (the
 * names other Node.js dashboards expect). Locally only: in AWS, Lambda measures its functions itself
 * (Duration, Errors, Throttles on the CloudWatch dashboard).
 */
export const PROCESS_METRICS = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

/** Every metric name an operator can query locally: declared ones and process figures. */
export const LOCAL_METRIC_NAMES: ReadonlySet<string> = new Set([
  ...DECLARED_METRICS.map((m) => m.name),
  ...PROCESS_METRICS,
]);

// --- Recording ---------------------------------------------------------------------------------

type LabelsOf<M> = M extends MetricDeclaration<infer Label> ? { readonly [K in Label]: string } : never;

/** What a runtime gives the recording functions: Prometheus locally, EMF in Lambda, a buffer in a worker. */
export interface MetricsRecorder {
  /** Counters: add `value` (default 1). */
  add<M extends MetricDeclaration>(metric: M, labels: LabelsOf<M>, value?: number): void;
  /** Histograms: one observation, in the metric's unit. */
  observe<M extends MetricDeclaration>(metric: M, labels: LabelsOf<M>, value: number): void;
}

/** Records nothing (tests, and code run where no runtime passed a recorder). */
export const NO_METRICS: MetricsRecorder = { add: () => undefined, observe: () => undefined };

const seconds = (ms: number) => Math.max(0, ms) / 1000;

/** `count` messages appended to iot.raw. */
export function recordRaw(recorder: MetricsRecorder, count: number): void {
  if (count > 0) recorder.add(METRICS.messages, { stage: 'raw' }, count);
}

/**
 * One message enriched, with its verdict, device type and the alerts it raised (`alerts` of them;
 * their severities where known).
 */
export function recordEnriched(
  recorder: MetricsRecorder,
  message: {
    readonly deviceType?: string;
    readonly verdict?: string;
    readonly alerts?: number;
    readonly alertSeverities?: readonly string[];
  },
): void {
  recorder.add(METRICS.messages, { stage: 'enriched' });
  if (message.verdict)
    recorder.add(METRICS.qualityVerdicts, {
      device_type: message.deviceType ?? 'unknown',
      verdict: message.verdict,
    });
  const severities = message.alertSeverities ?? [];
  const alerts = Math.max(message.alerts ?? 0, severities.length);
  for (let i = 0; i < alerts; i++) recordAlert(recorder, severities[i] ?? 'unknown');
}

/** One alert raised. */
export function recordAlert(recorder: MetricsRecorder, severity: string): void {
  recorder.add(METRICS.messages, { stage: 'alerts' });
  recorder.add(METRICS.alerts, { severity });
}

/** One message dead-lettered to iot.dlq, with its reason code. */
export function recordDeadLetter(recorder: MetricsRecorder, reason: string): void {
  recorder.add(METRICS.messages, { stage: 'dlq' });
  recorder.add(METRICS.deadLetters, { reason });
}

/** A telemetry message's points were committed `ms` after its device timestamp. */
export function recordDeviceToQueryable(recorder: MetricsRecorder, ms: number): void {
  recorder.observe(METRICS.deviceToQueryable, {}, seconds(ms));
}

/** A handler finished a batch of `records` in `durationMs`. */
export function recordBatch(
  recorder: MetricsRecorder,
  handler: string,
  records: number,
  durationMs: number,
): void {
  recorder.observe(METRICS.batchRecords, { handler }, records);
  recorder.observe(METRICS.batchDuration, { handler }, seconds(durationMs));
}

/** One write to the time-series store (`duckdb`, `dynamodb`, `timestream`) took `durationMs`. */
export function recordStoreWrite(recorder: MetricsRecorder, store: string, durationMs: number): void {
  recorder.observe(METRICS.storeWriteDuration, { store }, seconds(durationMs));
}

/**
 * One notification delivery attempt on a channel type (`email`, `webhook`, `sns`, ...): delivered, or
 * failed with a short reason code (`TIMEOUT`, `HTTP_5XX`, ...; never a URL or an address).
 */
export function recordNotificationDelivery(
  recorder: MetricsRecorder,
  delivery: { readonly channel: string; readonly outcome: NotificationOutcome; readonly reason?: string },
): void {
  recorder.add(METRICS.notificationDeliveries, { channel: delivery.channel, outcome: delivery.outcome });
  if (delivery.outcome === 'failed')
    recorder.add(METRICS.notificationFailures, {
      channel: delivery.channel,
      reason: delivery.reason ?? 'UNKNOWN',
    });
}

/** Runs one batch of a handler and records its size and duration (also when it throws). */
export async function timedBatch<T>(
  recorder: MetricsRecorder,
  handler: string,
  records: number,
  run: () => Promise<T>,
  now: () => number = performance.now.bind(performance),
): Promise<T> {
  const started = now();
  try {
    return await run();
  } finally {
    recordBatch(recorder, handler, records, now() - started);
  }
}
