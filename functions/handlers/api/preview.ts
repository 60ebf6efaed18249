/**
 * Dry runs of the pipeline (issue 14, item 4): what ingest and enrich would do with a payload, and how
 * a draft device-type definition would change the verdicts of a type's recently kept messages.
 *
 * Both run the very functions the pipeline runs, on the registry enrichment uses: the ingest bridge's
 * topic check (`topicProblem`, functions/handlers/ingest-bridge.ts), then the core's single entry point
 * `processMessage(bytes, { receivedAt, processedAt, topic }, { registry, service, serviceVersion })`
 * (functions/core/process-message.ts), whatever that entry point grows (ingest mappings selected by
 * topic apply here with no change, since the MQTT topic is passed through). Nothing is stored or
 * published: the alert condition state is only read, and `decideAlerts` (pure) says which matches
 * would raise an alert; the time-series points are computed with `toTimeSeriesPoints` and returned.
 */
import { type ConditionState, decideAlerts } from '../../core/alert-state.js';
import type { Alert, DlqRecord, EnrichedMessage } from '../../core/contract/messages.js';
import type { AlertRule, Application, DeviceType } from '../../core/contract/registry.js';
import { EMPTY_MAPPINGS, mappedTopicDeviceId } from '../../core/ingest-mapping.js';
import { type ProcessOutcome, processMessage } from '../../core/process-message.js';
import { type CompiledRegistry, compileRegistry } from '../../core/registry.js';
import { toTimeSeriesPoints } from '../../core/timeseries.js';
import type { AlertStateStore, MessageSample, MessageStage, RegistryStore } from '../../ports/registry.js';
import { topicProblem } from '../ingest-bridge.js';

/** What a preview needs besides the registry store; each runtime's composition root provides it. */
export interface PreviewDependencies {
  /**
   * The compiled registry enrichment runs on (locally the enrich handler's own; in AWS loaded and
   * refreshed like the enrich Lambda's). Left out: compiled from the registry store at each preview.
   */
  readonly registry?: () => Promise<CompiledRegistry>;
  /**
   * Read-only use: the stored alert condition state, so the preview tells an onset (would raise) from
   * a continuation (would not). Left out: every match is reported as an onset and `alertStateKnown`
   * is false.
   */
  readonly alertState?: Pick<AlertStateStore, 'load'>;
}

/** Stamped on `enrichment_info.service` of a previewed message: it was never really enriched. */
export const PREVIEW_SERVICE = 'iot-cloud-preview';

/** Kept samples of each stage a draft preview replays at most: the newest, as many as the sample store answers in one call. */
export const DRAFT_REPLAY_PER_STAGE = 500;

export type PreviewRejection = {
  readonly stage: 'ingest' | 'enrich';
  readonly reason: string;
  readonly detail: string;
  readonly path?: string;
  readonly deviceId?: string;
};

export type PipelineRun =
  | { readonly kind: 'rejected'; readonly rejection: PreviewRejection }
  | { readonly kind: 'enriched'; readonly outcome: Extract<ProcessOutcome, { kind: 'enriched' }> };

interface RunInput {
  readonly bytes: Uint8Array;
  readonly topic?: string;
  readonly receivedAt: number;
  readonly processedAt: number;
}

/** Ingest's topic check, then the core entry point: exactly the path of a published message. */
export function runPipeline(
  registry: CompiledRegistry,
  input: RunInput,
  serviceVersion: string,
): PipelineRun {
  if (input.topic !== undefined) {
    // The envelope ingest would build: a mapped topic's rule takes device_id from its {deviceId} level.
    const deviceId = mappedTopicDeviceId(registry.mappings ?? EMPTY_MAPPINGS, input.topic);
    const problem = topicProblem(input.topic, deviceId === undefined ? {} : { device_id: deviceId });
    if (problem) {
      return { kind: 'rejected', rejection: { stage: 'ingest', reason: 'INVALID_TOPIC', detail: problem } };
    }
  }
  const outcome = processMessage(
    input.bytes,
    {
      receivedAt: input.receivedAt,
      processedAt: input.processedAt,
      ...(input.topic === undefined ? {} : { topic: input.topic }),
    },
    { registry, service: PREVIEW_SERVICE, serviceVersion },
  );
  if (outcome.kind === 'rejected') {
    return { kind: 'rejected', rejection: { stage: 'enrich', ...outcome.rejection } };
  }
  return { kind: 'enriched', outcome };
}

