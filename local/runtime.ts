/**
 * The local composition root: the same handlers the CDK stack deploys, wired to embedded stand-ins.
 *
 *   MQTT (aedes) -> ingest rule -> SQS-shaped batches -> ingest-bridge handler -> iot.raw (local log,
 *   or a Kafka cluster with --kafka-brokers)
 *   iot.raw -> enrich handler -> iot.enriched / iot.alerts / iot.dlq
 *   iot.enriched -> time-series writer handler -> DuckDB (or, with `timeseries: 'dynamodb'`, the AWS
 *   DynamoDB sink over dynalite, its rollup job on a timer); device bookkeeping -> dynalite
 *   iot.dlq, iot.alerts -> inspector samples and alerts -> dynalite; iot.raw, iot.enriched -> the
 *   newest record of each partition twice a second -> inspector samples (log/tail-sampler.ts)
 *   HTTP (API Gateway v2 events) -> API handler; dashboard files at /
 *
 * Threads: the pipeline (broker, log, ingest, enrich) runs on the main thread; DuckDB with the
 * time-series writer handler, and dynalite with the high-rate DynamoDB writes, run on one worker
 * thread each (timeseries/worker.ts, dynamodb/write-worker.ts), so a 2-core machine uses both cores.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DASHBOARD_DIST_DIR } from '../dashboard/dist-dir.js';
import { CachedAlertStateStore } from '../functions/adapters/cached-alert-state.js';
import { DynamoAlertStore } from '../functions/adapters/dynamodb/alerts.js';
import {
  DynamoDeviceStore,
  DynamoIngestMappingStore,
  DynamoMessageSampleStore,
  DynamoRegistryStore,
  documentClient,
} from '../functions/adapters/dynamodb/index.js';
import { DynamoNotificationChannelStore } from '../functions/adapters/dynamodb/notification-channels.js';
// Data operations (issue 16): progress and replay locks in the operations table, as in AWS.
import { DynamoOperationStore } from '../functions/adapters/dynamodb/operations.js';
import { checkTarget } from '../functions/adapters/notifications/guarded-http.js';
import { createChannelSenders } from '../functions/adapters/notifications/senders.js';
import type { Alert, Application, EnrichedMessage } from '../functions/core/index.js';
import { type CompiledRegistry, compileRegistry } from '../functions/core/index.js';
import { watchedReadingsOf } from '../functions/core/no-data.js';
import {
  DEFAULT_RETRY_POLICY,
  deliveryFailureReason,
  type RetryPolicy,
} from '../functions/core/notifications.js';
import { LOCAL_URL_POLICY } from '../functions/core/url-policy.js';
import { createApiHandler, toDeviceSummary } from '../functions/handlers/api.js';
import { DeviceSeenBatch } from '../functions/handlers/batch-bookkeeping.js';
import { createDataOps } from '../functions/handlers/data-ops.js';
import { createEnrichHandler } from '../functions/handlers/enrich.js';
import { createIngestBridgeHandler } from '../functions/handlers/ingest-bridge.js';
import { eachRecord, recordCount, recordValue } from '../functions/handlers/kafka-records.js';
import { createNoDataHandler } from '../functions/handlers/no-data.js';
import { createNotifier } from '../functions/handlers/notifier.js';
import type { DeviceRecord, MessageStage } from '../functions/ports/registry.js';
import type { KafkaEvent, KafkaHandler } from '../functions/ports/stream.js';
import {
  type MetricsRecorder,
  recordBatch,
  recordNotificationDelivery,
} from '../functions/shared/metrics.js';
import { REGISTRY_REFRESH_SECONDS } from '../functions/shared/registry-refresh.js';
import { CONSUMER_GROUPS, TOPICS } from '../functions/shared/stream.js';
import { seedRegistry as seedData } from '../registry-data/index.js';
import { createSimulatedFleet, createTransport, runFleet } from '../simulator/index.js';
import { TokenBucket } from '../simulator/transports/pacing.js';
import { ensureTables, localTableNames, seedRegistry, startDynamoWriteWorker } from './dynamodb/index.js';
import { duckdbParquetEncoder } from './export/duckdb-parquet.js';
import { startHttpServer } from './http-server.js';
import { PrometheusMetrics } from './metrics/prometheus.js';
import { startMqttIngest } from './mqtt-ingest.js';
import { PipelineStats } from './stats.js';
import {
  type LogRetention,
  openKafkaStream,
  openLocalLogStream,
  type PipelineStream,
  type StreamConsumer,
} from './stream-backend.js';
import { startDynamoTimeseries, startTimeseriesWorker } from './timeseries/index.js';

export const SERVICE_VERSION = '0.1.0';

/** The topic filters of a compiled registry's ingest mappings, listed once per registry version. */
const mappingTopicsCache = new WeakMap<CompiledRegistry, readonly string[]>();
function mappingTopicsOf(registry: CompiledRegistry): readonly string[] {
  let topics = mappingTopicsCache.get(registry);
  if (!topics) {
    topics = (registry.mappings?.list ?? []).map((m) => m.definition.match.topic);
    mappingTopicsCache.set(registry, topics);
  }
  return topics;
}
/**
 * Batch windows of the local consumers (see `consume` below). A record waits up to one window at each
 * pipeline stage, so they are short (`npm run bench:e2e` at 1,000 msg/s: p50 from 140 to 70 ms with
 * 20 ms instead of 50 ms, at the same throughput); best-effort inspector stages wait longer.
 */
