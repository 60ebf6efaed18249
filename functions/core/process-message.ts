/**
 * The enrich stage in one call: bytes in; either a typed rejection (for the dead-letter topic) or the
 * enriched message, its JSON and the alerts it raised. This is what the enrich Lambda, the local
 * runtime and the benchmark all call. It never throws for bad input.
 */

import type { RuleObservation } from './alert-state.js';
import type { RuleValue } from './alerts.js';
import { evaluateGroupRule, type StatefulHit, toAlert, toAlerts, toObservations } from './alerts.js';
import type { Alert, EnrichedMessage } from './contract/messages.js';
import { type DeviceLookup, detectDeviceType, isDetection } from './detect.js';
import { buildEnrichmentInfo, enrich } from './enrich.js';
import {
  checkEnvelope,
  DEFAULT_TIMESTAMP_POLICY,
  type MessageContext,
  type TimestampPolicy,
} from './envelope.js';
import { type AppliedMappingInfo, applyMapping, selectMapping } from './ingest-mapping.js';
import { parsePayload, type Rejection } from './parse.js';
import type { CompiledRegistry } from './registry.js';
import { toIsoTime } from './time.js';
import { validateMessage } from './validate.js';

export interface ProcessOptions {
  readonly registry: CompiledRegistry;
  /** Looks a device up in the device registry (a cache the adapter keeps); optional. */
  readonly lookupDevice?: DeviceLookup;
  /** Stamped on enrichment_info. */
  readonly service: string;
  readonly serviceVersion: string;
  readonly timestampPolicy?: TimestampPolicy;
}

export interface ProcessContext extends MessageContext {
  /** The enrich stage's clock, epoch ms (passed in so the core stays pure and testable). */
  readonly processedAt: number;
}

export type ProcessOutcome =
  | {
      readonly kind: 'rejected';
      readonly rejection: Rejection;
      /** The ingest mapping applied before the rejection, when one was (issue 14). */
      readonly mapping?: AppliedMappingInfo;
    }
  | {
      readonly kind: 'enriched';
      /** The ingest mapping that translated the payload, when one did (issue 14). */
      readonly mapping?: AppliedMappingInfo;
      readonly deviceId: string;
      readonly deviceType: string;
      readonly message: EnrichedMessage;
      readonly json: string;
      /**
       * Candidate alerts: one per rule that matched. Which are raised depends on the stored condition
       * state (edge-triggered, see alert-state.ts): the enrich handler decides.
       */
      readonly alerts: readonly Alert[];
      /** Rules evaluated on this message that did not match: they clear an active condition. */
      readonly notMatchedRules: readonly string[];
      /** The record of a rule in notMatchedRules, built on demand (for a clear event). */
      readonly describeRule: (ruleId: string) => Alert | undefined;
      /** Stateful rules (forSeconds, clearThreshold, rate of change, groups): see alert-state.ts. */
      readonly observations: readonly RuleObservation[];
    };

const NO_OBSERVATIONS: readonly RuleObservation[] = Object.freeze([]);

export function processMessage(
  payload: string | Uint8Array,
  context: ProcessContext,
  options: ProcessOptions,
): ProcessOutcome {
  const parsed = parsePayload(payload);
  if (!parsed.ok) return { kind: 'rejected', rejection: parsed.rejection };

  // Ingest mappings (issue 14): a payload in a device family's own format is translated into the
  // contract first. A registry without mappings, or a topic none selects, costs one cache lookup.
  let mapping: AppliedMappingInfo | undefined;
  const mappings = options.registry.mappings;
  if (mappings !== undefined && mappings.list.length > 0) {
    const selected = selectMapping(mappings, context.topic, parsed.value);
    if (selected) {
      const applied = applyMapping(selected, parsed.value);
      mapping = applied.info;
      if (!applied.ok) return { kind: 'rejected', rejection: applied.rejection, mapping };
    }
  }

  const checked = checkEnvelope(parsed.value, context, options.timestampPolicy ?? DEFAULT_TIMESTAMP_POLICY);
  if (!checked.ok) {
    if (!mapping) return { kind: 'rejected', rejection: checked.rejection };
    const rejection = {
      ...checked.rejection,
      detail: `${checked.rejection.detail} (after ingest mapping ${mapping.mapping_id}@${mapping.version})`,
    };
    return { kind: 'rejected', rejection, mapping };
  }
  const { message, deviceId, timestamp, topic, originalTimestamp } = checked.envelope;
  const normalised = checked.envelope.normalised || mapping !== undefined;

  const knownDevice = options.lookupDevice?.(deviceId);
  const detection = detectDeviceType(message, deviceId, topic, options.registry, () => knownDevice);
  if (!isDetection(detection)) {
    return {
      kind: 'rejected',
      rejection: { reason: 'UNKNOWN_DEVICE_TYPE', detail: detection.detail, deviceId },
    };
  }
  const type = detection.type;
  const validation = validateMessage(message, type, timestamp);
  const declaredType =
    message.device_type !== undefined && message.device_type !== type.typeId
      ? message.device_type
      : undefined;
  const info = buildEnrichmentInfo({
    message,
    type,
    method: detection.method,
    score: detection.score,
    declaredType,
    originalTimestamp,
    receivedAt: context.receivedAt,
    processedAt: context.processedAt,
    service: options.service,
    serviceVersion: options.serviceVersion,
    ...(mapping ? { mapping } : {}),
    ...(context.redriveCount === undefined ? {} : { redriveCount: context.redriveCount }),
    ...(context.replayId === undefined ? {} : { replayId: context.replayId }),
  });
  const { message: enriched, json } = enrich({
    message,
    type,
    validation,
    knownDevice,
    info,
    ...(normalised ? {} : { originalText: parsed.text }),
  });
  const alertContext = {
    deviceId,
    type,
    triggeredAt: message.timestamp === undefined ? toIsoTime(timestamp.time) : message.timestamp,
    raisedAt: info.enriched_at,
    messageId: info.message_id,
  };
  const alerts = toAlerts(validation.ruleHits, alertContext);
  const { ruleMisses, missValues } = validation;
  const describeRule = (ruleId: string): Alert | undefined => {
    const index = ruleMisses.indexOf(ruleId);
    const rule = type.rulesById.get(ruleId);
    if (index < 0 || !rule || !('path' in rule) || rule.path === undefined || 'kind' in rule)
      return undefined;
    const unit = type.readings.get(rule.path)?.definition.unit ?? '1';
    return toAlert({ rule, value: missValues[index] as RuleValue, unit }, alertContext);
  };
  let stateful: readonly StatefulHit[] = validation.statefulHits;
  if (type.groupRules.length > 0 && validation.groupValues) {
    const groupHits: StatefulHit[] = [];
    for (const rule of type.groupRules) {
      const hit = evaluateGroupRule(rule, validation.groupValues, type);
      if (hit) groupHits.push(hit);
    }
    stateful = [...stateful, ...groupHits];
  }
  const observations =
    stateful.length === 0 ? NO_OBSERVATIONS : toObservations(stateful, alertContext, timestamp.time);
  return {
    kind: 'enriched',
    ...(mapping ? { mapping } : {}),
    deviceId,
    deviceType: type.typeId,
    message: enriched,
    json,
    alerts,
    notMatchedRules: validation.ruleMisses,
    describeRule,
    observations,
  };
}
