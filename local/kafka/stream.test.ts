import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TOPIC_PARTITIONS, TOPICS } from '../../functions/shared/stream.js';
import { connectKafkaStream, retryRetriable } from './stream.js';

/** KafkaJS's admin, producer and consumer, mocked: what the stream asks of the cluster. */
function fakeKafka() {
  const calls: string[] = [];
  const created: { topic: string; numPartitions?: number }[] = [];
  const admin = {
    connect: async () => void calls.push('admin.connect'),
    disconnect: async () => void calls.push('admin.disconnect'),
    listTopics: async () => [TOPICS.raw],
    fetchTopicMetadata: async () => ({
      topics: [{ name: TOPICS.raw, partitions: Array.from({ length: 6 }, (_, i) => ({ partitionId: i })) }],
    }),
    createTopics: async (request: { topics: { topic: string; numPartitions?: number }[] }) => {
      created.push(...request.topics);
      return true;
    },
    createPartitions: async () => true,
    alterConfigs: async () => ({}),
    fetchTopicOffsets: async (topic: string) =>
      topic === TOPICS.raw
        ? [
            { partition: 0, offset: '7', high: '7', low: '0' },
            { partition: 1, offset: '5', high: '5', low: '0' },
          ]
        : [],
  } as unknown as Admin;
  const kafka = {
    admin: () => admin,
    producer: () =>
      ({
        connect: async () => void calls.push('producer.connect'),
        disconnect: async () => void calls.push('producer.disconnect'),
        send: async () => [],
      }) as unknown as Producer,
    consumer: () =>
      ({
        connect: async () => void calls.push('consumer.connect'),
        subscribe: async () => {},
        run: async () => void calls.push('consumer.run'),
        disconnect: async () => void calls.push('consumer.disconnect'),
      }) as unknown as Consumer,
  } as unknown as Pick<Kafka, 'admin' | 'producer' | 'consumer'>;
  return { kafka, calls, created };
}

describe('connectKafkaStream (KafkaJS mocked)', () => {
  it('creates the missing topics from the shared declarations and totals the high watermarks', async () => {
    const { kafka, calls, created } = fakeKafka();
    const stream = await connectKafkaStream({ brokers: ['b1:9092'], onWarning: () => {}, kafka });

    expect(created).toEqual(
      Object.entries(TOPIC_PARTITIONS)
        .filter(([name]) => name !== TOPICS.raw)
        .map(([topic, numPartitions]) => expect.objectContaining({ topic, numPartitions })),
    );
    expect(stream.endOffsetTotal(TOPICS.raw)).toBe(12);
    expect(stream.endOffsetTotal(TOPICS.dlq)).toBe(0);

    const consumer = await stream.subscribe({
      topic: TOPICS.raw,
      group: 'g',
      name: 'enrich',
      handler: async () => undefined,
      batchSize: 10,
      onError: () => {},
    });
    expect(consumer.stats().state).toBe('running');

    await stream.close();
    expect(calls).toEqual([
      'admin.connect',
      'consumer.connect',
      'consumer.run',
      'consumer.disconnect',
      'admin.disconnect',
    ]);
  });

  it('waits for a topic it just created to get its leader before reading its offsets', async () => {
    const { kafka } = fakeKafka();
    const admin = kafka.admin();
    const fetchTopicOffsets = admin.fetchTopicOffsets.bind(admin);
    let refusals = 2;
    // What Apache Kafka answers right after CreateTopics, and KafkaJS passes on without retrying.
    admin.fetchTopicOffsets = async (topic: string) => {
      if (refusals-- > 0)
        throw Object.assign(new Error('This server is not the leader for that topic-partition'), {
          retriable: true,
          type: 'NOT_LEADER_FOR_PARTITION',
        });
      return fetchTopicOffsets(topic);
    };

    const stream = await connectKafkaStream({
      brokers: ['b1:9092'],
      onWarning: () => {},
      kafka: { ...kafka, admin: () => admin },
    });

    expect(stream.endOffsetTotal(TOPICS.raw)).toBe(12);
    await stream.close();
  });

  it('gives up at once on an error that is not retriable', async () => {
    let attempts = 0;
    const refused = retryRetriable(async () => {
      attempts++;
      throw new Error('SASL authentication failed');
    }, 10_000);

    await expect(refused).rejects.toThrow('SASL authentication failed');
    expect(attempts).toBe(1);
  });

  it('names the cluster when it cannot be reached', async () => {
    const { kafka } = fakeKafka();
    const unreachable = {
      ...kafka,
      admin: () =>
        ({
          connect: async () => {
            throw new Error('Connection error: connect ECONNREFUSED');
          },
          disconnect: async () => {},
        }) as unknown as Admin,
    };
    await expect(
      connectKafkaStream({ brokers: ['b1:9092', 'b2:9092'], onWarning: () => {}, kafka: unreachable }),
    ).rejects.toThrow('Kafka at b1:9092,b2:9092: Connection error: connect ECONNREFUSED');
  });
});