const PIPELINE_BATCH_WINDOW_MS = 20;
const INSPECTOR_BATCH_WINDOW_MS = 200;
const DEFAULT_DEVICE_BOOKKEEPING_MS = 5000;
/** How often the inspector samples the newest raw and enriched records of each partition. */
const INSPECTOR_SAMPLE_INTERVAL_MS = 500;

export interface LocalPlatformOptions {
  readonly dataDir: string;
  /** Start empty: delete the data directory first. */
  readonly reset?: boolean;
  /** Embedded MQTT broker port (0 = any free port). */
  readonly mqttPort?: number;
  /** Use this broker instead of the embedded one. */
  readonly externalBroker?: string;
  /** API and dashboard port (0 = any free port). */
  readonly httpPort?: number;
  readonly dashboardDir?: string;
  /** When set, API writes need `Authorization: Bearer <apiToken>`; otherwise writes are open. */
  readonly apiToken?: string;
  /** Devices of the built-in simulated fleet (0 = none). */
  readonly simulatedDevices?: number;
  readonly seed?: number;
  /** Told what the platform does: start-up, errors, status. */
  readonly log?: (line: string) => void;
  /** How often the registry is re-read, so edits take effect (default REGISTRY_REFRESH_SECONDS). */
  readonly registryRefreshMs?: number;
  /**
   * How often device bookkeeping (first and last seen, counts, online) is written: one update per
   * device each time (default 5 s; dynalite spends 1.3-4 ms of its thread per update, alone and under
   * load).
   */
  readonly deviceBookkeepingMs?: number;
  /** Bootstrap brokers (`host:port`) of a Kafka cluster to use instead of the local log. */
  readonly kafkaBrokers?: readonly string[];
  /**
   * The time-series store: `duckdb` (default, embedded) or `dynamodb` (the AWS DynamoDB sink over
   * dynalite, to try the AWS path on a laptop).
   */
  readonly timeseries?: LocalTimeseriesStore;
  /** With `dynamodb`: how often the hourly rollup job runs (default every 5 minutes). */
  readonly rollupIntervalMs?: number;
  /** Retention of the local log (defaults in local/log/local-log.ts). */
  readonly logRetention?: LogRetention;
  /** Notification retries (issue 15; default DEFAULT_RETRY_POLICY); tests shorten the waits. */
  readonly notificationRetry?: RetryPolicy;
  /**
   * Issue 15: how often the no-data evaluator runs (default 15 s). Runs within one 60 s evaluation
   * window change nothing after the first, so any period up to the window works.
   */
  readonly noDataIntervalMs?: number;
}

export const LOCAL_TIMESERIES_STORES = ['duckdb', 'dynamodb'] as const;
export type LocalTimeseriesStore = (typeof LOCAL_TIMESERIES_STORES)[number];

export interface LocalPlatform {
  readonly mqttUrl: string;
  readonly httpUrl: string;
  readonly dataDir: string;
  /**
   * The metrics of `GET /metrics` (functions/shared/metrics.ts): features record through the
   * recording functions there, e.g. `recordNotificationDelivery(platform.metrics, ...)`.
   */
  readonly metrics: MetricsRecorder;
  /** Measured figures for the status line. */
  status(): PlatformStatus;
  /** One line per consumer: delivered, failed, lag. */
  consumerStatus(): string[];
  /** Drains in-flight work, commits offsets, closes every store. */
  stop(): Promise<void>;
  /** During stop(), the part whose close is running (for a stop that overruns its bound). */
  closing(): string | undefined;
}

export interface PlatformStatus {
  readonly received: number;
  readonly raw: number;
  readonly enriched: number;
  readonly dlq: number;
  readonly alerts: number;
  /** Matching messages of an already active alert condition, since start (not raised again). */
  readonly suppressedAlerts: number;
  readonly lag: number;
}

