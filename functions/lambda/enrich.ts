/**
 * Lambda entry: enrich. MSK event source mapping on `iot.raw` (consumer group
 * CONSUMER_GROUPS.enrich) -> the shared handler (functions/handlers/enrich.ts) -> `iot.enriched`,
 * `iot.alerts`, `iot.dlq`; then, from what was durably produced, DynamoDB bookkeeping: devices
 * (one conditional update per device per batch), alerts (idempotent on alert_id), inspector samples
 * (a few per stage per batch) and the pipeline-stats counters (one UpdateItem per minute bucket).
 *
 * Responses: Kafka partial batch response (`ReportBatchItemFailures` on the event source mapping): a
 * record that hits a bug is reported alone; a rejected message is not a failure (it goes to iot.dlq
 * with its reason). A failed produce or a failed alert write throws: the batch is retried (every
 * downstream write is idempotent). Samples, device and stats updates are views: their failures are
 * logged and measured, never retried.
 *
 * Alerts are edge-triggered (functions/core/alert-state.ts): per batch, one strongly consistent Query
 * per device reads its alert condition state from the alerts table, and only transitions are written
 * (conditional puts). No cache across invocations: successive batches of one partition can run on
 * different instances, so only the table knows the current state. Continuations are counted in the
 * `AlertsSuppressed` metric.
 *
 * The registry (device types, alert rules, applications) is read at the first invocation and re-read
 * once older than REGISTRY_REFRESH_SECONDS, so an edit applies within that bound.
 *
 * Env vars read:
 *   KAFKA_BOOTSTRAP_BROKERS   MSK IAM bootstrap brokers (host:9098,...)                    required
 *   DEVICE_TYPES_TABLE, APPLICATIONS_TABLE, DEVICES_TABLE, MESSAGES_TABLE, ALERTS_TABLE,
 *   PIPELINE_STATS_TABLE, INGEST_MAPPINGS_TABLE  table names                              required
 *   PLATFORM_VERSION          stamped into enriched messages as the service version        required
 *   REGISTRY_REFRESH_SECONDS  registry re-read period, 1-3600, default 60                  optional
 *   AWS_REGION                set by Lambda; signs the MSK IAM token                       required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL         optional
 * AWS resources and actions used:
 *   MSK cluster: kafka-cluster:Connect, kafka-cluster:WriteDataIdempotently (cluster ARN);
 *     kafka-cluster:DescribeTopic, kafka-cluster:WriteData (iot.enriched, iot.alerts, iot.dlq);
 *     the event source mapping (execution role): kafka-cluster:Connect, kafka-cluster:DescribeGroup,
 *     kafka-cluster:AlterGroup (group iot-cloud-enrich), kafka-cluster:DescribeTopic,
 *     kafka-cluster:ReadData (iot.raw), kafka-cluster:DescribeClusterDynamicConfiguration,
 *     kafka:DescribeClusterV2 (V2: required for MSK Serverless), kafka:GetBootstrapBrokers, and
 *     ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface,
 *     ec2:DescribeVpcs, ec2:DescribeSubnets, ec2:DescribeSecurityGroups (the pollers reach the
 *     private cluster through ENIs, whether or not the function itself is in the VPC; these are the
 *     actions of the AWSLambdaMSKExecutionRole managed policy, which has Resource "*")
 *   DynamoDB: dynamodb:Scan (device types, applications and ingest mappings tables: the registry); dynamodb:UpdateItem
 *     (devices); dynamodb:PutItem, dynamodb:GetItem, dynamodb:Query (alerts: alerts, their claims and
 *     the alert condition state), dynamodb:UpdateItem (alerts: a clear marks its raise, issue 15);
 *     dynamodb:PutItem, dynamodb:Query, dynamodb:BatchWriteItem (messages: samples, and trimming each
 *     device's to its newest);
 *     dynamodb:UpdateItem (pipeline stats)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 *   In the VPC: the AWSLambdaVPCAccessExecutionRole ENI actions.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoIngestMappingStore,
  DynamoMessageSampleStore,
  DynamoRegistryStore,
  documentClient,
} from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import { forEachLimited } from '../adapters/dynamodb/support.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import { isDeviceId, MESSAGE_ID_PATTERN } from '../core/contract/identifiers.js';
import type { Alert, EnrichedMessage } from '../core/contract/messages.js';
import type { CompiledRegistry } from '../core/registry.js';
import { createEnrichHandler, type EnrichOutcomeSummary } from '../handlers/enrich.js';
import { eachRecord, recordCount, recordValue } from '../handlers/kafka-records.js';
import {
  type AlertStateStore,
  type AlertStore,
  type DeviceStore,
  type MessageSampleInput,
  type MessageSampleStore,
  type MessageStage,
  ValidationError,
} from '../ports/registry.js';
import type { KafkaBatchResponse, KafkaEvent, StreamProducer, StreamRecord } from '../ports/stream.js';
import { recordDeadLetter, recordEnriched, timedBatch } from '../shared/metrics.js';
import { TOPICS } from '../shared/stream.js';
import { AWS_REGION_ENV, readBrokers, readRegistryRefreshMs, readTableNames } from './config.js';
import { ENV, requireEnv } from './environment.js';
import {
  createObservability,
  instrument,
  MetricUnit,
  type Observability,
  traceClient,
} from './observability.js';
import { loadCompiledRegistry, parseJson, RecordingProducer, Refreshing } from './support.js';

/**
 * Inspector samples per stage per batch: the inspector shows the latest few hundred, not every message.
 * Issue 14: nothing flagged is out of sight, so enriched messages whose verdict is not GOOD and every
 * dead letter are kept besides these (the sample store bounds each device's samples).
 */
