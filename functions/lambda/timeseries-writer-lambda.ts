import type { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { type DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
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
import { MetricUnit, type Observability } from './observability.js';
import { parseJson } from './support.js';

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