/** Inspector samples are samples, and dynalite is no firehose: up to `perSecond`, bursts included. */
function sampler(perSecond: number): () => boolean {
  const bucket = new TokenBucket(perSecond, perSecond);
  return () => bucket.tryTake();
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/**
 * A handler whose batches are measured (iot_handler_batch_records, iot_handler_batch_duration_seconds).
 * Not an async function: an async frame would hold the event (every record) until the batch is done.
 */
const timedHandler =
  (metrics: MetricsRecorder, name: string, handler: KafkaHandler): KafkaHandler =>
  (event) => {
    const records = recordCount(event);
    const started = performance.now();
    return handler(event).finally(() => recordBatch(metrics, name, records, performance.now() - started));
  };

/** A part's close that takes this long is logged at stop (which part spent the stop's time). */
const SLOW_CLOSE_MS = 1000;

/** The parts of the platform, each closing what it started; stop() closes them in a fixed order. */
type Part =
  | 'registry'
  | 'registry-refresh'
  | 'bookkeeping'
  | 'timeseries'
  | 'log'
  | 'consumers'
  | 'ingest'
  | 'no-data'
  | 'http';

/** What every stage is given: the options, the log, the metrics, and where to register its close step. */
interface StageContext {
  readonly options: LocalPlatformOptions;
  readonly dataDir: string;
  readonly log: (line: string) => void;
  readonly metrics: PrometheusMetrics;
  readonly onClose: (part: Part, close: () => Promise<void>) => void;
}

type DynamoWorker = Awaited<ReturnType<typeof startDynamoWriteWorker>>;
type LocalTimeseries =
  | Awaited<ReturnType<typeof startTimeseriesWorker>>
  | Awaited<ReturnType<typeof startDynamoTimeseries>>;

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const log = options.log ?? (() => {});
  const dataDir = options.dataDir;
  if (options.reset) await rm(dataDir, { recursive: true, force: true });
  // Each part registers how it closes; stop() and a failed start close them newest first.
  const cleanups: { part: Part; close: () => Promise<void> }[] = [];
  const onClose = (part: Part, close: () => Promise<void>) => cleanups.push({ part, close });
  // Parts closing now (ingest and http close together); a slow close is logged with its time.
  const closing = new Set<Part>();
  const closeParts = async (parts: readonly Part[]) => {
    for (const { part, close } of [...cleanups].reverse()) {
      if (!parts.includes(part)) continue;
      const started = Date.now();
      closing.add(part);
      await close();
      closing.delete(part);
      const tookMs = Date.now() - started;
      if (tookMs >= SLOW_CLOSE_MS) log(`stop: ${part} took ${(tookMs / 1000).toFixed(1)} s to close`);
    }
  };
  const fail = async (error: unknown) => {
    for (const { close } of [...cleanups].reverse()) await close().catch(() => undefined);
    throw error;
  };

  try {
    // Metrics (GET /metrics): one registry for the process; workers send theirs here (metrics/worker-buffer.ts).
    const context: StageContext = { options, dataDir, log, metrics: new PrometheusMetrics(), onClose };
    const registry = await startRegistry(context);
    const timeseries = await startTimeseries(context, registry);
    const pipeline = await openStream(context);
    // The stats of /api/stats and the counters of /metrics count at the same calls (see stats.ts).
    const stats = new PipelineStats(Date.now, context.metrics);
    const handlers = startPipelineHandlers(context, { registry, timeseries, pipeline, stats });
    const consumers = await startConsumers(context, { registry, pipeline, stats, handlers });
    const notificationChannels = await startNotifier(context, registry, consumers);
    const ingest = await startIngest(context, { registry, pipeline, stats, handlers });
    const dataOps = await startDataOps(context, registry, pipeline);
    const alarms = startNoDataTimer(context, { registry, timeseries, pipeline, stats });
    const http = await startHttp(context, {
      ...{ registry, timeseries, pipeline, stats, consumers, ingest, dataOps, alarms, notificationChannels },
    });
    const simulator = startSimulator(context, ingest.url);

    let stopped: Promise<void> | undefined;
    let finalStatus: PlatformStatus | undefined;
    const currentStatus = (): PlatformStatus => ({
      received: ingest.counters.received,
      ...streamTotals(pipeline),
      suppressedAlerts: stats.suppressedAlerts,
      lag: consumers.lag(),
    });
    return {
      mqttUrl: ingest.url,
      httpUrl: http.url,
      dataDir,
      metrics: context.metrics,
      // After stop() the stores are closed: report what they held when they closed.
      status: () => finalStatus ?? currentStatus(),
      consumerStatus: () => consumers.list.map((c) => c.statusLine()),
      stop: () => {
        stopped ??= (async () => {
          await simulator.stop();
          // Refuse new publishes and requests together (the HTTP close may wait out its grace period
          // for slow clients: the broker must not take publishes meanwhile), then drain the consumers,
          // snapshot, and close the stores.
          await Promise.all([closeParts(['ingest']), closeParts(['http'])]);
          await closeParts(['consumers']);
          finalStatus = currentStatus();
          await closeParts(['no-data', 'bookkeeping', 'log', 'timeseries', 'registry-refresh', 'registry']);
        })();
        return stopped;
      },
      closing: () => (closing.size > 0 ? [...closing].join(', ') : undefined),
    };
  } catch (error) {
    return fail(error);
  }
}

const streamTotals = (pipeline: PipelineStream) => ({
  raw: pipeline.endOffsetTotal(TOPICS.raw),
  enriched: pipeline.endOffsetTotal(TOPICS.enriched),
  dlq: pipeline.endOffsetTotal(TOPICS.dlq),
  alerts: pipeline.endOffsetTotal(TOPICS.alerts),
});

type LocalRegistry = Awaited<ReturnType<typeof startRegistry>>;

/**
 * Registry: dynalite on a free port, tables from the shared declarations, seeded on first start.
 * dynalite and the pipeline's high-rate writes run on a worker thread (see write-worker.ts).
 */
