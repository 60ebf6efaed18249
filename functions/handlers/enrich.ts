/**
 * Enrich stage: records of `iot.raw` -> the core -> `iot.enriched`, `iot.alerts` and `iot.dlq`. The core
 * never throws for bad input, so every rejected message becomes a DLQ record with its reason and
 * original bytes. An unexpected error on one record (a bug) reports just that record as failed, so the
 * event source retries it and, past its retries, dead-letters it: a poison record never blocks its
 * partition. If producing fails the handler throws and the whole batch is retried; downstream writes
 * are idempotent, so a retry never counts twice.
 *
 * Alerts are edge-triggered (functions/core/alert-state.ts): the core reports, per message, the rules
 * that matched (candidate alerts) and those evaluated that did not; the handler reads the condition
 * state of the batch's devices, decides in stream order, saves the transitions, and only then
 * produces, to iot.alerts, the transitions: raises (onsets) and clears (issue 15). Guarantee: each onset is produced at least once
 * under one alert_id (a crash after the save re-raises the same alert_id on redelivery, recognised by
 * the stream position stored with the state); continuations are never produced.
 */

import { type ConditionState, decideAlerts, type RuleEvaluation } from '../core/alert-state.js';
import type { Alert, EnrichedMessage } from '../core/contract/messages.js';
import type { DeviceLookup } from '../core/detect.js';
import { toDlqRecord } from '../core/dlq.js';
import { type ProcessOptions, type ProcessOutcome, processMessage } from '../core/process-message.js';
import type { CompiledRegistry } from '../core/registry.js';
import { AlertStateConflict, type AlertStateStore, InMemoryAlertStateStore } from '../ports/registry.js';
import type {
  KafkaBatchResponse,
  KafkaEvent,
  KafkaEventRecord,
  StreamProducer,
  StreamRecord,
} from '../ports/stream.js';
import { DATA_OPS_HEADERS, REPLAY_ID_PATTERN } from '../shared/data-ops.js';
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
  /**
   * Condition state of the edge-triggered alerts. Left out: a store in this handler's memory, right
   * only while this process is the sole consumer of its stream (tests, benchmarks).
   */
  readonly alertState?: AlertStateStore;
  /** Told what happened to each message, for stats and device bookkeeping. */
  readonly onOutcome?: (outcome: EnrichOutcomeSummary) => void;
  /** Told, per batch, how many matching messages were continuations of an active condition. */
  readonly onSuppressedAlerts?: (count: number) => void;
}

export interface EnrichOutcomeSummary {
  readonly kind: 'enriched' | 'rejected';
  readonly deviceId?: string;
  readonly deviceType?: string;
  readonly reason?: string;
  /** The message's data-quality verdict (enriched messages). */
  readonly verdict?: 'GOOD' | 'SUSPECT' | 'BAD';
  /** Alert events of this message: raises and clears (what it adds to iot.alerts). */
  readonly alerts: number;
  /** The severity of each alert counted in `alerts` (metrics: alerts by severity). */
  readonly alertSeverities?: readonly string[];
  readonly time: number;
  /** Issue 14: the enriched message when its verdict is not GOOD (kept for the inspector). */
  readonly flagged?: EnrichedMessage;
}

export function createEnrichHandler(dependencies: EnrichDependencies) {
  const now = dependencies.now ?? Date.now;
  const alertState = dependencies.alertState ?? new InMemoryAlertStateStore();
  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const processedAt = now();
    const options: ProcessOptions = {
      registry: dependencies.registry(),
      service: dependencies.service,
      serviceVersion: dependencies.serviceVersion,
      ...(dependencies.lookupDevice ? { lookupDevice: dependencies.lookupDevice } : {}),
    };
    const batch: EnrichBatch = {
      enriched: [],
      evaluations: new Map(),
      deadLetters: [],
      failed: [],
      summaries: [],
      summaryMessageIds: new Map(),
    };
    for (const record of eachRecord(event)) {
      try {
        enrichRecord(record, batch, options, processedAt);
      } catch {
        batch.failed.push(record);
      }
    }

    // Decided and saved before producing: a crash in between re-raises on redelivery (see the header).
    const { events, suppressed } = await raiseOnsets(alertState, batch.evaluations);
    // Raises and clears alike (alert-contract: every transition is an event on iot.alerts).
    const alerts: StreamRecord[] = events.map((alert) => ({
      key: alert.device_id,
      value: Buffer.from(JSON.stringify(alert)),
      timestamp: Date.parse(alert.raised_at),
    }));
    const { producer } = dependencies;
    await Promise.all([
      batch.enriched.length > 0 ? producer.send(TOPICS.enriched, batch.enriched) : undefined,
      alerts.length > 0 ? producer.send(TOPICS.alerts, alerts) : undefined,
      batch.deadLetters.length > 0 ? producer.send(TOPICS.dlq, batch.deadLetters) : undefined,
    ]);
    if (dependencies.onOutcome) reportOutcomes(batch, events, dependencies.onOutcome);
    dependencies.onSuppressedAlerts?.(suppressed);
    return failures(batch.failed);
  };
}

