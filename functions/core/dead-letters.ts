/**
 * Data operations on dead letters (issue 16): reading a record of `iot.dlq`, matching it against a
 * redrive or triage filter, grouping it for triage, and choosing what a redrive sends back. Plain
 * functions over plain data: the handlers read the stream and produce.
 */
import { DlqRecord, type PipelineFailureReason } from './contract/messages.js';
import { parseTopic } from './envelope.js';

/** A dead letter as read from the stream: the record, and where and when it was appended. */
export interface DeadLetter {
  readonly record: DlqRecord;
  /** The stream record's timestamp (epoch ms): when the platform received the message. */
  readonly time: number;
  readonly partition: number;
  readonly offset: number;
  /** The device type named by the MQTT topic, when the message came with one. */
  readonly deviceType?: string;
  /** The device id the failure named, or the topic's. */
  readonly deviceId?: string;
}

/** What selects dead letters: every field given must match. Times are the receipt time, [from, to). */
export interface DeadLetterFilter {
  readonly reason?: string;
  readonly deviceType?: string;
  readonly deviceId?: string;
  readonly from: number;
  readonly to: number;
}

/** Reads a dead-letter record; undefined for bytes that are not one (never thrown: triage goes on). */
export function readDeadLetter(
  value: Uint8Array,
  position: { time: number; partition: number; offset: number },
): DeadLetter | undefined {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = DlqRecord.safeParse(body);
  if (!parsed.success) return undefined;
  const record = parsed.data;
  const topic = record.source?.mqtt_topic ? parseTopic(record.source.mqtt_topic) : undefined;
  const deviceId = record.device_id ?? topic?.deviceId;
  return {
    record,
    ...position,
    ...(topic ? { deviceType: topic.deviceType } : {}),
    ...(deviceId ? { deviceId } : {}),
  };
}

export function matchesFilter(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  return (
    letter.time >= filter.from &&
    letter.time < filter.to &&
    (filter.reason === undefined || letter.record.reason === filter.reason) &&
    (filter.deviceType === undefined || letter.deviceType === filter.deviceType) &&
    (filter.deviceId === undefined || letter.deviceId === filter.deviceId)
  );
}

/** The label of a group field no dead letter of the group had (a payload without a device id). */
export const UNKNOWN = '(unknown)';

export interface DeadLetterGroup {
  readonly reason: string;
  readonly deviceType: string;
  readonly deviceId: string;
  readonly count: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  /** The newest dead letters of the group, newest first, as stored (original bytes in base64). */
  readonly examples: readonly DlqRecord[];
}

/**
 * Groups dead letters by reason, device type and device: counts, first and last failure, and the
 * newest `examplesPerGroup` records; groups with the most dead letters first.
 */