async function startRegistry({ dataDir, log, onClose, options }: StageContext) {
  const dynamo: DynamoWorker = await startDynamoWriteWorker({ dataDir: join(dataDir, 'dynamodb') });
  onClose('registry', () => dynamo.close());
  const tables = localTableNames();
  await ensureTables(dynamo.client, tables);
  await dynamo.useTables(tables);
  const client = documentClient(dynamo.client);
  const registryStore = new DynamoRegistryStore({ client, tables });
  // Ingest mappings (issue 14): stored beside the registry, seeded from registry-data/ingest-mappings.
  const mappingStore = new DynamoIngestMappingStore({ client, tableName: tables.ingestMappings });
  const seeded = await seedRegistry({ registry: registryStore, ingestMappings: mappingStore }, seedData);
  if (seeded.created.deviceTypes.length > 0)
    log(`seeded the registry: ${seeded.created.deviceTypes.join(', ')}`);

  const loadRegistry = async (): Promise<CompiledRegistry> => {
    const [types, applications, mappings] = await Promise.all([
      registryStore.listDeviceTypes(),
      registryStore.listApplications(),
      mappingStore.listIngestMappings(),
    ]);
    return compileRegistry({
      ingestMappings: mappings.map((record) => record.mapping),
      deviceTypes: types.map((t) => t.deviceType),
      alertRules: types.map((t) => ({ deviceType: t.deviceType.typeId, rules: [...t.alertRules] })),
      // The compiled registry copies only public fields; list results carry no contact e-mail.
      applications: applications as unknown as Application[],
    });
  };
  let registry = await loadRegistry();
  // Loads overlap (the timer and a write through the API): the newest load started wins.
  let loadsStarted = 0;
  let loadApplied = 0;
  const reloadRegistry = async () => {
    const load = ++loadsStarted;
    const next = await loadRegistry();
    if (load > loadApplied) {
      loadApplied = load;
      registry = next;
    }
  };
  const refresh = setInterval(
    () => {
      reloadRegistry().catch((error: unknown) =>
        log(`registry refresh failed, keeping the previous one: ${String(error)}`),
      );
    },
    options.registryRefreshMs ?? REGISTRY_REFRESH_SECONDS * 1000,
  );
  onClose('registry-refresh', async () => clearInterval(refresh));
  return {
    dynamo,
    tables,
    client,
    registryStore,
    mappingStore,
    deviceStore: new DynamoDeviceStore({ client, tableName: tables.devices }),
    samples: new DynamoMessageSampleStore({ client, tableName: tables.messages }),
    current: () => registry,
    reload: reloadRegistry,
  };
}

/**
 * DuckDB and the time-series writer handler run on a worker thread (see timeseries/worker.ts); the
 * DynamoDB sink on this thread, its tables in the registry's dynalite.
 */
async function startTimeseries(
  { dataDir, log, metrics, onClose, options }: StageContext,
  { dynamo, tables }: LocalRegistry,
): Promise<LocalTimeseries> {
  const timeseriesStore = options.timeseries ?? 'duckdb';
  const timeseries =
    timeseriesStore === 'dynamodb'
      ? await startDynamoTimeseries({
          client: dynamo.client,
          devicesTable: tables.devices,
          log,
          metrics,
          ...(options.rollupIntervalMs ? { rollupIntervalMs: options.rollupIntervalMs } : {}),
        })
      : await startTimeseriesWorker({ path: join(dataDir, 'timeseries.duckdb') }, metrics);
  onClose('timeseries', () => timeseries.close());
  log(`time series: ${timeseriesStore === 'dynamodb' ? 'DynamoDB sink (dynalite)' : 'DuckDB'}`);
  return timeseries;
}

/** The stream: the local log, or a real Kafka cluster with --kafka-brokers (same handlers either way). */
async function openStream({ dataDir, log, onClose, options }: StageContext): Promise<PipelineStream> {
  const pipeline = options.kafkaBrokers
    ? await openKafkaStream(options.kafkaBrokers, (message) => log(`kafka: ${message}`))
    : await openLocalLogStream(dataDir, (message) => log(`log: ${message}`), options.logRetention);
  onClose('log', () => pipeline.close());
  log(`stream: ${pipeline.description}`);
  return pipeline;
}

interface PipelineParts {
  readonly registry: LocalRegistry;
  readonly timeseries: LocalTimeseries;
  readonly pipeline: PipelineStream;
  readonly stats: PipelineStats;
}
type PipelineHandlers = ReturnType<typeof startPipelineHandlers>;

/** Handlers: the same factories the Lambda entry points use; device bookkeeping on a timer. */
function startPipelineHandlers(
  { log, onClose, options }: StageContext,
  { registry, timeseries, pipeline, stats }: PipelineParts,
) {
  const { dynamo } = registry;
  // Issue 14: nothing flagged is out of sight. Every enriched message whose verdict is not GOOD is
  // kept for the inspector (told by the enrich handler once produced; the sample store bounds each
  // device's samples); the inspector leaves them to this path, so none is kept twice.
  const keepFlagged = (message: EnrichedMessage) => {
    dynamo
      .addSample('enriched', {
        id: `enriched.${createHash('sha256').update(message.enrichment_info.message_id).digest('hex').slice(0, 32)}`,
        time: Date.parse(message.enrichment_info.received_at),
        deviceId: message.device_id,
        body: message,
      })
      .catch((error: unknown) => log(`inspector enriched: a flagged sample write failed: ${String(error)}`));
  };
  const bridge = createIngestBridgeHandler({ producer: pipeline.producer });
  const enrich = createEnrichHandler({
    producer: pipeline.producer,
    registry: registry.current,
    service: 'iot-cloud-enrich',
    serviceVersion: SERVICE_VERSION,
    // On its own log this process is the stream's only consumer, so a mirror of the alert state
    // saves a worker round trip per batch; a shared Kafka group must read the table every batch.
    alertState: options.kafkaBrokers ? dynamo.alertState : new CachedAlertStateStore(dynamo.alertState),
    onOutcome: (outcome) => {
      stats.recordOutcome(outcome);
      if (outcome.flagged) keepFlagged(outcome.flagged);
    },
    onSuppressedAlerts: (count) => stats.recordSuppressedAlerts(count),
  });

  // Device bookkeeping, one update per device per flush: counts, first and last seen (the same
  // accumulation as the Lambda's, functions/handlers/batch-bookkeeping.ts).
  const seen = new DeviceSeenBatch();
  // The time-series writer handler runs in the time-series worker, next to DuckDB.
  const writer = timeseries.writer(
    (written) => {
      // Measured in the worker once the points were committed: from the device's clock to queryable.
      if (written.latencyMs !== undefined) stats.recordLatency(written.latencyMs);
      seen.add(written.deviceId, written.deviceType, written.receivedAt, written.online, written.readings);
    },
    // Issue 15: the readings no-data rules watch, recorded on the device records (what the no-data
    // evaluator reads, as in AWS).
    () => watchedReadingsOf(registry.current()),
  );
  // Device bookkeeping leaves the hot path: one update per device every few seconds, and a last one
  // on stop.
  // Its counts follow delivery (at least once); the API shows counts derived from the store instead
  // (withStoredCounts in localDevices), which stay exact across a crash.
  const flushSeen = async () => {
    if (seen.size === 0) return;
    await dynamo.recordSeen(seen.drain()).catch((error: unknown) => log(String(error)));
  };
  let seenFlush: Promise<void> = Promise.resolve();
  const seenTimer = setInterval(() => {
    seenFlush = seenFlush.then(flushSeen);
  }, options.deviceBookkeepingMs ?? DEFAULT_DEVICE_BOOKKEEPING_MS);
  onClose('bookkeeping', async () => {
    clearInterval(seenTimer);
    await seenFlush;
    await flushSeen();
  });
  return { bridge, enrich, writer };
}