/** What one batch gathers, record by record, before its alerts are decided and it is produced. */
interface EnrichBatch {
  readonly enriched: StreamRecord[];
  /** Per device, its rule evaluations in stream order. */
  readonly evaluations: Map<string, RuleEvaluation[]>;
  readonly deadLetters: StreamRecord[];
  readonly failed: KafkaEventRecord[];
  readonly summaries: EnrichOutcomeSummary[];
  /** The message id of each enriched summary, by its index in `summaries`. */
  readonly summaryMessageIds: Map<number, string>;
}

type Enriched = Extract<ProcessOutcome, { kind: 'enriched' }>;
type Rejected = Extract<ProcessOutcome, { kind: 'rejected' }>;

/** Runs one record through the core and adds what came out to `batch`; throws on a bug only. */
function enrichRecord(
  record: KafkaEventRecord,
  batch: EnrichBatch,
  options: ProcessOptions,
  processedAt: number,
): void {
  const value = recordValue(record);
  const headers = recordHeaders(record);
  const receivedAt = Number(headers.received_at) || record.timestamp;
  const topic = headers.mqtt_topic;
  const { redriveCount, replayId } = dataOpsHeaders(headers);
  const outcome = processMessage(
    value,
    {
      receivedAt,
      processedAt,
      ...(topic ? { topic } : {}),
      ...(redriveCount === undefined ? {} : { redriveCount }),
      ...(replayId === undefined ? {} : { replayId }),
    },
    options,
  );
  if (outcome.kind === 'enriched') {
    addEnriched(batch, record, outcome, { receivedAt, processedAt, replayId });
    return;
  }
  const dlq = toDlqRecord({
    rejection: outcome.rejection,
    original: value,
    receivedAt,
    failedAt: processedAt,
    stage: 'enrich',
    ...(redriveCount === undefined ? {} : { redriveCount }),
    source: {
      ...(topic ? { mqttTopic: topic } : {}),
      kafkaTopic: record.topic,
      partition: record.partition,
      offset: String(record.offset),
    },
  });
  addRejected(batch, record, outcome, dlq, { receivedAt, processedAt });
}

function addEnriched(
  batch: EnrichBatch,
  record: KafkaEventRecord,
  outcome: Enriched,
  at: { receivedAt: number; processedAt: number; replayId: string | undefined },
): void {
  batch.enriched.push({ key: outcome.deviceId, value: Buffer.from(outcome.json), timestamp: at.receivedAt });
  // A replay re-runs past messages: it rewrites their points, but raising (or clearing) alerts
  // now from old readings would be wrong, so their rules are not evaluated into the state.
  if (
    at.replayId === undefined &&
    (outcome.alerts.length > 0 || outcome.notMatchedRules.length > 0 || outcome.observations.length > 0)
  ) {
    const list = batch.evaluations.get(outcome.deviceId) ?? [];
    const reading = Date.parse(outcome.message.timestamp);
    list.push({
      position: { stream: `${record.topic}-${record.partition}`, offset: Number(record.offset) },
      ...(Number.isFinite(reading) ? { time: { reading, received: at.receivedAt } } : {}),
      matched: outcome.alerts,
      notMatched: outcome.notMatchedRules,
      describe: outcome.describeRule,
      observations: outcome.observations,
    });
    batch.evaluations.set(outcome.deviceId, list);
  }
  batch.summaries.push({
    kind: 'enriched',
    deviceId: outcome.deviceId,
    deviceType: outcome.deviceType,
    verdict: outcome.message.data_quality.verdict,
    alerts: 0, // its alert events, known once decided (reportOutcomes)
    time: at.processedAt,
    ...(outcome.message.data_quality.verdict === 'GOOD' ? {} : { flagged: outcome.message }),
  });
  batch.summaryMessageIds.set(batch.summaries.length - 1, outcome.message.enrichment_info.message_id);
}

