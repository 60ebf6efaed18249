/**
 * Enrich stage: records of `iot.raw` -> the core -> `iot.enriched`, `iot.alerts` and `iot.dlq`. The core
 * never throws for bad input, so every rejected message becomes a DLQ record with its reason and
 * original bytes. An unexpected error on one record (a bug) reports just that record as failed, so the
 * event source retries it and, past its retries, dead-letters it: a poison record never blocks its
 * partition. If producing fails the handler throws and the whole batch is retried; downstream writes
 * are idempotent, so a retry never counts twice.
 */

import type { DeviceLookup } from '../core/detect.js';
import { toDlqRecord } from '../core/dlq.js';
import { processMessage } from '../core/process-message.js';
import type { CompiledRegistry } from '../core/registry.js';
import type {
  KafkaBatchResponse,
  KafkaEvent,
  KafkaEventRecord,
  StreamProducer,
  StreamRecord,
} from '../ports/stream.js';
import { TOPICS } from '../shared/stream.js';
import { eachRecord, failures, recordHeaders, recordValue } from './kafka-records.js';

export interface EnrichDependencies {
  readonly producer: StreamProducer;
  /** The current compiled registry (the adapter caches and refreshes it). */
  readonly registry: () => CompiledRegistry;
  readonly lookupDevice?: DeviceLookup;
  readonly service: string;
  readonly serviceVersion: string;
  readonly now?: () => number;
  /** Told what happened to each message, for stats and device bookkeeping. */
  readonly onOutcome?: (outcome: EnrichOutcomeSummary) => void;
}

export interface EnrichOutcomeSummary {
  readonly kind: 'enriched' | 'rejected';
  readonly deviceId?: string;
  readonly deviceType?: string;
  readonly reason?: string;
  /** The message's data-quality verdict (enriched messages). */
  readonly verdict?: 'GOOD' | 'SUSPECT' | 'BAD';
  readonly alerts: number;
  readonly time: number;
}

export function createEnrichHandler(dependencies: EnrichDependencies) {
  const now = dependencies.now ?? Date.now;
  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const processedAt = now();
    const options = {
      registry: dependencies.registry(),
      service: dependencies.service,
      serviceVersion: dependencies.serviceVersion,
      ...(dependencies.lookupDevice ? { lookupDevice: dependencies.lookupDevice } : {}),
    };
    const enriched: StreamRecord[] = [];
    const alerts: StreamRecord[] = [];
    const deadLetters: StreamRecord[] = [];
    const failed: KafkaEventRecord[] = [];
    const summaries: EnrichOutcomeSummary[] = [];

    for (const record of eachRecord(event)) {
      try {
        const value = recordValue(record);
        const headers = recordHeaders(record);
        const receivedAt = Number(headers.received_at) || record.timestamp;
        const topic = headers.mqtt_topic;
        const outcome = processMessage(
          value,
          { receivedAt, processedAt, ...(topic ? { topic } : {}) },
          options,
        );
        if (outcome.kind === 'enriched') {
          enriched.push({ key: outcome.deviceId, value: Buffer.from(outcome.json), timestamp: receivedAt });
          for (const alert of outcome.alerts) {
            alerts.push({
              key: outcome.deviceId,
              value: Buffer.from(JSON.stringify(alert)),
              timestamp: receivedAt,
            });
          }
          summaries.push({
            kind: 'enriched',
            deviceId: outcome.deviceId,
            deviceType: outcome.deviceType,
            verdict: outcome.message.data_quality.verdict,
            alerts: outcome.alerts.length,
            time: processedAt,
          });
        } else {
          const dlq = toDlqRecord({
            rejection: outcome.rejection,
            original: value,
            receivedAt,
            failedAt: processedAt,
            stage: 'enrich',
            source: {
              ...(topic ? { mqttTopic: topic } : {}),
              kafkaTopic: record.topic,
              partition: record.partition,
              offset: String(record.offset),
            },
          });
          const key =
            outcome.rejection.deviceId ??
            (record.key ? Buffer.from(record.key, 'base64').toString() : 'unknown');
          deadLetters.push({ key, value: Buffer.from(JSON.stringify(dlq)), timestamp: receivedAt });
          summaries.push({
            kind: 'rejected',
            ...(outcome.rejection.deviceId ? { deviceId: outcome.rejection.deviceId } : {}),
            reason: outcome.rejection.reason,
            alerts: 0,
            time: processedAt,
          });
        }
      } catch {
        failed.push(record);
      }
    }

    await Promise.all([
      enriched.length > 0 ? dependencies.producer.send(TOPICS.enriched, enriched) : undefined,
      alerts.length > 0 ? dependencies.producer.send(TOPICS.alerts, alerts) : undefined,
      deadLetters.length > 0 ? dependencies.producer.send(TOPICS.dlq, deadLetters) : undefined,
    ]);
    if (dependencies.onOutcome) for (const summary of summaries) dependencies.onOutcome(summary);
    return failures(failed);
  };
}