/**
 * The inspector: samples of each stage, every alert. Every alert is stored in the alerts table
 * anyway, so its samples are as sparse as raw and enriched ones (at 100/s they were a fifth of the
 * DynamoDB worker's requests in bench:e2e); dead letters are all kept, each one matters.
 * Issue 14: every dead letter is kept (the sample store bounds each device's).
 */
function inspectorHandlers(
  dynamo: DynamoWorker,
  stats: PipelineStats,
  log: (line: string) => void,
): (stage: MessageStage) => KafkaHandler {
  const sampleAllowed: Record<MessageStage, () => boolean> = {
    raw: sampler(20),
    enriched: sampler(20),
    dlq: () => true,
    alerts: sampler(20),
  };
  return (stage: MessageStage): KafkaHandler =>
    async (event: KafkaEvent) => {
      const writes: Promise<void>[] = [];
      const alerts: Alert[] = [];
      for (const record of eachRecord(event)) {
        // Raw and enriched records are only sampled: decide before paying for the parse.
        const sampled = sampleAllowed[stage]();
        if (!sampled && (stage === 'raw' || stage === 'enriched')) continue;
        const text = recordValue(record).toString('utf8');
        const key = record.key ? Buffer.from(record.key, 'base64').toString('utf8') : undefined;
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = { payload_base64: record.value };
        }
        if (stage === 'alerts') alerts.push(body as Alert);
        // Flagged enriched messages are all kept by keepFlagged (startPipelineHandlers), under their own id.
        if (stage === 'enriched' && (body as Partial<EnrichedMessage>).data_quality?.verdict !== 'GOOD')
          continue;
        // Enrich rejections are counted from its outcomes; other stages' dead letters are counted here.
        if (stage === 'dlq') {
          const letter = body as { stage?: string; reason?: string };
          if (letter.stage !== 'enrich') stats.recordDeadLetter(letter.reason ?? 'UNKNOWN', record.timestamp);
        }
        if (!sampled) continue;
        writes.push(
          dynamo.addSample(stage, {
            id: `${record.topic}.${record.partition}.${record.offset}`.replaceAll('iot.', ''),
            time: record.timestamp,
            ...(key && key !== 'unknown' ? { deviceId: key } : {}),
            body,
          }),
        );
      }
      if (alerts.length > 0) writes.push(dynamo.addAlerts(alerts));
      const results = await Promise.allSettled(writes);
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed > 0) log(`inspector ${stage}: ${failed} sample write(s) failed`);
      return { batchItemFailures: [] };
    };
}

type LocalConsumers = Awaited<ReturnType<typeof startConsumers>>;

