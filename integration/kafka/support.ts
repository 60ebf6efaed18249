/** Helpers for the tests against the real broker: topics with unique names, reading a topic back. */
import type { Admin, ITopicConfig, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka } from '../../functions/adapters/kafka/client.js';

export const plainKafka = (brokers: string, clientId = 'integration-tests'): Kafka =>
  createKafka({ brokers: [brokers], clientId });

/** A topic name no other test (or earlier run on a kept broker) has used. */
export const uniqueTopic = (base: string): string =>
  `${base}.${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 6)}`;

export async function createTopic(admin: Admin, config: ITopicConfig): Promise<void> {
  await admin.createTopics({ waitForLeaders: true, topics: [config] });
}

export type ReadMessage = KafkaMessage & { readonly partition: number };

/** Polls `condition` until it holds, failing after `timeoutMs` with `what` in the message. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  condition: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!condition(value)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

/**
 * Every record of `topic` up to its current end, in offset order per partition, read by a throwaway
 * consumer group.
 */
export async function readTopic(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const expected = [...ends.values()].reduce((sum, high) => sum + high, 0);
  const messages: ReadMessage[] = [];
  if (expected === 0) return messages;
  // A short fetch wait: once everything is read, disconnect does not sit out a 5 s long poll.
  const consumer = kafka.consumer({ groupId: uniqueTopic('integration-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ ...message, partition });
      },
    });
    await waitFor(
      `${expected} records of ${topic}`,
      () => messages.length,
      (count) => count >= expected,
    );
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}