function addRejected(
  batch: EnrichBatch,
  record: KafkaEventRecord,
  outcome: Rejected,
  dlq: ReturnType<typeof toDlqRecord>,
  at: { receivedAt: number; processedAt: number },
): void {
  const key =
    outcome.rejection.deviceId ?? (record.key ? Buffer.from(record.key, 'base64').toString() : 'unknown');
  batch.deadLetters.push({ key, value: Buffer.from(JSON.stringify(dlq)), timestamp: at.receivedAt });
  batch.summaries.push({
    kind: 'rejected',
    ...(outcome.rejection.deviceId ? { deviceId: outcome.rejection.deviceId } : {}),
    reason: outcome.rejection.reason,
    alerts: 0,
    time: at.processedAt,
  });
}

/** Tells `onOutcome` each message's summary with its alert events counted. */
function reportOutcomes(
  batch: EnrichBatch,
  events: readonly Alert[],
  onOutcome: (outcome: EnrichOutcomeSummary) => void,
): void {
  // Per message, its alert events (raises and clears: what it adds to iot.alerts, and what the
  // stats and metrics count as the alerts stage).
  const eventsPerMessage = new Map<string, string[]>();
  for (const alert of events) {
    const severities = eventsPerMessage.get(alert.message_id) ?? [];
    severities.push(alert.severity);
    eventsPerMessage.set(alert.message_id, severities);
  }
  batch.summaries.forEach((summary, i) => {
    const messageId = batch.summaryMessageIds.get(i);
    const severities = messageId === undefined ? [] : (eventsPerMessage.get(messageId) ?? []);
    onOutcome({
      ...summary,
      alerts: severities.length,
      ...(severities.length > 0 ? { alertSeverities: severities } : {}),
    });
  });
}

/** Decisions are retried this many times when another consumer changed a device's state meanwhile. */
const STATE_CONFLICT_RETRIES = 3;

/**
 * Reads the condition state of the batch's devices (one read per device per batch: the store, not a
 * cache, is the truth, because successive batches of a partition can go to different Lambda instances),
 * decides each device's evaluations in stream order and saves its transitions.
 */
async function raiseOnsets(
  store: AlertStateStore,
  evaluations: ReadonlyMap<string, readonly RuleEvaluation[]>,
): Promise<{ raised: Alert[]; events: Alert[]; suppressed: number }> {
  if (evaluations.size === 0) return { raised: [], events: [], suppressed: 0 };
  const raised: Alert[] = [];
  const events: Alert[] = [];
  let suppressed = 0;
  let pending = [...evaluations.keys()];
  for (let attempt = 0; pending.length > 0; attempt++) {
    const states = await store.load(pending);
    const conflicts: string[] = [];
    await Promise.all(
      pending.map(async (deviceId) => {
        const stored = new Map<string, ConditionState>(Object.entries(states[deviceId] ?? {}));
        const decision = decideAlerts(stored, evaluations.get(deviceId) ?? []);
        try {
          if (decision.changed.size > 0) await store.save(deviceId, Object.fromEntries(decision.changed));
        } catch (error) {
          if (!(error instanceof AlertStateConflict) || attempt >= STATE_CONFLICT_RETRIES) throw error;
          conflicts.push(deviceId);
          return;
        }
        raised.push(...decision.raised);
        events.push(...decision.events);
        suppressed += decision.suppressed;
      }),
    );
    pending = conflicts;
  }
  return { raised, events, suppressed };
}

/**
 * Data operations (issue 16): the redrive count and replay id a redrive or a replay put on the record.
 * A malformed header is ignored (the record is then an ordinary one), never trusted into the output.
 */
function dataOpsHeaders(headers: Readonly<Record<string, string>>): {
  redriveCount?: number;
  replayId?: string;
} {
  const count = Number(headers[DATA_OPS_HEADERS.redriveCount]);
  const replayId = headers[DATA_OPS_HEADERS.replayId];
  return {
    ...(Number.isSafeInteger(count) && count >= 1 ? { redriveCount: count } : {}),
    ...(replayId !== undefined && REPLAY_ID_PATTERN.test(replayId) ? { replayId } : {}),
  };
}