export const SAMPLES_PER_BATCH: Readonly<Record<MessageStage, number>> = {
  raw: 5,
  enriched: 5,
  dlq: 25,
  alerts: 25,
};
/** Sample writes in flight at once: a batch of rejections may hold thousands. */
const SAMPLE_WRITE_CONCURRENCY = 16;

export interface EnrichLambdaDependencies {
  readonly producer: StreamProducer;
  readonly registry: () => Promise<CompiledRegistry>;
  readonly devices: Pick<DeviceStore, 'recordSeen'>;
  readonly samples: Pick<MessageSampleStore, 'add'>;
  readonly alerts: Pick<AlertStore, 'add'>;
  readonly alertState: AlertStateStore;
  readonly stats: Pick<DynamoPipelineStatsStore, 'flush'>;
  readonly observability: Observability;
  readonly serviceVersion: string;
  readonly now?: () => number;
}

/** A sample id from any text: the id alphabet, at most 128 characters. */
function sampleId(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128);
  return MESSAGE_ID_PATTERN.test(cleaned)
    ? cleaned
    : `h${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
}

const decodeKey = (key: string | undefined) =>
  key ? Buffer.from(key, 'base64').toString('utf8') : undefined;

export function createEnrichLambda(dependencies: EnrichLambdaDependencies) {
  const { logger, metrics, pipelineMetrics } = dependencies.observability;
  const now = dependencies.now ?? Date.now;

  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const registry = await dependencies.registry();
    const producer = new RecordingProducer(dependencies.producer);
    const outcomes: EnrichOutcomeSummary[] = [];
    let suppressed = 0;
    const enrich = createEnrichHandler({
      producer,
      registry: () => registry,
      service: 'iot-cloud-enrich',
      serviceVersion: dependencies.serviceVersion,
      now,
      alertState: dependencies.alertState,
      onOutcome: (outcome) => outcomes.push(outcome),
      onSuppressedAlerts: (count) => {
        suppressed += count;
      },
    });
    const response = await timedBatch(pipelineMetrics, 'enrich', recordCount(event), () => enrich(event));
    // The declared metrics count the outcomes the stats count (statsOf below).
    for (const outcome of outcomes) {
      if (outcome.kind === 'enriched') recordEnriched(pipelineMetrics, outcome);
      else recordDeadLetter(pipelineMetrics, outcome.reason ?? 'UNKNOWN');
    }

    const enriched = producer.sent(TOPICS.enriched).flatMap((record) => {
      const message = parseJson(record.value) as EnrichedMessage | undefined;
      return message ? [message] : [];
    });
    const alerts = producer.sent(TOPICS.alerts).flatMap((record) => {
      const alert = parseJson(record.value) as Alert | undefined;
      return alert ? [alert] : [];
    });

    // Alerts are what operators act on: a failed write fails the batch (retried; idempotent on alert_id).
    // An alert the store refuses as invalid would be refused on every retry: it stays in iot.alerts
    // and is reported, rather than blocking the partition.
    if (alerts.length > 0) {
      await dependencies.alerts.add(alerts).catch((error: unknown) => {
        if (!(error instanceof ValidationError)) throw error;
        logger.error('alerts refused by the alert store; they remain in iot.alerts', {
          error: error.message,
          details: error.details,
        });
        metrics.addMetric('AlertsRefused', MetricUnit.Count, alerts.length);
      });
    }

    const views = await Promise.allSettled([
      dependencies.stats.flush(statsOf(outcomes)),
      ...deviceUpdates(enriched).map((update) => dependencies.devices.recordSeen(update)),
      forEachLimited(
        samplesOf(event, enriched, producer.sent(TOPICS.dlq), alerts),
        SAMPLE_WRITE_CONCURRENCY,
        ([stage, sample]) => dependencies.samples.add(stage, sample),
      ),
    ]);
    const failedViews = views.filter((result) => result.status === 'rejected');
    if (failedViews.length > 0) {
      logger.warn('bookkeeping writes failed (samples, devices or stats)', {
        failed: failedViews.length,
        first: String((failedViews[0] as PromiseRejectedResult).reason),
      });
    }

    metrics.addMetric('Enriched', MetricUnit.Count, outcomes.filter((o) => o.kind === 'enriched').length);
    metrics.addMetric('Rejected', MetricUnit.Count, outcomes.filter((o) => o.kind === 'rejected').length);
    metrics.addMetric('AlertsRaised', MetricUnit.Count, alerts.length);
    metrics.addMetric('AlertsSuppressed', MetricUnit.Count, suppressed);
    metrics.addMetric('FailedRecords', MetricUnit.Count, response.batchItemFailures.length);
    metrics.addMetric('BookkeepingFailures', MetricUnit.Count, failedViews.length);
    if (response.batchItemFailures.length > 0) {
      logger.error('records failed unexpectedly and will be retried', {
        records: response.batchItemFailures.map(
          (f) => `${f.itemIdentifier.partition}@${f.itemIdentifier.offset}`,
        ),
      });
    }
    return response;
  };
}

function statsOf(outcomes: readonly EnrichOutcomeSummary[]): StatsBatch {
  const batch = new StatsBatch();
  for (const outcome of outcomes) {
    if (outcome.kind === 'enriched')
      batch.enriched(outcome.time, outcome.deviceType, outcome.verdict, outcome.alerts);
    else batch.deadLetter(outcome.time, outcome.reason ?? 'UNKNOWN');
  }
  return batch;
}

/** One update per device per batch: its newest receive time, how many messages, its online flag. */
function deviceUpdates(messages: readonly EnrichedMessage[]) {
  const byDevice = new Map<string, { deviceType: string; time: number; count: number; online?: boolean }>();
  for (const message of messages) {
    const time = Date.parse(message.enrichment_info.received_at);
    const entry = byDevice.get(message.device_id);
    const newest = entry === undefined || time >= entry.time;
    const online = message.event_type === 'status' && newest ? message.status.online : entry?.online;
    byDevice.set(message.device_id, {
      deviceType: message.device_metadata.device_type,
      time: Math.max(entry?.time ?? 0, time),
      count: (entry?.count ?? 0) + 1,
      ...(online === undefined ? {} : { online }),
    });
  }
  return [...byDevice].map(([deviceId, update]) => ({ deviceId, ...update }));
}

function samplesOf(
  event: KafkaEvent,
  enriched: readonly EnrichedMessage[],
  deadLetters: readonly StreamRecord[],
  alerts: readonly Alert[],
): [MessageStage, MessageSampleInput][] {
  const samples: [MessageStage, MessageSampleInput][] = [];
  let raw = 0;
  for (const record of eachRecord(event)) {
    if (raw++ >= SAMPLES_PER_BATCH.raw) break;
    const value = recordValue(record);
    const key = decodeKey(record.key);
    samples.push([
      'raw',
      {
        id: sampleId(`raw.${record.partition}.${record.offset}`),
        time: record.timestamp,
        ...(key && isDeviceId(key) ? { deviceId: key } : {}),
        body: parseJson(value) ?? { payload_base64: record.value },
      },
    ]);
  }
  // The first few of the batch, and every flagged one (issue 14).
  const keptEnriched = enriched.filter(
    (message, index) => index < SAMPLES_PER_BATCH.enriched || message.data_quality.verdict !== 'GOOD',
  );
  for (const message of keptEnriched) {
    samples.push([
      'enriched',
      {
        id: sampleId(message.enrichment_info.message_id),
        time: Date.parse(message.enrichment_info.received_at),
        deviceId: message.device_id,
        body: message,
      },
    ]);
  }
  // Every dead letter (issue 14); SAMPLES_PER_BATCH.dlq no longer caps them.
  for (const letter of deadLetters) {
    const body = parseJson(letter.value) as { failed_at?: string } | undefined;
    samples.push([
      'dlq',
      {
        id: `dlq.${createHash('sha256').update(letter.value).digest('hex').slice(0, 32)}`,
        time: Date.parse(body?.failed_at ?? '') || (letter.timestamp ?? Date.now()),
        ...(isDeviceId(letter.key) && letter.key !== 'unknown' ? { deviceId: letter.key } : {}),
        body,
      },
    ]);
  }
  for (const alert of alerts.slice(0, SAMPLES_PER_BATCH.alerts)) {
    samples.push([
      'alerts',
      {
        id: sampleId(alert.alert_id),
        time: Date.parse(alert.raised_at),
        deviceId: alert.device_id,
        body: alert,
      },
    ]);
  }
  return samples;
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-enrich');
const region = requireEnv(AWS_REGION_ENV);
const tables = readTableNames([
  'deviceTypes',
  'applications',
  'devices',
  'messages',
  'alerts',
  'pipelineStats',
  'ingestMappings',
]);
const serviceVersion = requireEnv(ENV.platformVersion);
const refreshMs = readRegistryRefreshMs();
const kafka = createKafka({ brokers: readBrokers(), clientId: 'iot-cloud-enrich', iamRegion: region });
const dynamo = documentClient(traceClient(observability, new DynamoDBClient({ region })));
const registryStore = new DynamoRegistryStore({ client: dynamo, tables });
const registry = new Refreshing({
  load: () =>
    loadCompiledRegistry(
      registryStore,
      new DynamoIngestMappingStore({ client: dynamo, tableName: tables.ingestMappings }),
    ),
  refreshMs,
  onRefreshError: (error) =>
    observability.logger.warn('registry refresh failed; keeping the previous registry', {
      error: error as Error,
    }),
});

export const handler: (event: KafkaEvent, context?: Context) => Promise<KafkaBatchResponse> = instrument(
  observability,
  createEnrichLambda({
    producer: new KafkaStreamProducer({ kafka }),
    registry: () => registry.current(),
    devices: new DynamoDeviceStore({ client: dynamo, tableName: tables.devices }),
    samples: new DynamoMessageSampleStore({ client: dynamo, tableName: tables.messages }),
    alerts: new DynamoAlertStore({ client: dynamo, tableName: tables.alerts }),
    alertState: new DynamoAlertStateStore({ client: dynamo, tableName: tables.alerts }),
    stats: new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats }),
    observability,
    serviceVersion,
  }),
);