/** The consumers of the pipeline stages and the inspector, with their names for health and metrics. */
async function startConsumers(
  { log, metrics, onClose, options }: StageContext,
  { registry, pipeline, stats, handlers }: Omit<PipelineParts, 'timeseries'> & { handlers: PipelineHandlers },
) {
  const consumers: StreamConsumer[] = [];
  const consumerNames = new Map<StreamConsumer, string>();
  const consumerTopics = new Map<StreamConsumer, string>();
  // Consumer lag by partition, read at each scrape of /metrics.
  metrics.addLagSource(() =>
    consumers.flatMap((consumer) =>
      Object.entries(consumer.stats().lagByPartition ?? {}).map(([partition, lag]) => ({
        consumer: consumerNames.get(consumer) ?? 'consumer',
        topic: consumerTopics.get(consumer) ?? 'unknown',
        partition,
        lag,
      })),
    ),
  );
  const reportConsumerError = (error: unknown, context: { consumer: string; stage: string }) =>
    log(`${context.consumer} ${context.stage}: ${String(error)}`);
  const consume = async (
    topic: string,
    group: string,
    name: string,
    handler: KafkaHandler,
    bestEffort = false,
  ) => {
    // The pipeline stages take big batches (MSK event source mappings allow up to 10,000 records):
    // fewer commits and fsyncs per record under load. Their window is short, since a record waits
    // for it at each stage; the inspector's samples can wait longer in fewer, larger batches.
    const consumer = await pipeline.subscribe({
      topic,
      group,
      name,
      handler: timedHandler(metrics, name, handler),
      batchSize: 500,
      batchWindowMs: bestEffort ? INSPECTOR_BATCH_WINDOW_MS : PIPELINE_BATCH_WINDOW_MS,
      // Inspector samples are best effort: they need no dead-letter topic of their own.
      ...(bestEffort ? { dlqTopic: false as const } : {}),
      onError: reportConsumerError,
    });
    consumers.push(consumer);
    consumerNames.set(consumer, name);
    consumerTopics.set(consumer, topic);
  };
  onClose('consumers', async () => {
    await Promise.all(consumers.map((c) => c.stop()));
  });
  const inspector = inspectorHandlers(registry.dynamo, stats, log);
  // The local log keeps a group's offsets per topic; a Kafka group shares one assignment across its
  // topics, so there each inspector stage gets a group of its own.
  const inspectorGroup = (stage: MessageStage) =>
    options.kafkaBrokers ? `iot-cloud-inspector-${stage}` : 'iot-cloud-inspector';
  await consume(TOPICS.raw, CONSUMER_GROUPS.enrich, 'enrich', handlers.enrich);
  await consume(TOPICS.enriched, CONSUMER_GROUPS.timeseriesWriter, 'timeseries-writer', handlers.writer);
  // Raw and enriched records are only sampled: on the local log, read just the newest records.
  for (const stage of ['raw', 'enriched'] as const) {
    const name = `inspector-${stage}`;
    if (pipeline.sampleNewest) {
      const sampler = pipeline.sampleNewest({
        topic: TOPICS[stage],
        name,
        intervalMs: INSPECTOR_SAMPLE_INTERVAL_MS,
        handler: inspector(stage),
        onError: reportConsumerError,
      });
      consumers.push(sampler);
      consumerNames.set(sampler, name);
    } else await consume(TOPICS[stage], inspectorGroup(stage), name, inspector(stage), true);
  }
  await consume(TOPICS.dlq, inspectorGroup('dlq'), 'inspector-dlq', inspector('dlq'), true);
  await consume(TOPICS.alerts, inspectorGroup('alerts'), 'inspector-alerts', inspector('alerts'), true);
  return {
    list: consumers,
    consume,
    nameOf: (consumer: StreamConsumer) => consumerNames.get(consumer) ?? 'consumer',
    lag: () => sum(consumers.map((c) => c.stats().lag)),
  };
}

/**
 * Notifications (issue 15): its own consumer group on iot.alerts, so the alert path never waits on a
 * receiver. Locally http and private addresses are allowed (receivers on this machine are the point
 * of testing); link-local and metadata addresses never are. No SNS here: sns channels are refused at PUT.
 */
async function startNotifier(
  { log, metrics, options }: StageContext,
  { client, tables }: LocalRegistry,
  consumers: LocalConsumers,
) {
  const notificationChannels = new DynamoNotificationChannelStore({
    client,
    tableName: tables.notifications,
  });
  const notificationRetry = options.notificationRetry ?? DEFAULT_RETRY_POLICY;
  const notifier = createNotifier({
    channels: notificationChannels,
    senders: createChannelSenders({
      policy: LOCAL_URL_POLICY,
      attemptTimeoutMs: notificationRetry.attemptTimeoutMs,
    }),
    retry: notificationRetry,
    // A channel edit applies to the next batch.
    channelCacheMs: 0,
    onDelivery: (delivery, channel) => {
      recordNotificationDelivery(metrics, {
        channel: channel.type,
        outcome: delivery.status,
        ...(delivery.status === 'failed' ? { reason: deliveryFailureReason(delivery.lastError) } : {}),
      });
      if (delivery.status === 'failed')
        log(`notifier: ${delivery.channelId} gave up on ${delivery.alertId}: ${delivery.lastError ?? ''}`);
    },
    onSkipped: (reason) => log(`notifier: ${reason}`),
  });
  await consumers.consume(TOPICS.alerts, CONSUMER_GROUPS.notifier, 'notifier', notifier.kafkaHandler);
  return notificationChannels;
}

/**
 * MQTT in: embedded aedes or an external broker, through the ingest rule, to the bridge. A publish is
 * acknowledged once the bridge's append is durable (see mqtt-ingest.ts).
 */
async function startIngest(
  { dataDir, log, metrics, onClose, options }: StageContext,
  { registry, pipeline, stats, handlers }: Omit<PipelineParts, 'timeseries'> & { handlers: PipelineHandlers },
) {
  const ingest = await startMqttIngest({
    bridge: async (event) => {
      const started = performance.now();
      const response = await handlers
        .bridge(event)
        .finally(() =>
          recordBatch(metrics, 'ingest-bridge', event.Records.length, performance.now() - started),
        );
      stats.recordRaw(event.Records.length - response.batchItemFailures.length);
      return response;
    },
    deadLetter: (records) => pipeline.producer.send(TOPICS.dlq, records),
    ...(options.externalBroker
      ? {
          externalBroker: options.externalBroker,
          // One persistent session per data directory: a restart on it gets what the broker kept.
          sessionClientId: `iot-cloud-ingest-${createHash('sha256').update(dataDir).digest('hex').slice(0, 6)}`,
        }
      : { port: options.mqttPort ?? 1883 }),
    onError: (error) => log(`ingest: ${error.message}`),
    // Ingest mappings (issue 14): the topics the current registry's mappings declare are routed too.
    mappingTopics: () => mappingTopicsOf(registry.current()),
  });
  onClose('ingest', () => ingest.close());
  return ingest;
}

