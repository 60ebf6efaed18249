/**
 * The time-series writer Lambda's batch function: the shared handler over one MSK batch, then the
 * writes the sink refused for good (functions/handlers/rejected-writes.ts), the stats and the metrics.
 * Wired by the entry, timeseries-writer.ts.
 */
import { type DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import { timedSink } from '../adapters/timed-sink.js';
import { type RejectedWrite, TimestreamSink } from '../adapters/timestream/writer.js';
import { failures, recordCount } from '../handlers/kafka-records.js';
import { settleRejectedWrites } from '../handlers/rejected-writes.js';
import { createTimeseriesWriterHandler } from '../handlers/timeseries-writer.js';
import type { KafkaBatchResponse, KafkaEvent, StreamProducer } from '../ports/stream.js';
import { recordBatch, recordDeadLetter, recordDeviceToQueryable } from '../shared/metrics.js';
import { MetricUnit, type Observability } from './observability.js';
import type { ReadySinkDependencies, TimestreamSinkDependencies } from './timeseries-writer-sink.js';

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
      const first = `${rejected[0]?.kind}: ${rejected[0]?.reason}`;
      const settled = await settleRejectedWrites(event, rejected, dependencies.producer, now);
      if ('deadLettered' in settled) {
        for (let i = 0; i < settled.deadLettered; i++) {
          stats.deadLetter(settled.failedAt, 'PROCESSING_FAILED');
          recordDeadLetter(pipelineMetrics, 'PROCESSING_FAILED');
        }
        logger.warn('Timestream rejected records; their messages were dead-lettered', {
          messages: settled.deadLettered,
          records: rejected.length,
          first,
        });
      } else {
        batchItemFailures = [...batchItemFailures, ...failures(settled.failed).batchItemFailures];
        logger.warn('Timestream rejected records; reporting them to the event source', {
          records: settled.failed.map((r) => `${r.topic}-${r.partition}@${r.offset}`),
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
