/**
 * Lambda entry: ingest bridge. SQS batches from the IoT rule's buffer queue -> `iot.raw` (and
 * `iot.dlq` for queue messages that are not the rule's envelope), through the shared handler
 * (functions/handlers/ingest-bridge.ts), with partial batch failures (`ReportBatchItemFailures` on the
 * SQS event source mapping: a failed produce reports every record, SQS redelivers them).
 * Counts go to the pipeline-stats table, one UpdateItem per minute bucket per batch.
 *
 * Env vars read:
 *   KAFKA_BOOTSTRAP_BROKERS   MSK IAM bootstrap brokers (host:9098,...)          required
 *   PIPELINE_STATS_TABLE      pipeline-stats table name                          required
 *   AWS_REGION                set by Lambda; signs the MSK IAM token             required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL  optional
 * AWS resources and actions used:
 *   SQS buffer queue: sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility,
 *     sqs:GetQueueAttributes (the event source mapping; kms:Decrypt on the queue's key if encrypted with a CMK)
 *   MSK cluster: kafka-cluster:Connect, kafka-cluster:WriteDataIdempotently (cluster ARN);
 *     kafka-cluster:DescribeTopic, kafka-cluster:WriteData (topic ARNs of iot.raw and iot.dlq)
 *   DynamoDB pipeline-stats table: dynamodb:UpdateItem
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords (active tracing)
 *   In the VPC (MSK is private): the AWSLambdaVPCAccessExecutionRole ENI actions.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { documentClient } from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import { createIngestBridgeHandler } from '../handlers/ingest-bridge.js';
import type { StreamProducer } from '../ports/stream.js';
import { recordDeadLetter, recordRaw, timedBatch } from '../shared/metrics.js';
import { TOPICS } from '../shared/stream.js';
import { AWS_REGION_ENV, readBrokers, readTableNames } from './config.js';
import { requireEnv } from './environment.js';
import {
  createObservability,
  instrument,
  MetricUnit,
  type Observability,
  traceClient,
} from './observability.js';
import { parseJson, RecordingProducer } from './support.js';

export interface IngestBridgeLambdaDependencies {
  readonly producer: StreamProducer;
  readonly stats: Pick<DynamoPipelineStatsStore, 'flush'>;
  readonly observability: Observability;
  readonly now?: () => number;
}

export function createIngestBridgeLambda(dependencies: IngestBridgeLambdaDependencies) {
  const { logger, metrics, pipelineMetrics } = dependencies.observability;
  const now = dependencies.now ?? Date.now;
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const producer = new RecordingProducer(dependencies.producer);
    const response = await timedBatch(pipelineMetrics, 'ingest-bridge', event.Records.length, () =>
      createIngestBridgeHandler({ producer, now })(event),
    );

    // Counted from what was durably produced, so a failed produce counts nothing.
    const raw = producer.sent(TOPICS.raw);
    const deadLetters = producer.sent(TOPICS.dlq);
    const time = now();
    const batch = new StatsBatch();
    if (raw.length > 0) {
      const newest = Math.max(...raw.map((record) => record.timestamp ?? time));
      batch.raw(time, raw.length, newest);
    }
    // The declared metrics count where the stats do (functions/shared/metrics.ts).
    recordRaw(pipelineMetrics, raw.length);
    for (const letter of deadLetters) {
      const reason = (parseJson(letter.value) as { reason?: unknown } | undefined)?.reason;
      batch.deadLetter(time, typeof reason === 'string' ? reason : 'UNKNOWN');
      recordDeadLetter(pipelineMetrics, typeof reason === 'string' ? reason : 'UNKNOWN');
    }
    if (!batch.isEmpty) {
      // Stats are a view: a failed update is logged and measured, never a reason to redeliver.
      await dependencies.stats.flush(batch).catch((error: unknown) => {
        logger.warn('pipeline stats update failed', { error: error as Error });
        metrics.addMetric('StatsUpdateFailures', MetricUnit.Count, 1);
      });
    }
    metrics.addMetric('RawProduced', MetricUnit.Count, raw.length);
    metrics.addMetric('BridgeDeadLetters', MetricUnit.Count, deadLetters.length);
    metrics.addMetric('BridgeFailedRecords', MetricUnit.Count, response.batchItemFailures.length);
    if (response.batchItemFailures.length > 0) {
      logger.error('producing the batch failed; SQS will redeliver it', {
        failed: response.batchItemFailures.length,
        errors: producer.failures.map(({ topic, error }) => `${topic}: ${String(error)}`),
      });
    }
    return response;
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-ingest-bridge');
const region = requireEnv(AWS_REGION_ENV);
const tables = readTableNames(['pipelineStats']);
const kafka = createKafka({ brokers: readBrokers(), clientId: 'iot-cloud-ingest-bridge', iamRegion: region });
const dynamo = documentClient(traceClient(observability, new DynamoDBClient({ region })));

export const handler: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> = instrument(
  observability,
  createIngestBridgeLambda({
    producer: new KafkaStreamProducer({ kafka }),
    stats: new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats }),
    observability,
  }),
);
