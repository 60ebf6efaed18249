/**
 * What the enrich Lambda writes besides Kafka, measured rather than assumed: the simulator's fleet
 * (the sample of measure.ts, same seed) run through the Lambda's own batch function
 * (functions/lambda/enrich-lambda.ts, the shared enrich handler and its metrics) in Kafka batches of
 * the size the environment forms at the rate asked, with counting ports. It counts what the DynamoDB
 * adapters write per batch to the alerts table: one condition-state put per changed (device, rule)
 * (alert-state.ts saves only transitions, and rate-of-change rules' samples) and the alert events
 * (raises and clears, each stored by DynamoAlertStore.add); and the bytes of the EMF log lines its
 * metrics write per invocation (Powertools, flushed as `instrument` does after each invocation).
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { compileRegistry } from '../../functions/core/registry.js';
import { createEnrichLambda } from '../../functions/lambda/enrich-lambda.js';
import { EmfMetrics } from '../../functions/lambda/metrics.js';
import { DEFAULT_METRICS_NAMESPACE } from '../../functions/lambda/observability.js';
import { type AlertStateStore, InMemoryAlertStateStore } from '../../functions/ports/registry.js';
import type {
  KafkaEvent,
  KafkaEventRecord,
  StreamProducer,
  StreamRecord,
} from '../../functions/ports/stream.js';
import { TOPICS } from '../../functions/shared/stream.js';
import { seedRegistry } from '../../registry-data/index.js';
import { createSimulatedFleet } from '../../simulator/index.js';

export interface EnrichTraffic {
  /** Condition-state puts per message (one per changed device-rule per batch). */
  readonly alertStateWritesPerMessage: number;
  /** Alert events (raises and clears) per message: items stored in the alerts table, stream INSERTs. */
  readonly alertEventsPerMessage: number;
  /** Mean JSON size of an alert event (the alert item's `body`). */
  readonly alertBytes: number;
  /** Bytes of EMF log lines (declared and Powertools metrics) per enrich invocation. */
  readonly emfBytesPerInvocation: number;
}

export interface EnrichSampleOptions {
  readonly devicesPerType?: number;
  readonly seconds?: number;
  readonly seed?: number;
  /** Records per enrich invocation (shape.enrich.batch of the model). */
  readonly batchRecords?: number;
}

/** Counts the state puts of a store that otherwise behaves as the in-memory one. */
class CountingAlertStateStore implements AlertStateStore {
  puts = 0;
  private readonly inner = new InMemoryAlertStateStore();
  load(deviceIds: readonly string[]) {
    return this.inner.load(deviceIds);
  }
  save(deviceId: string, states: Parameters<AlertStateStore['save']>[1]) {
    this.puts += Object.keys(states).length;
    return this.inner.save(deviceId, states);
  }
}

const header = (text: string) => [...Buffer.from(text)];

export async function measureEnrichTraffic(options: EnrichSampleOptions = {}): Promise<EnrichTraffic> {
  const devicesPerType = options.devicesPerType ?? 25;
  const seconds = options.seconds ?? 600;
  const startTime = Date.parse('2026-11-23T00:00:00.000Z');
  const fleet = createSimulatedFleet({
    devices: devicesPerType * seedRegistry.deviceTypes.length,
    seed: options.seed ?? 7,
    startTime,
  });
  const records: KafkaEventRecord[] = [];
  for (const message of fleet.ticksUntil(startTime + seconds * 1000)) {
    records.push({
      topic: TOPICS.raw,
      partition: 0,
      offset: records.length,
      timestamp: message.time,
      timestampType: 'CREATE_TIME',
      key: Buffer.from(message.deviceId).toString('base64'),
      value: Buffer.from(message.payload).toString('base64'),
      headers: [{ mqtt_topic: header(message.topic) }, { received_at: header(String(message.time)) }],
    });
  }
  if (records.length === 0) throw new Error('the simulated fleet produced no messages');

  const alertState = new CountingAlertStateStore();
  const alerts: StreamRecord[] = [];
  const producer: StreamProducer = {
    send: async (topic, sent) => {
      if (topic === TOPICS.alerts) alerts.push(...sent);
    },
  };
  const registry = compileRegistry(seedRegistry);
  let clock = startTime;
  let emfBytes = 0;
  const serviceName = 'iot-cloud-enrich';
  const metrics = new Metrics({ namespace: DEFAULT_METRICS_NAMESPACE, serviceName });
  const pipelineMetrics = new EmfMetrics({
    namespace: DEFAULT_METRICS_NAMESPACE,
    serviceName,
    emit: (line) => {
      emfBytes += Buffer.byteLength(JSON.stringify(line.serializeMetrics())) + 1;
    },
  });
  const logger = new Logger({ serviceName });
  logger.setLogLevel('SILENT');
  const enrich = createEnrichLambda({
    producer,
    registry: async () => registry,
    devices: { recordSeen: async () => undefined },
    samples: { add: async () => undefined },
    alerts: { add: async () => undefined },
    alertState,
    stats: { flush: async () => undefined },
    observability: { logger, metrics, tracer: new Tracer({ serviceName, enabled: false }), pipelineMetrics },
    serviceVersion: 'cost-model',
    now: () => clock,
  });
  const batch = Math.max(1, Math.round(options.batchRecords ?? 100));
  for (let i = 0; i < records.length; i += batch) {
    const slice = records.slice(i, i + batch);
    clock = (slice[slice.length - 1] as KafkaEventRecord).timestamp + 50;
    const event: KafkaEvent = { eventSource: 'aws:kafka', records: { [`${TOPICS.raw}-0`]: slice } };
    await enrich(event);
    // What instrument() writes after each invocation.
    pipelineMetrics.flush();
    emfBytes += Buffer.byteLength(JSON.stringify(metrics.serializeMetrics())) + 1;
    metrics.clearMetrics();
  }
  const alertBytes = alerts.reduce((sum, alert) => sum + Buffer.byteLength(alert.value), 0);
  return {
    alertStateWritesPerMessage: alertState.puts / records.length,
    alertEventsPerMessage: alerts.length / records.length,
    alertBytes: alerts.length > 0 ? alertBytes / alerts.length : 0,
    emfBytesPerInvocation: emfBytes / Math.ceil(records.length / batch),
  };
}
