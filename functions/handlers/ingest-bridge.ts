/**
 * Ingest bridge: SQS batches from the IoT rule's buffer queue -> the `iot.raw` topic, keyed by device
 * id so each device's messages stay in order within a partition. The whole batch goes out in one
 * produce call (one round trip to MSK, one fsync in the local log); if it fails, every record is
 * reported as a batch item failure and SQS redelivers them (its own DLQ catches repeated failures).
 *
 * Not Powertools' BatchProcessor: it hands records over one at a time, which would mean one produce per
 * record.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '../core/contract/identifiers.js';
import { EVENT_TYPES } from '../core/contract/messages.js';
import { toDlqRecord } from '../core/dlq.js';
import { parseTopic } from '../core/envelope.js';
import type { StreamProducer, StreamRecord } from '../ports/stream.js';
import type { IngestEnvelope } from '../shared/iot-rules.js';
import { TOPICS } from '../shared/stream.js';

/** The rule's output: anything else on the queue did not come from the rule. */
const Envelope = z.object({
  payload: z.string(),
  topic: z.string().max(256),
  device_type: z.string().max(64).optional(),
  device_id: z.string().max(128).optional(),
  received_at: z.number().int().nonnegative(),
});

export interface IngestBridgeDependencies {
  readonly producer: StreamProducer;
  readonly now?: () => number;
}

/** The Kafka key: the device id from the topic when it is a valid one. */
const keyFor = (envelope: IngestEnvelope): string =>
  envelope.device_id !== undefined && DEVICE_ID_PATTERN.test(envelope.device_id)
    ? envelope.device_id
    : 'unknown';

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Why a device topic cannot be trusted, or undefined when it can: the topic is bound to the thing by
 * its IoT policy, and enrich checks the payload's device id against it, so a topic whose type, id or
 * kind is malformed would skip that check. Exported for the API's preview (functions/handlers/api/preview.ts).
 */
export function topicProblem(
  topic: string,
  envelope: Pick<IngestEnvelope, 'device_type' | 'device_id'>,
): string | undefined {
  const info = parseTopic(topic);
  // Ingest mappings (issue 14): a mapped-topic rule (functions/shared/iot-rules.ts) sets no
  // device_type and takes device_id from the topic's {deviceId} level, which the policy binds.
  if (!info && envelope.device_type === undefined && envelope.device_id !== undefined) {
    return DEVICE_ID_PATTERN.test(envelope.device_id)
      ? undefined
      : `topic "${topic.slice(0, 256)}" names no valid device id at its {deviceId} level`;
  }
  if (!info)
    return `topic "${topic.slice(0, 256)}" is not dt/{deviceType}/{deviceId}/{kind} with a valid type and id`;
  if (!EVENT_TYPE_SET.has(info.kind))
    return `topic kind "${info.kind.slice(0, 64)}" is not one of ${EVENT_TYPES.join(', ')}`;
  return undefined;
}

export function createIngestBridgeHandler(dependencies: IngestBridgeDependencies) {
  const now = dependencies.now ?? Date.now;
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const raw: StreamRecord[] = [];
    const deadLetters: StreamRecord[] = [];
    for (const record of event.Records) {
      let body: unknown;
      try {
        body = JSON.parse(record.body);
      } catch {
        body = undefined;
      }
      const parsed = Envelope.safeParse(body);
      if (!parsed.success) {
        // Not the rule's output: keep it, with why, rather than drop it or retry it forever.
        const dlq = toDlqRecord({
          rejection: {
            reason: 'INVALID_ENVELOPE',
            detail: 'buffer queue message is not an ingest rule envelope',
          },
          original: record.body,
          receivedAt: Number(record.attributes.SentTimestamp) || now(),
          failedAt: now(),
          stage: 'ingest-bridge',
        });
        deadLetters.push({ key: 'unknown', value: Buffer.from(JSON.stringify(dlq)) });
        continue;
      }
      const envelope = parsed.data;
      const problem = topicProblem(envelope.topic, envelope);
      if (problem !== undefined) {
        const dlq = toDlqRecord({
          rejection: { reason: 'INVALID_TOPIC', detail: problem },
          original: Buffer.from(envelope.payload, 'base64'),
          receivedAt: envelope.received_at,
          failedAt: now(),
          stage: 'ingest-bridge',
          source: { mqttTopic: envelope.topic },
        });
        deadLetters.push({ key: 'unknown', value: Buffer.from(JSON.stringify(dlq)) });
        continue;
      }
      raw.push({
        key: keyFor(envelope),
        value: Buffer.from(envelope.payload, 'base64'),
        headers: { mqtt_topic: envelope.topic, received_at: String(envelope.received_at) },
        timestamp: envelope.received_at,
      });
    }
    try {
      await Promise.all([
        raw.length > 0 ? dependencies.producer.send(TOPICS.raw, raw) : undefined,
        deadLetters.length > 0 ? dependencies.producer.send(TOPICS.dlq, deadLetters) : undefined,
      ]);
    } catch {
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    }
    return { batchItemFailures: [] };
  };
}