/**
 * Data operations (issue 16): triage, redrive and replay over the stream's retained records. Progress
 * and the one-replay-per-type locks are kept in the operations table (dynalite, declared in
 * TABLES.operations like the others), so they survive a restart. The replay locks take no lease: this
 * process is the runner, and at start what a previous process left running (crash, kill -9) is ended
 * as `interrupted`, its locks released, before any request.
 */
async function startDataOps(
  { log, onClose }: StageContext,
  registry: LocalRegistry,
  pipeline: PipelineStream,
) {
  if (!pipeline.rangeReader) return undefined;
  const dataOps = createDataOps({
    reader: pipeline.rangeReader,
    producer: pipeline.producer,
    operations: new DynamoOperationStore({ client: registry.client, tableName: registry.tables.operations }),
    deviceTypeOf: async (deviceId) => (await registry.deviceStore.getDevice(deviceId))?.deviceType,
    onError: (error, id) => log(`replay ${id} failed: ${String(error)}`),
  });
  onClose('consumers', () => dataOps.stop());
  for (const ended of await dataOps.recoverInterrupted())
    log(
      `${ended.kind} ${ended.id}, left running by a previous process, ended as interrupted (sent ${ended.sent})`,
    );
  return dataOps;
}

/**
 * Alarms (issue 15): operator clears and no-data events go to iot.alerts like the enrich stage's, and
 * are stored through the alert store (idempotent on alert_id). The no-data evaluator runs on a timer
 * (the Lambda's EventBridge Scheduler schedule in AWS). It reads and writes the alert state store
 * itself, not the enrich stage's mirror: the rules it decides are never evaluated per message, so the
 * two never write the same (device, rule) item.
 */
function startNoDataTimer(
  { log, onClose, options }: StageContext,
  { registry, pipeline, stats }: PipelineParts,
) {
  const alertStore = new DynamoAlertStore({ client: registry.client, tableName: registry.tables.alerts });
  // Counted like the enrich stage's alert events: records of iot.alerts (stats and /metrics).
  const publishAlerts = async (events: readonly Alert[]) => {
    await pipeline.producer.send(
      TOPICS.alerts,
      events.map((event) => ({
        key: event.device_id,
        value: Buffer.from(JSON.stringify(event)),
        timestamp: Date.parse(event.raised_at),
      })),
    );
    stats.recordAlertEvents(events);
  };
  const evaluateNoData = createNoDataHandler({
    registry: registry.current,
    // Reading-level rules too: the device records hold each watched reading's last-seen time.
    devices: registry.deviceStore,
    alertState: registry.dynamo.alertState,
    alerts: alertStore,
    publish: publishAlerts,
  });
  // One run at a time (a tick during a run is skipped); a stop ends the running one early (its
  // decisions so far are stored): a run over a large fleet once held a 30-minute soak's stop past its bound.
  let noDataRun: Promise<unknown> | undefined;
  const stopping = new AbortController();
  const noDataTimer = setInterval(() => {
    noDataRun ??= evaluateNoData(stopping.signal)
      .catch((error: unknown) =>
        log(`no-data evaluator: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        noDataRun = undefined;
      });
  }, options.noDataIntervalMs ?? 15_000);
  onClose('no-data', async () => {
    clearInterval(noDataTimer);
    stopping.abort();
    await noDataRun;
  });
  return { alertStore, publishAlerts };
}

interface HttpParts extends PipelineParts {
  readonly consumers: LocalConsumers;
  readonly ingest: Awaited<ReturnType<typeof startIngest>>;
  readonly dataOps: Awaited<ReturnType<typeof startDataOps>>;
  readonly alarms: ReturnType<typeof startNoDataTimer>;
  readonly notificationChannels: DynamoNotificationChannelStore;
}

/** The API handler (the same factory as the API Lambda's) and the HTTP server with the dashboard. */
async function startHttp(context: StageContext, parts: HttpParts) {
  const { log, metrics, onClose, options } = context;
  const { registry, timeseries, stats, consumers, dataOps, alarms } = parts;
  const timeseriesStore = options.timeseries ?? 'duckdb';
  const api = createApiHandler({
    ...(dataOps ? { dataOps } : {}),
    version: SERVICE_VERSION,
    registry: refreshingRegistry(registry, log),
    ingestMappings: registry.mappingStore,
    // The alerts route reads through the same client (writes are the inspector's; the lifecycle
    // routes write through it too).
    alerts: alarms.alertStore,
    publishAlert: (event) => alarms.publishAlerts([event]),
    auth: options.apiToken ? { mode: 'bearer', token: options.apiToken } : { mode: 'open' },
    onError: (error, route) =>
      log(`api ${route}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    // Notification channels (issue 15): URLs checked with the local policy (resolved, as at delivery).
    notifications: {
      store: parts.notificationChannels,
      checkUrl: async (url) => {
        await checkTarget(url, LOCAL_URL_POLICY);
      },
      snsAvailable: false,
    },
    devices: localDevices(registry, timeseries),
    timeseries,
    // Export (issue 16): Parquet through DuckDB locally.
    parquet: duckdbParquetEncoder,
    messages: { recent: (stage, query) => registry.samples.recent(stage, query) },
    // Issue 14: dry runs use the enrich handler's own registry and only read the alert state.
    preview: { registry: async () => registry.current(), alertState: registry.dynamo.alertState },
    stats: async (windowMinutes) => ({
      ...stats.snapshot(windowMinutes, streamTotals(parts.pipeline)),
      pipeline: {
        consumerLag: consumers.lag(),
        // DuckDB counts its rows cheaply; the DynamoDB sink would Scan every item (as in AWS, left out).
        ...(timeseriesStore === 'duckdb' ? { storedPoints: await timeseries.count() } : {}),
        latencyMs: stats.latencyPercentiles(windowMinutes),
      },
    }),
    health: healthCheck(log, parts),
  });
  const http = await startHttpServer({
    api,
    // Export (issue 16): files are streamed, not buffered.
    streamingApi: api.exportStream,
    dashboardDir: options.dashboardDir ?? DASHBOARD_DIST_DIR,
    port: options.httpPort ?? 3000,
    metrics,
  });
  onClose('http', () => http.close());
  return http;
}

/**
 * Data operations (issue 16): locally a device-type edit through the API takes effect at once (not
 * at the next refresh), so a redrive right after the fix meets the new definition. In AWS the enrich
 * functions' caches refresh every REGISTRY_REFRESH_SECONDS.
 */
function refreshingRegistry(registry: LocalRegistry, log: (line: string) => void): DynamoRegistryStore {
  const refreshingWrites = new Set<PropertyKey>(['putDeviceType', 'createDeviceType', 'deleteDeviceType']);
  return new Proxy(registry.registryStore, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!refreshingWrites.has(property)) return value.bind(target);
      return async (...args: unknown[]) => {
        const result: unknown = await value.apply(target, args);
        await registry
          .reload()
          .catch((error: unknown) => log(`registry refresh after an edit failed: ${String(error)}`));
        return result;
      };
    },
  });
}

