/**
 * Device-type detection, in a fixed order of trust: a registered `device_type` in the payload, the type
 * in the MQTT topic, the device's own registry record, and only then a scored match of the measurement
 * keys against every type. The score replaces the prototype's "first type sharing any key" rule, which
 * took every meter reporting `power` for a breaker.
 */
import type { DetectionMethod, RawMessage } from './contract/messages.js';
import type { TopicInfo } from './envelope.js';
import type { CompiledDeviceType, CompiledRegistry } from './registry.js';

/** What a device registry knows about one device (the devices table, cached by the adapter). */
export interface KnownDevice {
  readonly deviceType: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly location?: string;
}

export type DeviceLookup = (deviceId: string) => KnownDevice | undefined;

export interface Detection {
  readonly type: CompiledDeviceType;
  readonly method: DetectionMethod;
  readonly score?: number;
}

export interface DetectionFailure {
  readonly detail: string;
}

/** A scored match must reach this score... */
export const MATCH_THRESHOLD = 0.3;
/** ...and beat the runner-up by this much, or the message is ambiguous rather than guessed. */
export const MATCH_MARGIN = 0.1;

interface Candidate {
  readonly type: CompiledDeviceType;
  readonly score: number;
}

/**
 * Scores how well a message's measurement keys fit a type, in [0, 1]: each key the type defines counts
 * 1 (0.5 when the value has the wrong shape, a scalar where a group is expected or the reverse),
 * divided by the message's keys plus the type's required keys the message lacks. Unknown keys and
 * missing required keys both lower the score, so a partial match never wins by sharing one key.
 */
export function scoreMeasurementMatch(type: CompiledDeviceType, message: RawMessage): number {
  let keyCount: number;
  let matched = 0;
  const present = new Set<string>();
  if (message.event_type === 'telemetry') {
    // Top-level keys: a group or scalar the type defines counts 1, or 0.5 with the wrong shape.
    for (const key in message.measurements) {
      present.add(key);
      const measurement = type.measurements.get(key);
      if (!measurement) continue;
      const value = message.measurements[key];
      const valueIsGroup = typeof value === 'object' && value !== null;
      matched += valueIsGroup === measurement.isGroup ? 1 : 0.5;
    }
    keyCount = present.size;
  } else if (message.event_type === 'trends') {
    // Trend channels are reading paths: each one the type defines counts 1.
    keyCount = 0;
    for (const path in message.measurements) {
      keyCount++;
      present.add(path.split('.')[0] as string);
      if (type.readings.has(path)) matched += 1;
    }
  } else {
    return 0;
  }
  if (keyCount === 0) return 0;
  const missingRequired = type.requiredKeys.filter((key) => !present.has(key)).length;
  return matched / (keyCount + missingRequired);
}

export function detectDeviceType(
  message: RawMessage,
  deviceId: string,
  topic: TopicInfo | undefined,
  registry: CompiledRegistry,
  lookupDevice?: DeviceLookup,
): Detection | DetectionFailure {
  const declared = message.device_type;
  if (declared !== undefined) {
    const type = registry.types.get(declared);
    if (type) return { type, method: 'payload' };
  }
  if (topic) {
    const type = registry.types.get(topic.deviceType);
    if (type) return { type, method: 'topic' };
  }
  const known = lookupDevice?.(deviceId);
  if (known) {
    const type = registry.types.get(known.deviceType);
    if (type) return { type, method: 'device_record' };
  }

  if (message.event_type === 'telemetry' || message.event_type === 'trends') {
    let best: Candidate | undefined;
    let second: Candidate | undefined;
    for (const type of registry.typeList) {
      const score = scoreMeasurementMatch(type, message);
      if (!best || score > best.score) {
        second = best;
        best = { type, score };
      } else if (!second || score > second.score) {
        second = { type, score };
      }
    }
    if (best && best.score >= MATCH_THRESHOLD && best.score - (second?.score ?? 0) >= MATCH_MARGIN) {
      return { type: best.type, method: 'measurement_match', score: Math.round(best.score * 1000) / 1000 };
    }
    const scores = best
      ? ` (best: ${best.type.typeId} ${best.score.toFixed(2)}${second ? `, next: ${second.type.typeId} ${second.score.toFixed(2)}` : ''})`
      : '';
    return {
      detail: `no registered type${declared ? ` (payload says "${declared}")` : ''} and the measurements match none well enough${scores}`,
    };
  }
  return {
    detail: `no registered type${declared ? ` (payload says "${declared}")` : ''} for a ${message.event_type} message, which carries no measurements to match`,
  };
}

export const isDetection = (result: Detection | DetectionFailure): result is Detection => 'type' in result;