/** The registry enrichment uses, or one compiled from the store (the registry of record). */
export async function currentRegistry(
  preview: PreviewDependencies,
  store: Pick<RegistryStore, 'listDeviceTypes' | 'listApplications'>,
): Promise<CompiledRegistry> {
  if (preview.registry) return preview.registry();
  const [types, applications] = await Promise.all([store.listDeviceTypes(), store.listApplications()]);
  return compileRegistry({
    deviceTypes: types.map((t) => t.deviceType),
    alertRules: types.map((t) => ({ deviceType: t.deviceType.typeId, rules: [...t.alertRules] })),
    // The compiled registry copies only public fields; list results carry no contact e-mail.
    applications: applications as unknown as Application[],
  });
}

// ---------------------------------------------------------------------------------------------------
// POST /api/preview

export interface PayloadPreview {
  readonly outcome: 'enriched' | 'rejected';
  /** Always false: a preview stores and publishes nothing. */
  readonly stored: false;
  readonly topic?: string;
  readonly rejection?: PreviewRejection;
  readonly deviceId?: string;
  readonly deviceType?: string;
  readonly verdict?: EnrichedMessage['data_quality']['verdict'];
  readonly readings?: EnrichedMessage['data_quality']['readings'];
  readonly message?: EnrichedMessage;
  readonly alerts?: {
    /** Alerts this message would raise (onsets), as they would be produced to iot.alerts. */
    readonly wouldRaise: Alert[];
    /** Rules that match but whose condition is already active: nothing new would be raised. */
    readonly continuing: string[];
    /** Rules evaluated that do not match: an active condition of theirs would clear. */
    readonly notMatched: string[];
    /** False when the stored condition state could not be read (every match counted as an onset). */
    readonly alertStateKnown: boolean;
  };
  /** The points the time-series writer would write, times in ISO 8601. */
  readonly timeseries?: Array<Record<string, unknown>>;
}

