/**
 * Second gate: from a checked JSON object to a contract-valid raw message, with the envelope normalised
 * (device id from the topic when the payload has none, receive time when the timestamp is unusable).
 */

import { DEVICE_ID_PATTERN, TYPE_ID_PATTERN } from './contract/identifiers.js';
import {
  EVENT_TYPES,
  type EventType,
  type MessageQualityReason,
  type RawMessage,
} from './contract/messages.js';
import { checkRawContract } from './contract/raw-check.js';
import type { Rejection } from './parse.js';
import { parseIsoTimestamp } from './time.js';

/** What the platform knows about a message besides its bytes. */
export interface MessageContext {
  /** When the platform received it (IoT rule `timestamp()`), epoch milliseconds. */
  readonly receivedAt: number;
  /** The MQTT topic it was published on, when known. */
  readonly topic?: string;
  /** Data operations (issue 16): redrives of this message so far, stamped on enrichment_info. */
  readonly redriveCount?: number;
  /** Data operations (issue 16): the replay re-running this message, stamped on enrichment_info. */
  readonly replayId?: string;
}

export interface TopicInfo {
  readonly deviceType: string;
  readonly deviceId: string;
  readonly kind: string;
}

/** Messages published with Basic Ingest arrive with this prefix in front of the device topic. */
const BASIC_INGEST_PREFIX = /^\$aws\/rules\/[A-Za-z0-9_]+\//;

/** Devices publish on the same few topics again and again; bounded, so odd topics cannot grow it. */
const topicCache = new Map<string, TopicInfo | undefined>();
const TOPIC_CACHE_SIZE = 10_000;

/** Reads `dt/{deviceType}/{deviceId}/{kind}`; anything else yields nothing (the topic is only a hint). */
export function parseTopic(topic: string | undefined): TopicInfo | undefined {
  if (!topic) return undefined;
  if (topicCache.has(topic)) return topicCache.get(topic);
  if (topicCache.size >= TOPIC_CACHE_SIZE) topicCache.clear();
  const info = readTopic(topic);
  topicCache.set(topic, info);
  return info;
}

function readTopic(topic: string): TopicInfo | undefined {
  const parts = topic.replace(BASIC_INGEST_PREFIX, '').split('/');
  if (parts.length !== 4 || parts[0] !== 'dt') return undefined;
  const [, deviceType, deviceId, kind] = parts as [string, string, string, string];
  if (!TYPE_ID_PATTERN.test(deviceType) || !DEVICE_ID_PATTERN.test(deviceId)) return undefined;
  return { deviceType, deviceId, kind };
}

export interface TimestampCheck {
  /** The time the readings are filed under, epoch ms. */
  readonly time: number;
  readonly reason?: Extract<
    MessageQualityReason,
    'INVALID_TIMESTAMP' | 'FUTURE_TIMESTAMP' | 'STALE_TIMESTAMP'
  >;
}

export interface TimestampPolicy {
  /** How far ahead of the receive time a device clock may be (Timestream accepts up to 15 minutes). */
  readonly futureToleranceMs: number;
  /** How old a reading may be before it is flagged stale. */
  readonly staleAfterMs: number;
}

export const DEFAULT_TIMESTAMP_POLICY: TimestampPolicy = {
  futureToleranceMs: 15 * 60 * 1000,
  staleAfterMs: 24 * 60 * 60 * 1000,
};

export function checkTimestamp(value: unknown, receivedAt: number, policy: TimestampPolicy): TimestampCheck {
  const time = typeof value === 'string' ? parseIsoTimestamp(value) : undefined;
  if (time === undefined) return { time: receivedAt, reason: 'INVALID_TIMESTAMP' };
  if (time > receivedAt + policy.futureToleranceMs) return { time, reason: 'FUTURE_TIMESTAMP' };
  if (time < receivedAt - policy.staleAfterMs) return { time, reason: 'STALE_TIMESTAMP' };
  return { time };
}

export interface CheckedEnvelope {
  readonly message: RawMessage;
  readonly deviceId: string;
  readonly eventType: EventType;
  readonly timestamp: TimestampCheck;
  /** False when the message is exactly what was parsed, so its original text can be reused. */
  readonly normalised: boolean;
  /** The timestamp as the device sent it, when it had to be replaced. */
  readonly originalTimestamp?: string;
  readonly topic?: TopicInfo;
}

