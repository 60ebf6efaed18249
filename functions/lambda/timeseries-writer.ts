/**
 * Lambda entry: time-series writer. MSK event source mapping on `iot.enriched` (consumer group
 * CONSUMER_GROUPS.timeseriesWriter) -> the shared handler (functions/handlers/timeseries-writer.ts)
 * -> Timestream (functions/adapters/timestream/writer.ts: multi-measure records of at most 2 KB, 100
 * per WriteRecords, throttling retried with backoff).
 *
 * Responses: Kafka partial batch response: a record that is not an enriched message is reported alone
 * (retried, then the event source's on-failure destination). A throttled or failing Timestream throws:
 * the batch is retried, and re-writing identical records is a no-op in Timestream. Records Timestream
 * rejects for good (a conflicting value for the same device, measure and time; a time outside the
 * table's retention; a limit) are not retried: their messages go to `iot.dlq` with the reason, and
 * count as dead letters in the pipeline stats.
 *
 * Env vars read:
 *   TIMESTREAM_DATABASE, TIMESTREAM_TABLE   the table written                            required
 *   KAFKA_BOOTSTRAP_BROKERS                 MSK IAM bootstrap brokers (for iot.dlq)       required
 *   DEVICE_TYPES_TABLE                      the registry's types (their dimension tags)  required
 *   PIPELINE_STATS_TABLE                    pipeline-stats table name                    required
 *   REGISTRY_REFRESH_SECONDS                re-read period of the types, default 60      optional
 *   AWS_REGION                              set by Lambda                                required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL       optional
 * AWS resources and actions used:
 *   Timestream: timestream:WriteRecords (the table ARN), timestream:DescribeEndpoints (resource "*":
 *     the action has no resource; the SDK's endpoint discovery calls it)
 *   MSK cluster: kafka-cluster:Connect, kafka-cluster:WriteDataIdempotently (cluster ARN);
 *     kafka-cluster:DescribeTopic, kafka-cluster:WriteData (iot.dlq); the event source mapping:
 *     kafka-cluster:Connect, DescribeGroup, AlterGroup (group iot-cloud-timeseries-writer),
 *     DescribeTopic, ReadData (iot.enriched), DescribeClusterDynamicConfiguration,
 *     kafka:DescribeClusterV2, kafka:GetBootstrapBrokers
 *   DynamoDB: dynamodb:Scan (device types); dynamodb:UpdateItem (pipeline stats)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 *   In the VPC: the AWSLambdaVPCAccessExecutionRole ENI actions.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { Context } from 'aws-lambda';
import { DynamoDeviceTypeStore, documentClient } from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import { type RejectedWrite, TimestreamSink } from '../adapters/timestream/writer.js';
import { toDlqRecord } from '../core/dlq.js';
import { createTimeseriesWriterHandler } from '../handlers/timeseries-writer.js';
import type { KafkaBatchResponse, KafkaEvent, StreamProducer } from '../ports/stream.js';
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
import { Refreshing } from './support.js';

export interface TimeseriesWriterLambdaDependencies {
  readonly timestream: Pick<TimestreamWriteClient, 'send'>;
  readonly database: string;
  readonly table: string;
  /** Device type -> the message tags it writes as dimensions. */
  readonly dimensions: () => Promise<ReadonlyMap<string, readonly string[]>>;
  /** For dead-lettering rejected records. */
  readonly producer: StreamProducer;
  readonly stats: Pick<DynamoPipelineStatsStore, 'flush'>;
  readonly observability: Observability;
  readonly now?: () => number;
  /** Backoff sleep (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export function createTimeseriesWriterLambda(dependencies: TimeseriesWriterLambdaDependencies) {
  const { logger, metrics } = dependencies.observability;
  const now = dependencies.now ?? Date.now;
  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const dimensions = await dependencies.dimensions();
    const rejected: RejectedWrite[] = [];
    let written = 0;
    const sink = new TimestreamSink({
      client: dependencies.timestream,
      database: dependencies.database,
      table: dependencies.table,
      dimensionsOf: (deviceType) => dimensions.get(deviceType) ?? [],
      onRejected: (records) => rejected.push(...records),
      onDuplicates: (count) => metrics.addMetric('TimestreamDuplicateRecords', MetricUnit.Count, count),
      ...(dependencies.sleep ? { sleep: dependencies.sleep } : {}),
    });
    const response = await createTimeseriesWriterHandler({
      sink,
      onWritten: () => {
        written++;
      },
    })(event);

    if (rejected.length > 0) {
      // One dead letter per message, whatever number of its records were rejected.
      const byMessage = new Map<string, RejectedWrite[]>();
      for (const item of rejected) {
        const key = `${item.message.device_id} ${item.message.enrichment_info.message_id}`;
        byMessage.set(key, [...(byMessage.get(key) ?? []), item]);
      }
      const failedAt = now();
      const letters = [...byMessage.values()].map((items) => {
        const message = (items[0] as RejectedWrite).message;
        const detail = items.map((i) => `${i.record.MeasureName}: ${i.kind} (${i.reason})`).join('; ');
        const dlq = toDlqRecord({
          rejection: {
            reason: 'PROCESSING_FAILED',
            detail: `Timestream rejected ${detail}`,
            deviceId: message.device_id,
          },
          original: JSON.stringify(message),
          receivedAt: Date.parse(message.enrichment_info.received_at),
          failedAt,
          stage: 'timeseries-writer',
        });
        return { key: message.device_id, value: Buffer.from(JSON.stringify(dlq)), timestamp: failedAt };
      });
      // If this fails the batch is retried: nothing rejected is dropped silently.
      await dependencies.producer.send(TOPICS.dlq, letters);
      logger.warn('Timestream rejected records; their messages were dead-lettered', {
        messages: letters.length,
        records: rejected.length,
        first: `${rejected[0]?.kind}: ${rejected[0]?.reason}`,
      });
      const batch = new StatsBatch();
      for (let i = 0; i < letters.length; i++) batch.deadLetter(failedAt, 'PROCESSING_FAILED');
      await dependencies.stats.flush(batch).catch((error: unknown) => {
        logger.warn('pipeline stats update failed', { error: error as Error });
      });
    }
    metrics.addMetric('MessagesWritten', MetricUnit.Count, written);
    metrics.addMetric('TimestreamRejectedRecords', MetricUnit.Count, rejected.length);
    metrics.addMetric('FailedRecords', MetricUnit.Count, response.batchItemFailures.length);
    return response;
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-timeseries-writer');
const region = requireEnv(AWS_REGION_ENV);
const database = requireEnv(ENV.timestreamDatabase);
const table = requireEnv(ENV.timestreamTable);
const tables = readTableNames(['deviceTypes', 'pipelineStats']);
const refreshMs = readRegistryRefreshMs();
const kafka = createKafka({
  brokers: readBrokers(),
  clientId: 'iot-cloud-timeseries-writer',
  iamRegion: region,
});
const dynamo = documentClient(traceClient(observability, new DynamoDBClient({ region })));
const deviceTypes = new DynamoDeviceTypeStore({ client: dynamo, tableName: tables.deviceTypes });
const dimensions = new Refreshing({
  load: async () =>
    new Map((await deviceTypes.listDeviceTypes()).map((t) => [t.deviceType.typeId, t.deviceType.dimensions])),
  refreshMs,
  onRefreshError: (error) =>
    observability.logger.warn('device type refresh failed; keeping the previous ones', {
      error: error as Error,
    }),
});

export const handler: (event: KafkaEvent, context?: Context) => Promise<KafkaBatchResponse> = instrument(
  observability,
  createTimeseriesWriterLambda({
    // Endpoint discovery is automatic for Timestream in SDK v3 (the client requires and performs it).
    timestream: traceClient(observability, new TimestreamWriteClient({ region })),
    database,
    table,
    dimensions: () => dimensions.current(),
    producer: new KafkaStreamProducer({ kafka }),
    stats: new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats }),
    observability,
  }),
);
