/**
 * Writes a time-series sink refused for good (Timestream: a conflicting value for the same device,
 * measure and time; a time outside the table's retention; a limit) are never resent unchanged and never
 * dropped silently. With a producer, each message they belong to becomes one dead letter on `iot.dlq`
 * (PROCESSING_FAILED, with the sink's reasons); without one (a writer outside the VPC), the Kafka
 * records that carried them are reported as batch item failures, so the event source retries them and
 * then hands them to its on-failure destination.
 */
import type { EnrichedMessage } from '../core/contract/messages.js';
import { toDlqRecord } from '../core/dlq.js';
import type { TimestreamRecord } from '../core/timeseries.js';
import type { KafkaEvent, KafkaEventRecord, StreamProducer, StreamRecord } from '../ports/stream.js';
import { TOPICS } from '../shared/stream.js';
import { eachRecord, recordValue } from './kafka-records.js';

/** One write refused for good (the Timestream sink's RejectedWrite has this shape). */
export interface RejectedWrite {
  readonly kind: string;
  readonly reason: string;
  readonly record: Pick<TimestreamRecord, 'MeasureName'>;
  readonly message: EnrichedMessage;
}

/** What became of a batch's rejected writes: dead letters sent, or records to report as failed. */
export type RejectedWritesOutcome =
  | { readonly deadLettered: number; readonly failedAt: number }
  | { readonly failed: KafkaEventRecord[] };

/**
 * Dead-letters the messages of `rejected` through `producer` (a failed send throws: the batch is
 * retried), or, without a producer, finds the records of `event` that carried them.
 */
export async function settleRejectedWrites(
  event: KafkaEvent,
  rejected: readonly RejectedWrite[],
  producer: StreamProducer | undefined,
  now: () => number,
): Promise<RejectedWritesOutcome> {
  const byMessage = groupByMessage(rejected);
  if (!producer) return { failed: recordsOf(event, byMessage) };
  const failedAt = now();
  await producer.send(
    TOPICS.dlq,
    [...byMessage.values()].map((items) => deadLetter(items, failedAt)),
  );
  return { deadLettered: byMessage.size, failedAt };
}

const messageKey = (message: { device_id: string; enrichment_info: { message_id: string } }) =>
  `${message.device_id} ${message.enrichment_info.message_id}`;

/** Rejected writes per message: one dead letter per message, whatever number of its writes failed. */
function groupByMessage(rejected: readonly RejectedWrite[]): Map<string, RejectedWrite[]> {
  const byMessage = new Map<string, RejectedWrite[]>();
  for (const item of rejected) {
    const key = messageKey(item.message);
    byMessage.set(key, [...(byMessage.get(key) ?? []), item]);
  }
  return byMessage;
}

function deadLetter(items: readonly RejectedWrite[], failedAt: number): StreamRecord {
  const message = (items[0] as RejectedWrite).message;
  const detail = items.map((i) => `${i.record.MeasureName}: ${i.kind} (${i.reason})`).join('; ');
  const dlq = toDlqRecord({
    rejection: {
      reason: 'PROCESSING_FAILED',
      detail: `Timestream rejected ${detail}`,
      deviceId: message.device_id,
    },
    original: JSON.stringify(message),
    receivedAt: Date.parse(message.enrichment_info.received_at),
    failedAt,
    stage: 'timeseries-writer',
  });
  return { key: message.device_id, value: Buffer.from(JSON.stringify(dlq)), timestamp: failedAt };
}

/** The event's records that carry one of these messages. */
function recordsOf(event: KafkaEvent, byMessage: ReadonlyMap<string, unknown>): KafkaEventRecord[] {
  const found: KafkaEventRecord[] = [];
  for (const record of eachRecord(event)) {
    const message = parseMessage(recordValue(record));
    if (message?.enrichment_info && byMessage.has(messageKey(message))) found.push(record);
  }
  return found;
}

function parseMessage(value: Buffer): EnrichedMessage | undefined {
  try {
    return JSON.parse(value.toString('utf8')) as EnrichedMessage | undefined;
  } catch {
    return undefined;
  }
}