/** The device routes: records from the device store, message counts from the time-series store. */
function localDevices(registry: LocalRegistry, timeseries: LocalTimeseries) {
  const { deviceStore } = registry;
  // The registry of record (as compiled and refreshed), not the seed file: types added later count too.
  const reportingIntervalMs = (typeId: string) =>
    (registry.current().types.get(typeId)?.definition.updateFrequencySeconds ?? 60) * 1000;
  const toSummary = (device: DeviceRecord) => toDeviceSummary(device, reportingIntervalMs(device.deviceType));
  // A device's message count is derived from the points stored, not from the bookkeeping's running
  // count: that one is written every few seconds apart from the consumers' offsets, so a crash made
  // it drift (lost increments, or redelivered batches counted twice); the store is idempotent.
  const withStoredCounts = async (devices: readonly DeviceRecord[]) => {
    const counts = await timeseries.messageCounts(devices.map((d) => d.deviceId));
    return devices.map((device) => toSummary({ ...device, messageCount: counts.get(device.deviceId) ?? 0 }));
  };
  return {
    list: async (query: Parameters<DynamoDeviceStore['listDevices']>[0]) => {
      const page = await deviceStore.listDevices(query);
      return {
        items: await withStoredCounts(page.items),
        ...(page.nextCursor ? { cursor: page.nextCursor } : {}),
      };
    },
    get: async (deviceId: string) => {
      const device = await deviceStore.getDevice(deviceId);
      return device ? (await withStoredCounts([device]))[0] : undefined;
    },
  };
}

/** GET /api/health: each component, and each pipeline stage by name so the answer says which one is stuck. */
function healthCheck(log: (line: string) => void, { registry, consumers, ingest }: HttpParts) {
  let lastStuckDetail: string | undefined;
  return async () => {
    const ingestHealth = ingest.health();
    const components: Record<string, 'ok' | 'degraded'> = {
      broker: 'ok',
      // A publish that waits for the stream too long, or that the bridge refused.
      ingest: ingestHealth.state === 'ok' ? 'ok' : 'degraded',
      log: 'ok',
      timeseries: 'ok',
      registry: 'ok',
    };
    if (ingestHealth.state === 'stuck' && ingestHealth.detail !== lastStuckDetail)
      log(`health: ingest is stuck: ${ingestHealth.detail}`);
    lastStuckDetail = ingestHealth.state === 'stuck' ? ingestHealth.detail : undefined;
    try {
      await registry.registryStore.getDeviceType('smart_breaker');
    } catch {
      components.registry = 'degraded';
    }
    for (const consumer of consumers.list) {
      const running = consumer.stats().state === 'running';
      components[consumers.nameOf(consumer)] = running ? 'ok' : 'degraded';
      if (!running) components.log = 'degraded';
    }
    return components;
  };
}

/** A small simulated fleet, publishing over real MQTT like any device. */
function startSimulator({ log, options }: StageContext, mqttUrl: string) {
  const simulation = new AbortController();
  let simulationRun: Promise<unknown> = Promise.resolve();
  if ((options.simulatedDevices ?? 0) > 0) {
    const fleet = createSimulatedFleet({
      devices: options.simulatedDevices ?? 8,
      seed: options.seed ?? 1,
      startTime: Date.now(),
    });
    const transport = createTransport({
      kind: 'mqtt',
      url: mqttUrl,
      protocolVersion: 4,
      connectionMode: 'per-device',
    });
    simulationRun = runFleet({
      fleet,
      transport,
      realTime: true,
      signal: simulation.signal,
      progressIntervalMs: 60_000,
    }).catch((error: unknown) =>
      log(`simulator stopped: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
  return {
    stop: async () => {
      simulation.abort();
      await simulationRun;
    },
  };
}