export type EnvelopeResult = { ok: true; envelope: CheckedEnvelope } | { ok: false; rejection: Rejection };

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

const describeValue = (value: unknown): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 64 ? `${text.slice(0, 64)}...` : text;
};

/**
 * Checks the envelope and the contract. The payload object is normalised in place (it is the caller's
 * freshly parsed copy): copying every message would cost more than the rest of the checks together.
 */
export function checkEnvelope(
  payload: Record<string, unknown>,
  context: MessageContext,
  policy: TimestampPolicy = DEFAULT_TIMESTAMP_POLICY,
): EnvelopeResult {
  const topic = parseTopic(context.topic);

  // Device id: the topic is bound to the thing by the IoT policy, so it is trusted; the payload may
  // omit the id (the rule adds it) but may not contradict it.
  const claimed = payload.device_id;
  let deviceId: string;
  if (claimed === undefined || claimed === null || claimed === '') {
    if (!topic)
      return { ok: false, rejection: { reason: 'MISSING_DEVICE_ID', detail: 'device_id is missing' } };
    deviceId = topic.deviceId;
  } else if (typeof claimed !== 'string' || !DEVICE_ID_PATTERN.test(claimed)) {
    return {
      ok: false,
      rejection: {
        reason: 'INVALID_DEVICE_ID',
        detail: `device_id ${describeValue(claimed)} does not match ${DEVICE_ID_PATTERN.source}`,
        path: 'device_id',
      },
    };
  } else if (topic && topic.deviceId !== claimed) {
    return {
      ok: false,
      rejection: {
        reason: 'DEVICE_ID_MISMATCH',
        detail: `device_id "${claimed}" differs from the topic's "${topic.deviceId}"`,
        path: 'device_id',
        deviceId: topic.deviceId,
      },
    };
  } else {
    deviceId = claimed;
  }

  let eventType = payload.event_type;
  if (eventType === undefined && topic && EVENT_TYPE_SET.has(topic.kind)) eventType = topic.kind;
  if (typeof eventType !== 'string' || !EVENT_TYPE_SET.has(eventType)) {
    return {
      ok: false,
      rejection: {
        reason: 'INVALID_EVENT_TYPE',
        detail: `event_type ${describeValue(eventType)} is not one of ${EVENT_TYPES.join(', ')}`,
        path: 'event_type',
        deviceId,
      },
    };
  }

  const timestamp = checkTimestamp(payload.timestamp, context.receivedAt, policy);
  const timestampUnusable = timestamp.reason === 'INVALID_TIMESTAMP';
  const originalTimestamp =
    timestampUnusable && payload.timestamp !== undefined ? describeValue(payload.timestamp) : undefined;
  const normalised = payload.device_id !== deviceId || payload.event_type !== eventType || timestampUnusable;
  payload.device_id = deviceId;
  payload.event_type = eventType;
  if (timestampUnusable) payload.timestamp = new Date(timestamp.time).toISOString();

  // device_id was matched above; timestamp is either a matched string or our own ISO replacement.
  const contract = checkRawContract(payload, eventType as EventType, { idAndTimeChecked: true });
  if (!contract.ok) {
    return {
      ok: false,
      rejection: {
        reason: 'SCHEMA_VIOLATION',
        detail: `${contract.path || '(message)'} ${contract.detail}`,
        ...(contract.path ? { path: contract.path } : {}),
        deviceId,
      },
    };
  }
  const message = contract.message;
  if (message.event_type === 'trends' && Date.parse(message.window.start) > Date.parse(message.window.end)) {
    return {
      ok: false,
      rejection: {
        reason: 'SCHEMA_VIOLATION',
        detail: 'window.start is after window.end',
        path: 'window',
        deviceId,
      },
    };
  }
  return {
    ok: true,
    envelope: {
      message,
      deviceId,
      eventType: message.event_type,
      normalised,
      timestamp,
      ...(originalTimestamp !== undefined ? { originalTimestamp } : {}),
      ...(topic ? { topic } : {}),
    },
  };
}
