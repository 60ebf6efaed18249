/**
 * The enrich Lambda's batch function: the shared enrich handler (functions/handlers/enrich.ts) over
 * one MSK batch, then the post-batch bookkeeping (functions/handlers/batch-bookkeeping.ts) from what
 * was durably produced, and the function's own metrics and logs. Wired by the entry, enrich.ts.
 */
import { type StatsBatch, statsBatchOf } from '../adapters/dynamodb/pipeline-stats.js';
import type { Alert, EnrichedMessage } from '../core/contract/messages.js';
import { watchedReadingsOf } from '../core/no-data.js';
import type { CompiledRegistry } from '../core/registry.js';
import { recordEnrichBatch } from '../handlers/batch-bookkeeping.js';
import { createEnrichHandler, type EnrichOutcomeSummary } from '../handlers/enrich.js';
import { recordCount } from '../handlers/kafka-records.js';
import type { AlertStateStore, AlertStore, DeviceStore, MessageSampleStore } from '../ports/registry.js';
import type { KafkaBatchResponse, KafkaEvent, StreamProducer } from '../ports/stream.js';
import { recordDeadLetter, recordEnriched, timedBatch } from '../shared/metrics.js';
import { TOPICS } from '../shared/stream.js';
import { MetricUnit, type Observability } from './observability.js';
import { parseJson, RecordingProducer } from './support.js';

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
    const views = await recordEnrichBatch(ports, {
      event,
      outcomes,
      enriched,
      alerts,
      deadLetters,
      watchedReadings: watchedReadingsOf(registry),
    });
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
