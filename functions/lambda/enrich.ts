/**
 * Lambda entry: enrich. MSK event source mapping on `iot.raw` (consumer group
 * CONSUMER_GROUPS.enrich) -> the shared handler (functions/handlers/enrich.ts) -> `iot.enriched`,
 * `iot.alerts`, `iot.dlq`; then, from what was durably produced, the post-batch bookkeeping
 * (functions/handlers/batch-bookkeeping.ts): alerts, devices, inspector samples and pipeline stats.
 *
 * Responses: Kafka partial batch response (`ReportBatchItemFailures` on the event source mapping): a
 * record that hits a bug is reported alone; a rejected message is not a failure (it goes to iot.dlq
 * with its reason). A failed produce or a failed alert write throws: the batch is retried.
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
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import * as dynamodb from '../adapters/dynamodb/index.js';
import {
  DynamoPipelineStatsStore,
  type StatsBatch,
  statsBatchOf,
} from '../adapters/dynamodb/pipeline-stats.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import type { Alert, EnrichedMessage } from '../core/contract/messages.js';
import type { CompiledRegistry } from '../core/registry.js';
import { recordEnrichBatch } from '../handlers/batch-bookkeeping.js';
import { createEnrichHandler, type EnrichOutcomeSummary } from '../handlers/enrich.js';
import { recordCount } from '../handlers/kafka-records.js';
import type { AlertStateStore, AlertStore, DeviceStore, MessageSampleStore } from '../ports/registry.js';
import type { KafkaBatchResponse, KafkaEvent, StreamProducer } from '../ports/stream.js';
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

export { SAMPLES_PER_BATCH } from '../handlers/batch-bookkeeping.js';

export interface EnrichLambdaDependencies {
  readonly producer: StreamProducer;
  readonly registry: () => Promise<CompiledRegistry>;
  readonly devices: Pick<DeviceStore, 'recordSeen'>;
  readonly samples: Pick<MessageSampleStore, 'add'>;
  readonly alerts: Pick<AlertStore, 'add'>;
  readonly alertState: AlertStateStore;
  readonly stats: { flush(batch: StatsBatch): Promise<void> };
  readonly observability: Observability;
  readonly serviceVersion: string;
  readonly now?: () => number;
}

const parsed = <T>(records: readonly { value: Uint8Array }[]) =>
  records.flatMap((record) => (parseJson(record.value) as T | undefined) ?? []);

export function createEnrichLambda(dependencies: EnrichLambdaDependencies) {
  const { logger, metrics, pipelineMetrics } = dependencies.observability;
  const ports = {
    ...dependencies,
    stats: {
      recordOutcomes: (outcomes: readonly EnrichOutcomeSummary[]) =>
        dependencies.stats.flush(statsBatchOf(outcomes)),
    },
    onAlertsRefused: (error: { message: string; details?: unknown }, count: number) => {
      logger.error('alerts refused by the alert store; they remain in iot.alerts', {
        error: error.message,
        details: error.details,
      });
      metrics.addMetric('AlertsRefused', MetricUnit.Count, count);
    },
  };
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
      now: dependencies.now ?? Date.now,
      alertState: dependencies.alertState,
      onOutcome: (outcome) => outcomes.push(outcome),
      onSuppressedAlerts: (count) => {
        suppressed += count;
      },
    });
    const response = await timedBatch(pipelineMetrics, 'enrich', recordCount(event), () => enrich(event));
    // The declared metrics count the outcomes the stats count.
    for (const outcome of outcomes) {
      if (outcome.kind === 'enriched') recordEnriched(pipelineMetrics, outcome);
      else recordDeadLetter(pipelineMetrics, outcome.reason ?? 'UNKNOWN');
    }
    const alerts = parsed<Alert>(producer.sent(TOPICS.alerts));
    const enriched = parsed<EnrichedMessage>(producer.sent(TOPICS.enriched));
    const deadLetters = producer.sent(TOPICS.dlq);
    const views = await recordEnrichBatch(ports, { event, outcomes, enriched, alerts, deadLetters });
    if (views.failedViews > 0)
      logger.warn('bookkeeping writes failed (samples, devices or stats)', {
        failed: views.failedViews,
        first: views.firstFailure,
      });
    metrics.addMetric('Enriched', MetricUnit.Count, outcomes.filter((o) => o.kind === 'enriched').length);
    metrics.addMetric('Rejected', MetricUnit.Count, outcomes.filter((o) => o.kind === 'rejected').length);
    metrics.addMetric('AlertsRaised', MetricUnit.Count, alerts.length);
    metrics.addMetric('AlertsSuppressed', MetricUnit.Count, suppressed);
    metrics.addMetric('FailedRecords', MetricUnit.Count, response.batchItemFailures.length);
    metrics.addMetric('BookkeepingFailures', MetricUnit.Count, views.failedViews);
    if (response.batchItemFailures.length > 0)
      logger.error('records failed unexpectedly and will be retried', {
        records: response.batchItemFailures.map(
          (f) => `${f.itemIdentifier.partition}@${f.itemIdentifier.offset}`,
        ),
      });
    return response;
  };
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
const kafka = createKafka({ brokers: readBrokers(), clientId: 'iot-cloud-enrich', iamRegion: region });
const client = dynamodb.documentClient(traceClient(observability, new DynamoDBClient({ region })));
const registryStore = new dynamodb.DynamoRegistryStore({ client, tables });
const mappingStore = new dynamodb.DynamoIngestMappingStore({ client, tableName: tables.ingestMappings });
const registry = new Refreshing({
  load: () => loadCompiledRegistry(registryStore, mappingStore),
  refreshMs: readRegistryRefreshMs(),
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
    devices: new dynamodb.DynamoDeviceStore({ client, tableName: tables.devices }),
    samples: new dynamodb.DynamoMessageSampleStore({ client, tableName: tables.messages }),
    alerts: new dynamodb.DynamoAlertStore({ client, tableName: tables.alerts }),
    alertState: new dynamodb.DynamoAlertStateStore({ client, tableName: tables.alerts }),
    stats: new DynamoPipelineStatsStore({ client, tableName: tables.pipelineStats }),
    observability,
    serviceVersion: requireEnv(ENV.platformVersion),
  }),
);
