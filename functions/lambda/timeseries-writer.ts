/**
 * Lambda entry: time-series writer. MSK event source mapping on `iot.enriched` (consumer group
 * CONSUMER_GROUPS.timeseriesWriter) -> the shared handler (functions/handlers/timeseries-writer.ts)
 * -> the environment's time-series sink, chosen by TIMESERIES_SINK at cold start:
 *   - `dynamodb` (functions/adapters/dynamodb/timeseries/): points, latest values and rollup
 *     invalidations, every write an idempotent UpdateItem (throttling retried by the SDK);
 *   - `timestream` (functions/adapters/timestream/writer.ts): multi-measure records of at most 2 KB,
 *     100 per WriteRecords, throttling retried with backoff.
 *
 * Responses: Kafka partial batch response: a record that is not an enriched message is reported alone
 * (retried, then the event source's on-failure destination). A throttled or failing sink throws: the
 * batch is retried, and re-writing it is a no-op in either sink. Records Timestream rejects for good (a
 * conflicting value for the same device, measure and time; a time outside the table's retention; a
 * limit) are not resent unchanged, and where they go depends on the deployment:
 *   - with KAFKA_BOOTSTRAP_BROKERS (function in the VPC): their messages go to `iot.dlq` as dead
 *     letters with the reason (PROCESSING_FAILED, "Timestream rejected ..."), counted in the stats;
 *   - without it (function outside the VPC, the event source mapping's pollers reach MSK): their Kafka
 *     records are reported as batch item failures, so the event source retries them and then hands
 *     them to its on-failure destination; the reason is logged.
 * The DynamoDB sink rejects nothing for good (its items stay far below 400 KB; a conflicting value
 * keeps the first one written, as DuckDB does), except points stamped before 1970, which no sort key
 * can hold: they are logged and counted (TimeseriesUnstorablePoints) and stay in the enriched stream. Nothing rejected is dropped silently either way. The
 * stats also get the latency histogram (device timestamp to written) of the batch's telemetry: one
 * UpdateItem per minute bucket per batch.
 *
 * Env vars read:
 *   TIMESERIES_SINK                         dynamodb | timestream                          required
 *   with dynamodb:
 *     TIMESERIES_POINTS_TABLE, TIMESERIES_LATEST_TABLE, TIMESERIES_ROLLUPS_TABLE           required
 *   with timestream:
 *     TIMESTREAM_DATABASE, TIMESTREAM_TABLE the table written                            required
 *     TIMESTREAM_INGEST_ENDPOINT            the ingest cell's endpoint (no discovery)     optional
 *     DEVICE_TYPES_TABLE                    the registry's types (their dimension tags)  required
 *     REGISTRY_REFRESH_SECONDS              re-read period of the types, default 60      optional
 *   KAFKA_BOOTSTRAP_BROKERS                 MSK IAM brokers, to dead-letter to iot.dlq    optional
 *   PIPELINE_STATS_TABLE                    pipeline-stats table name                    required
 *   AWS_REGION                              set by Lambda                                required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL       optional
 * AWS resources and actions used:
 *   with dynamodb:
 *     time-series points table: dynamodb:UpdateItem
 *     time-series latest table: dynamodb:UpdateItem, dynamodb:GetItem (re-read after a refused update)
 *     time-series rollups table: dynamodb:UpdateItem (invalidation of a closed hour's rollup)
 *   with timestream:
 *     Timestream: timestream:WriteRecords (the table ARN), timestream:DescribeEndpoints (resource "*":
 *       the action has no resource; the SDK's endpoint discovery calls it)
 *     DynamoDB device types table: dynamodb:Scan
 *   MSK cluster, only with KAFKA_BOOTSTRAP_BROKERS: kafka-cluster:Connect,
 *     kafka-cluster:WriteDataIdempotently (cluster ARN); kafka-cluster:DescribeTopic,
 *     kafka-cluster:WriteData (iot.dlq). Always, for the event source mapping:
 *     kafka-cluster:Connect, DescribeGroup, AlterGroup (group iot-cloud-timeseries-writer),
 *     DescribeTopic, ReadData (iot.enriched), DescribeClusterDynamicConfiguration,
 *     kafka:DescribeClusterV2 (V2: required for MSK Serverless), kafka:GetBootstrapBrokers, and
 *     ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface,
 *     ec2:DescribeVpcs, ec2:DescribeSubnets, ec2:DescribeSecurityGroups (the pollers reach the
 *     private cluster through ENIs, whether or not the function itself is in the VPC; these are the
 *     actions of the AWSLambdaMSKExecutionRole managed policy, which has Resource "*")
 *   DynamoDB pipeline stats table: dynamodb:UpdateItem
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 *   In the VPC (only with KAFKA_BOOTSTRAP_BROKERS): the AWSLambdaVPCAccessExecutionRole ENI actions,
 *     and a route to the sink: a DynamoDB gateway endpoint, or Timestream's ingest endpoint (its
 *     cell-specific interface endpoint, or NAT).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { Context } from 'aws-lambda';
import { DynamoDeviceTypeStore, documentClient } from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import { DynamoTimeseriesSink, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import { timedSink } from '../adapters/timed-sink.js';
import { type RejectedWrite, TimestreamSink } from '../adapters/timestream/writer.js';
import type { EnrichedMessage } from '../core/contract/messages.js';
import { toDlqRecord } from '../core/dlq.js';
import { eachRecord, failures, recordCount, recordValue } from '../handlers/kafka-records.js';
import { createTimeseriesWriterHandler } from '../handlers/timeseries-writer.js';
import type {
  KafkaBatchResponse,
  KafkaEvent,
  KafkaEventRecord,
  StreamProducer,
  StreamRecord,
} from '../ports/stream.js';
import type { TimeseriesSink } from '../ports/timeseries.js';
import { recordBatch, recordDeadLetter, recordDeviceToQueryable } from '../shared/metrics.js';
import { TOPICS } from '../shared/stream.js';
import {
  AWS_REGION_ENV,
  readBrokers,
  readOptionalHttpsEndpoint,
  readRegistryRefreshMs,
  readTableNames,
  readTimeseriesSink,
  readTimeseriesTableNames,
} from './config.js';
import { ENV, requireEnv } from './environment.js';
import {
  createObservability,
  instrument,
  MetricUnit,
  type Observability,
  traceClient,
} from './observability.js';
import { parseJson, Refreshing } from './support.js';

/** The Timestream sink, built per invocation (it collects that batch's rejected records). */
export interface TimestreamSinkDependencies {
  readonly timestream: Pick<TimestreamWriteClient, 'send'>;
  readonly database: string;
  readonly table: string;
  /** Device type -> the message tags it writes as dimensions. */
  readonly dimensions: () => Promise<ReadonlyMap<string, readonly string[]>>;
}