export async function previewPayload(input: {
  readonly registry: CompiledRegistry;
  readonly alertState?: Pick<AlertStateStore, 'load'>;
  readonly bytes: Uint8Array;
  readonly topic?: string;
  readonly now: number;
  readonly serviceVersion: string;
}): Promise<PayloadPreview> {
  const run = runPipeline(
    input.registry,
    {
      bytes: input.bytes,
      receivedAt: input.now,
      processedAt: input.now,
      ...(input.topic === undefined ? {} : { topic: input.topic }),
    },
    input.serviceVersion,
  );
  const topic = input.topic === undefined ? {} : { topic: input.topic };
  if (run.kind === 'rejected')
    return { outcome: 'rejected', stored: false, ...topic, rejection: run.rejection };

  const { outcome } = run;
  let stored = new Map<string, ConditionState>();
  let alertStateKnown = false;
  if (input.alertState && (outcome.alerts.length > 0 || outcome.notMatchedRules.length > 0)) {
    const states = await input.alertState.load([outcome.deviceId]);
    stored = new Map(Object.entries(states[outcome.deviceId] ?? {}));
    alertStateKnown = true;
  } else if (input.alertState) {
    alertStateKnown = true;
  }
  // No stream position: a preview is never taken for a redelivery. The decision is not saved.
  const decision = decideAlerts(stored, [{ matched: outcome.alerts, notMatched: outcome.notMatchedRules }]);
  const raisedRules = new Set(decision.raised.map((alert) => alert.rule_id));
  return {
    outcome: 'enriched',
    stored: false,
    ...topic,
    deviceId: outcome.deviceId,
    deviceType: outcome.deviceType,
    verdict: outcome.message.data_quality.verdict,
    readings: outcome.message.data_quality.readings,
    message: outcome.message,
    alerts: {
      wouldRaise: decision.raised,
      continuing: outcome.alerts.filter((a) => !raisedRules.has(a.rule_id)).map((a) => a.rule_id),
      notMatched: [...outcome.notMatchedRules],
      alertStateKnown,
    },
    timeseries: toTimeSeriesPoints(outcome.message).map((point) => ({
      ...point,
      time: new Date(point.time).toISOString(),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------
// POST /api/device-types/{typeId}/preview

/** A message's fate under one registry: its verdict, or REJECTED with the reason. */
interface Fate {
  readonly verdict: 'GOOD' | 'SUSPECT' | 'BAD' | 'REJECTED';
  readonly deviceType?: string;
  readonly reason?: string;
  readonly readings?: Readonly<Record<string, { verdict: string; reasons?: readonly string[] }>>;
}

export interface VerdictChange {
  readonly messageId: string;
  readonly deviceId?: string;
  /** Where the replayed message was kept: the inspector's stage and sample id. */
  readonly sample: { readonly stage: MessageStage; readonly id: string };
  readonly receivedAt: string;
  readonly before: Omit<Fate, 'readings'>;
  readonly after: Omit<Fate, 'readings'>;
  /** Readings whose verdict differs (absent on one side: `null`). */
  readonly readings: Array<{ path: string; before: string | null; after: string | null }>;
}

export interface DraftPreview {
  readonly typeId: string;
  /** Always false: nothing is stored, the definition is not saved. */
  readonly stored: false;
  /** Kept messages replayed (of any type), after removing the same message kept in two stages. */
  readonly replayed: number;
  /** Those that are of this type under the current or the draft definition. */
  readonly ofType: number;
  readonly changed: number;
  readonly unchanged: number;
  /** How the type's messages end up, before and after. */
  readonly before: Record<Fate['verdict'], number>;
  readonly after: Record<Fate['verdict'], number>;
  /** The changed messages, newest first. */
  readonly changes: VerdictChange[];
}

/** A kept message, back to what the pipeline received: bytes, topic (when known), receive time. */
interface Replayable {
  readonly stage: MessageStage;
  readonly sampleId: string;
  readonly bytes: Uint8Array;
  readonly topic?: string;
  readonly receivedAt: number;
}

/** What enrichment added to the raw message (the enriched message is the raw one plus these). */
const ENRICHMENT_KEYS = new Set([
  'device_metadata',
  'measurement_metadata',
  'application_registry',
  'enrichment_info',
  'data_quality',
  'decoded',
]);

/**
 * The raw message inside an enriched one. The topic is rebuilt only when the type was detected from
 * it (`dt/{type}/{id}/{kind}`); otherwise the message replays without one (the inspector does not
 * keep topics of enriched messages).
 */
function fromEnriched(sample: MessageSample): Replayable | undefined {
  const message = sample.body as Partial<EnrichedMessage> | null;
  if (typeof message !== 'object' || message === null || !message.enrichment_info) return undefined;
  const raw = Object.fromEntries(Object.entries(message).filter(([key]) => !ENRICHMENT_KEYS.has(key)));
  const original = message.enrichment_info.original_timestamp;
  if (original !== undefined) raw.timestamp = original;
  const receivedAt = Date.parse(message.enrichment_info.received_at);
  const topic =
    message.enrichment_info.detection?.method === 'topic' && message.device_metadata
      ? `dt/${message.device_metadata.device_type}/${message.device_id}/${message.event_type}`
      : undefined;
  return {
    stage: 'enriched',
    sampleId: sample.id,
    bytes: Buffer.from(JSON.stringify(raw), 'utf8'),
    ...(topic ? { topic } : {}),
    receivedAt: Number.isFinite(receivedAt) ? receivedAt : Date.parse(sample.time),
  };
}

/** A dead letter of the enrich or ingest stage: its original bytes and topic, unchanged. */
function fromDeadLetter(sample: MessageSample): Replayable | undefined {
  const letter = sample.body as Partial<DlqRecord> | null;
  if (typeof letter !== 'object' || letter === null || typeof letter.original_base64 !== 'string') {
    return undefined;
  }
  const receivedAt = Date.parse(letter.received_at ?? '');
  return {
    stage: 'dlq',
    sampleId: sample.id,
    bytes: Buffer.from(letter.original_base64, 'base64'),
    ...(letter.source?.mqtt_topic ? { topic: letter.source.mqtt_topic } : {}),
    receivedAt: Number.isFinite(receivedAt) ? receivedAt : Date.parse(sample.time),
  };
}

/** A raw sample is the payload as the device sent it (the inspector keeps no topic with it). */
function fromRaw(sample: MessageSample): Replayable | undefined {
  const body = sample.body as { payload_base64?: unknown } | null;
  const bytes =
    typeof body === 'object' && body !== null && typeof body.payload_base64 === 'string'
      ? Buffer.from(body.payload_base64, 'base64')
      : Buffer.from(JSON.stringify(sample.body), 'utf8');
  return { stage: 'raw', sampleId: sample.id, bytes, receivedAt: Date.parse(sample.time) };
}

const fateOf = (run: PipelineRun): Fate =>
  run.kind === 'rejected'
    ? { verdict: 'REJECTED', reason: run.rejection.reason }
    : {
        verdict: run.outcome.message.data_quality.verdict,
        deviceType: run.outcome.deviceType,
        readings: run.outcome.message.data_quality.readings,
      };

const summary = ({ readings: _readings, ...rest }: Fate) => rest;

const zeroCounts = (): Record<Fate['verdict'], number> => ({ GOOD: 0, SUSPECT: 0, BAD: 0, REJECTED: 0 });

/**
 * The current registry with one type replaced by its draft (or added). Built by spreading the current
 * compiled registry, so whatever else it carries stays as enrichment has it.
 */
export function withDraftType(
  current: CompiledRegistry,
  draft: DeviceType,
  rules: readonly AlertRule[],
  applications: readonly Application[],
): CompiledRegistry {
  const compiled = compileRegistry({
    deviceTypes: [draft],
    alertRules: [{ deviceType: draft.typeId, rules: [...rules] }],
    applications,
  }).types.get(draft.typeId);
  if (!compiled) throw new Error(`draft type "${draft.typeId}" did not compile`);
  const types = new Map(current.types);
  types.set(draft.typeId, compiled);
  return {
    ...current,
    types,
    typeList: [...types.values()].sort((a, b) => a.typeId.localeCompare(b.typeId)),
  };
}

export async function previewDraftType(input: {
  readonly typeId: string;
  readonly current: CompiledRegistry;
  readonly draft: CompiledRegistry;
  readonly recent: (stage: MessageStage, query: { limit: number }) => Promise<unknown[]>;
  readonly now: number;
  readonly serviceVersion: string;
}): Promise<DraftPreview> {
  const [enriched, dlq, raw] = await Promise.all(
    (['enriched', 'dlq', 'raw'] as const).map(
      async (stage) => (await input.recent(stage, { limit: DRAFT_REPLAY_PER_STAGE })) as MessageSample[],
    ),
  );
  const replayables = [
    ...(enriched ?? []).map(fromEnriched),
    ...(dlq ?? []).map(fromDeadLetter),
    ...(raw ?? []).map(fromRaw),
  ].filter((item): item is Replayable => item !== undefined);

  const seen = new Set<string>();
  const before = zeroCounts();
  const after = zeroCounts();
  const changes: (VerdictChange & { time: number })[] = [];
  let replayed = 0;
  let ofType = 0;
  let unchanged = 0;
  for (const item of replayables) {
    const run = (registry: CompiledRegistry) =>
      runPipeline(
        registry,
        {
          bytes: item.bytes,
          receivedAt: item.receivedAt,
          processedAt: input.now,
          ...(item.topic === undefined ? {} : { topic: item.topic }),
        },
        input.serviceVersion,
      );
    const beforeRun = run(input.current);
    const afterRun = run(input.draft);
    // The same message kept as raw and enriched sample is replayed once (the enrich message id).
    const messageId =
      (afterRun.kind === 'enriched' ? afterRun.outcome.message.enrichment_info.message_id : undefined) ??
      (beforeRun.kind === 'enriched' ? beforeRun.outcome.message.enrichment_info.message_id : undefined) ??
      `${item.stage}:${item.sampleId}`;
    if (seen.has(messageId)) continue;
    seen.add(messageId);
    replayed++;
    const was = fateOf(beforeRun);
    const will = fateOf(afterRun);
    if (was.deviceType !== input.typeId && will.deviceType !== input.typeId) continue;
    ofType++;
    before[was.verdict]++;
    after[will.verdict]++;
    if (was.verdict === will.verdict && was.deviceType === will.deviceType) {
      unchanged++;
      continue;
    }
    const paths = new Set([...Object.keys(was.readings ?? {}), ...Object.keys(will.readings ?? {})]);
    const deviceId =
      afterRun.kind === 'enriched'
        ? afterRun.outcome.deviceId
        : beforeRun.kind === 'enriched'
          ? beforeRun.outcome.deviceId
          : (afterRun.rejection.deviceId ?? beforeRun.rejection.deviceId);
    changes.push({
      messageId,
      ...(deviceId === undefined ? {} : { deviceId }),
      sample: { stage: item.stage, id: item.sampleId },
      receivedAt: new Date(item.receivedAt).toISOString(),
      time: item.receivedAt,
      before: summary(was),
      after: summary(will),
      readings: [...paths].sort().flatMap((path) => {
        const b = was.readings?.[path]?.verdict ?? null;
        const a = will.readings?.[path]?.verdict ?? null;
        return a === b ? [] : [{ path, before: b, after: a }];
      }),
    });
  }
  changes.sort((a, b) => b.time - a.time);
  return {
    typeId: input.typeId,
    stored: false,
    replayed,
    ofType,
    changed: changes.length,
    unchanged,
    before,
    after,
    changes: changes.map(({ time: _time, ...change }) => change),
  };
}
