/**
 * Lambda entry: enrich (the batch function is in enrich-lambda.ts). MSK event source mapping on `iot.raw` (consumer group
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
import { DynamoPipelineStatsStore } from '../adapters/dynamodb/pipeline-stats.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import type { KafkaBatchResponse, KafkaEvent } from '../ports/stream.js';
import { AWS_REGION_ENV, readBrokers, readRegistryRefreshMs, readTableNames } from './config.js';
import { createEnrichLambda } from './enrich-lambda.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, instrument, traceClient } from './observability.js';
import { loadCompiledRegistry, Refreshing } from './support.js';

// The batch function lives in enrich-lambda.ts; re-exported here, where the tests import it.
export { createEnrichLambda, type EnrichLambdaDependencies, SAMPLES_PER_BATCH } from './enrich-lambda.js';

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