/** A sink that rejects nothing for good (the DynamoDB sink), built once at cold start. */
export interface ReadySinkDependencies {
  readonly sink: TimeseriesSink;
  /** Write units the sink consumed since the last call (reported as the TimeseriesWriteUnits metric). */
  readonly takeWriteUnits?: () => number;
}

export type TimeseriesWriterLambdaDependencies = CommonWriterDependencies &
  (TimestreamSinkDependencies | ReadySinkDependencies);

interface CommonWriterDependencies {
  /** Dead-letters rejected messages to iot.dlq; without it they are reported as batch item failures. */
  readonly producer?: StreamProducer;
  readonly stats: Pick<DynamoPipelineStatsStore, 'flush'>;
  readonly observability: Observability;
  readonly now?: () => number;
  /** Backoff sleep (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export function createTimeseriesWriterLambda(dependencies: TimeseriesWriterLambdaDependencies) {
  const { logger, metrics, pipelineMetrics } = dependencies.observability;
  const now = dependencies.now ?? Date.now;
  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const started = performance.now();
    try {
      return await writeBatch(event);
    } finally {
      recordBatch(pipelineMetrics, 'timeseries-writer', recordCount(event), performance.now() - started);
    }
  };

  async function writeBatch(event: KafkaEvent): Promise<KafkaBatchResponse> {
    const dimensions = 'sink' in dependencies ? undefined : await dependencies.dimensions();
    const rejected: RejectedWrite[] = [];
    const stats = new StatsBatch();
    let written = 0;
    const sink =
      'sink' in dependencies
        ? timedSink(dependencies.sink, pipelineMetrics, 'dynamodb')
        : timedSink(
            new TimestreamSink({
              client: dependencies.timestream,
              database: dependencies.database,
              table: dependencies.table,
              dimensionsOf: (deviceType) => dimensions?.get(deviceType) ?? [],
              onRejected: (records) => rejected.push(...records),
              onDuplicates: (count) =>
                metrics.addMetric('TimestreamDuplicateRecords', MetricUnit.Count, count),
              ...(dependencies.sleep ? { sleep: dependencies.sleep } : {}),
            }),
            pipelineMetrics,
            'timestream',
          );
    const response = await createTimeseriesWriterHandler({
      sink,
      // Device clock to queryable, as local mode measures it (telemetry only: status and events are rare).
      note: (message) => (message.event_type === 'telemetry' ? Date.parse(message.timestamp) : undefined),
      onWritten: (deviceTimes) => {
        written += deviceTimes.length;
        const writtenAt = now();
        for (const deviceTime of deviceTimes)
          if (deviceTime !== undefined) {
            stats.latency(writtenAt, writtenAt - deviceTime);
            recordDeviceToQueryable(pipelineMetrics, writtenAt - deviceTime);
          }
      },
    })(event);

    let batchItemFailures = response.batchItemFailures;
    if (rejected.length > 0) {
      const byMessage = groupByMessage(rejected);
      const first = `${rejected[0]?.kind}: ${rejected[0]?.reason}`;
      if (dependencies.producer) {
        const failedAt = now();
        // If this fails the batch is retried: nothing rejected is dropped silently.
        await dependencies.producer.send(
          TOPICS.dlq,
          [...byMessage.values()].map((items) => deadLetter(items, failedAt)),
        );
        for (let i = 0; i < byMessage.size; i++) {
          stats.deadLetter(failedAt, 'PROCESSING_FAILED');
          recordDeadLetter(pipelineMetrics, 'PROCESSING_FAILED');
        }
        logger.warn('Timestream rejected records; their messages were dead-lettered', {
          messages: byMessage.size,
          records: rejected.length,
          first,
        });
      } else {
        const failed = recordsOf(event, byMessage);
        batchItemFailures = [...batchItemFailures, ...failures(failed).batchItemFailures];
        logger.warn('Timestream rejected records; reporting them to the event source', {
          records: failed.map((r) => `${r.topic}-${r.partition}@${r.offset}`),
          first,
        });
      }
    }
    if (!stats.isEmpty) {
      // Stats are a view: a failed update is logged and measured, never a reason to retry the batch.
      await dependencies.stats.flush(stats).catch((error: unknown) => {
        logger.warn('pipeline stats update failed', { error: error as Error });
        metrics.addMetric('StatsUpdateFailures', MetricUnit.Count, 1);
      });
    }
    metrics.addMetric('MessagesWritten', MetricUnit.Count, written);
    if ('sink' in dependencies) {
      const units = dependencies.takeWriteUnits?.();
      if (units !== undefined) metrics.addMetric('TimeseriesWriteUnits', MetricUnit.Count, units);
    } else {
      metrics.addMetric('TimestreamRejectedRecords', MetricUnit.Count, rejected.length);
    }
    metrics.addMetric('FailedRecords', MetricUnit.Count, batchItemFailures.length);
    return { batchItemFailures };
  }
}

const messageKey = (message: { device_id: string; enrichment_info: { message_id: string } }) =>
  `${message.device_id} ${message.enrichment_info.message_id}`;

/** Rejected records per message: one dead letter per message, whatever number of its records failed. */
function groupByMessage(rejected: readonly RejectedWrite[]): Map<string, RejectedWrite[]> {
  const byMessage = new Map<string, RejectedWrite[]>();
  for (const item of rejected) {
    const key = messageKey(item.message);
    byMessage.set(key, [...(byMessage.get(key) ?? []), item]);
  }
  return byMessage;
}

function deadLetter(items: readonly RejectedWrite[], failedAt: number): StreamRecord {
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
}

/** The event's records that carry one of these messages. */
function recordsOf(event: KafkaEvent, byMessage: ReadonlyMap<string, unknown>): KafkaEventRecord[] {
  const found: KafkaEventRecord[] = [];
  for (const record of eachRecord(event)) {
    const message = parseJson(recordValue(record)) as EnrichedMessage | undefined;
    if (message?.enrichment_info && byMessage.has(messageKey(message))) found.push(record);
  }
  return found;
}

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-timeseries-writer');
const region = requireEnv(AWS_REGION_ENV);
const sinkName = readTimeseriesSink();
const tables = readTableNames(['pipelineStats']);
// Brokers set: the function runs in the VPC and dead-letters rejected messages itself.
const brokers = process.env[ENV.kafkaBootstrapBrokers] ? readBrokers() : undefined;
const producer = brokers
  ? new KafkaStreamProducer({
      kafka: createKafka({ brokers, clientId: 'iot-cloud-timeseries-writer', iamRegion: region }),
    })
  : undefined;
const dynamoClient = traceClient(observability, new DynamoDBClient({ region }));
const dynamo = documentClient(dynamoClient);

function dynamoSink(): ReadySinkDependencies {
  const names = readTimeseriesTableNames(['timeseriesPoints', 'timeseriesLatest', 'timeseriesRollups']);
  let writeUnits = 0;
  const sink = new DynamoTimeseriesSink({
    client: timeseriesDocumentClient(dynamoClient),
    tables: {
      points: names.timeseriesPoints,
      latest: names.timeseriesLatest,
      rollups: names.timeseriesRollups,
    },
    // Measured, not estimated: the figure the cost model's write units per message can be checked against.
    onConsumedCapacity: ({ units }) => {
      writeUnits += units;
    },
    onUnstorableTime: (points) => {
      observability.metrics.addMetric('TimeseriesUnstorablePoints', MetricUnit.Count, points.length);
      observability.logger.warn('points with a time DynamoDB keys cannot hold were not stored', {
        deviceId: points[0]?.deviceId,
        time: points[0]?.time,
        points: points.length,
      });
    },
  });
  return {
    sink,
    takeWriteUnits: () => {
      const units = writeUnits;
      writeUnits = 0;
      return units;
    },
  };
}

function timestreamSink(): TimestreamSinkDependencies {
  const database = requireEnv(ENV.timestreamDatabase);
  const table = requireEnv(ENV.timestreamTable);
  // In isolated subnets the cell endpoint is given (discovery's regional host is unreachable there).
  const ingestEndpoint = readOptionalHttpsEndpoint(ENV.timestreamIngestEndpoint);
  const deviceTypes = new DynamoDeviceTypeStore({
    client: dynamo,
    tableName: readTableNames(['deviceTypes']).deviceTypes,
  });
  const dimensions = new Refreshing({
    load: async () =>
      new Map(
        (await deviceTypes.listDeviceTypes()).map((t) => [t.deviceType.typeId, t.deviceType.dimensions]),
      ),
    refreshMs: readRegistryRefreshMs(),
    onRefreshError: (error) =>
      observability.logger.warn('device type refresh failed; keeping the previous ones', {
        error: error as Error,
      }),
  });
  return {
    // Without an endpoint the SDK discovers the cell (DescribeEndpoints); with one it skips discovery.
    timestream: traceClient(
      observability,
      new TimestreamWriteClient({ region, ...(ingestEndpoint ? { endpoint: ingestEndpoint } : {}) }),
    ),
    database,
    table,
    dimensions: () => dimensions.current(),
  };
}

export const handler: (event: KafkaEvent, context?: Context) => Promise<KafkaBatchResponse> = instrument(
  observability,
  createTimeseriesWriterLambda({
    ...(sinkName === 'dynamodb' ? dynamoSink() : timestreamSink()),
    ...(producer ? { producer } : {}),
    stats: new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats }),
    observability,
  }),
);