export function groupDeadLetters(letters: Iterable<DeadLetter>, examplesPerGroup: number): DeadLetterGroup[] {
  interface Accumulator {
    reason: string;
    deviceType: string;
    deviceId: string;
    count: number;
    first: string;
    last: string;
    examples: DlqRecord[];
  }
  const groups = new Map<string, Accumulator>();
  for (const letter of letters) {
    const deviceType = letter.deviceType ?? UNKNOWN;
    const deviceId = letter.deviceId ?? UNKNOWN;
    const key = `${letter.record.reason}\u0000${deviceType}\u0000${deviceId}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        reason: letter.record.reason,
        deviceType,
        deviceId,
        count: 0,
        first: letter.record.failed_at,
        last: letter.record.failed_at,
        examples: [],
      };
      groups.set(key, group);
    }
    group.count += 1;
    const failedAt = letter.record.failed_at;
    if (failedAt < group.first) group.first = failedAt;
    if (failedAt > group.last) group.last = failedAt;
    // ISO times of one format compare as strings; keep the newest few.
    group.examples.push(letter.record);
    if (group.examples.length > examplesPerGroup) {
      group.examples.sort((a, b) => (a.failed_at < b.failed_at ? 1 : a.failed_at > b.failed_at ? -1 : 0));
      group.examples.length = examplesPerGroup;
    }
  }
  return [...groups.values()]
    .map((group) => ({
      reason: group.reason,
      deviceType: group.deviceType,
      deviceId: group.deviceId,
      count: group.count,
      firstFailedAt: group.first,
      lastFailedAt: group.last,
      examples: group.examples
        .sort((a, b) => (a.failed_at < b.failed_at ? 1 : a.failed_at > b.failed_at ? -1 : 0))
        .slice(0, examplesPerGroup),
    }))
    .sort(
      (a, b) =>
        b.count - a.count || (a.lastFailedAt < b.lastFailedAt ? 1 : a.lastFailedAt > b.lastFailedAt ? -1 : 0),
    );
}

/** The stages whose dead letters a redrive can send back, and the topic each one goes back to. */
export const REDRIVE_TARGETS = {
  /** Rejected by enrichment: the device's bytes go back to the raw topic, as the bridge sent them. */
  enrich: 'raw',
} as const satisfies Record<string, 'raw'>;

/**
 * Of the dead letters of one message (the same topic and bytes: the first failure and those of earlier
 * redrives), only the newest goes back, so one redrive sends a message once and its count follows
 * on from the last attempt. Keyed by topic and bytes, not message id: a rejected message may have no
 * readable id at all.
 */
export function newestAttempts(letters: readonly DeadLetter[]): DeadLetter[] {
  const newest = new Map<string, DeadLetter>();
  for (const letter of letters) {
    const key = deadLetterAttemptKey(letter);
    const kept = newest.get(key);
    if (!kept || attemptOrder(letter, kept) > 0) newest.set(key, letter);
  }
  return [...newest.values()].sort((a, b) => a.time - b.time || a.offset - b.offset);
}

const attemptOrder = (a: DeadLetter, b: DeadLetter): number =>
  (a.record.redrive_count ?? 0) - (b.record.redrive_count ?? 0) ||
  (a.record.failed_at < b.record.failed_at ? -1 : a.record.failed_at > b.record.failed_at ? 1 : 0);

/** Whether a redrive can send this dead letter back (its stage has a target, its bytes are there). */
export const isRedrivable = (letter: DeadLetter): boolean =>
  Object.hasOwn(REDRIVE_TARGETS, letter.record.stage);

/** What identifies the attempts of one message: its MQTT topic and its original bytes (base64). */
export const attemptKey = (mqttTopic: string | undefined, originalBase64: string): string =>
  `${mqttTopic ?? ''}\u0000${originalBase64}`;

export const deadLetterAttemptKey = (letter: DeadLetter): string =>
  attemptKey(letter.record.source?.mqtt_topic, letter.record.original_base64);

// ----- Records of failed batches (AWS: the event source mappings' on-failure destination) ------------

/**
 * The reason a record of a failed batch answers to in a redrive filter: Lambda gave up on it after the
 * mapping's retries, which is what PROCESSING_FAILED names for the consumers' own dead letters.
 */
export const FAILED_BATCH_REASON: PipelineFailureReason = 'PROCESSING_FAILED';

/** A stream record of a failed batch, as far as a redrive filter looks at it. */
export interface FailedRecordInput {
  readonly key?: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** The stream record's timestamp (epoch ms). */
  readonly timestamp: number;
}

/** What a redrive filter matches a failed record on. */
export interface FailedRecordFacts {
  /** When the platform received the message: the `received_at` header, else the record's timestamp. */
  readonly time: number;
  readonly deviceType?: string;
  readonly deviceId?: string;
}

/**
 * Reads the facts of a failed record: device type and id from the MQTT topic header (raw records), or,
 * for an enriched record (no headers), the id from the key and the type from `device_metadata`.
 */
export function failedRecordFacts(record: FailedRecordInput): FailedRecordFacts {
  const receivedAt = Number(record.headers.received_at);
  const time = Number.isSafeInteger(receivedAt) && receivedAt > 0 ? receivedAt : record.timestamp;
  const topic = parseTopic(record.headers.mqtt_topic);
  const deviceType = topic?.deviceType ?? enrichedDeviceType(record.value);
  const deviceId = topic?.deviceId ?? record.key;
  return { time, ...(deviceType ? { deviceType } : {}), ...(deviceId ? { deviceId } : {}) };
}

export function matchesFailedRecord(facts: FailedRecordFacts, filter: DeadLetterFilter): boolean {
  return (
    facts.time >= filter.from &&
    facts.time < filter.to &&
    (filter.reason === undefined || filter.reason === FAILED_BATCH_REASON) &&
    (filter.deviceType === undefined || facts.deviceType === filter.deviceType) &&
    (filter.deviceId === undefined || facts.deviceId === filter.deviceId)
  );
}

/** `device_metadata.device_type` of an enriched message's bytes; undefined for anything else. */
function enrichedDeviceType(value: Uint8Array): string | undefined {
  try {
    const body: unknown = JSON.parse(
      Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString(),
    );
    const metadata = (body as { device_metadata?: { device_type?: unknown } } | null)?.device_metadata;
    return typeof metadata?.device_type === 'string' ? metadata.device_type : undefined;
  } catch {
    return undefined;
  }
}
