/**
 * The `--kafka-brokers` consumer group (local/kafka/consumer.ts) against a real Apache Kafka broker:
 * the offsets it commits and the group's assignments are read back from the broker.
 */
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaStreamProducer } from '../functions/adapters/kafka/producer.js';
import type { DlqRecord } from '../functions/core/contract/messages.js';
import type { KafkaBatchResponse, KafkaEvent, KafkaEventRecord } from '../functions/ports/stream.js';
import { KafkaGroupConsumer } from '../local/kafka/consumer.js';
import { createTopic, plainKafka, readTopic, uniqueTopic, waitFor } from './kafka/support.js';

const brokers = inject('kafkaBrokers');
const SOURCE = {
  eventSourceArn: 'arn:aws:kafka:local:000000000000:cluster/integration/kafka',
  bootstrapServers: brokers,
};

let kafka: Kafka;
let admin: Admin;
let producer: KafkaStreamProducer;
let running: KafkaGroupConsumer[] = [];

beforeAll(async () => {
  kafka = plainKafka(brokers);
  admin = kafka.admin();
  await admin.connect();
  producer = new KafkaStreamProducer({ kafka });
});

afterEach(async () => {
  await Promise.all(running.map((consumer) => consumer.stop()));
  running = [];
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
});

/** A fresh topic, its DLQ topic and group, with `records` values produced under `key`. */
async function scenario(partitions: number, values: readonly string[], key = 'dev-1') {
  const topic = uniqueTopic('it.consume');
  const dlqTopic = uniqueTopic('it.consume-dlq');
  await createTopic(admin, { topic, numPartitions: partitions });
  await createTopic(admin, { topic: dlqTopic, numPartitions: 1 });
  if (values.length > 0)
    await producer.send(
      topic,
      values.map((value) => ({ key, value: Buffer.from(value) })),
    );
  return { topic, dlqTopic, group: uniqueTopic('it-group') };
}

type Handler = (
  records: readonly KafkaEventRecord[],
  event: KafkaEvent,
) => Promise<KafkaBatchResponse | undefined>;

async function startConsumer(
  options: {
    topic: string;
    dlqTopic: string;
    group: string;
    batchSize?: number;
    maximumRetryAttempts?: number;
  },
  handler: Handler,
): Promise<KafkaGroupConsumer> {
  const consumer = new KafkaGroupConsumer({
    kafka,
    producer,
    source: SOURCE,
    topic: options.topic,
    group: options.group,
    name: 'integration',
    dlqTopic: options.dlqTopic,
    batchSize: options.batchSize ?? 100,
    maximumRetryAttempts: options.maximumRetryAttempts ?? 3,
    retryBackoffMs: 0,
    handler: async (event: KafkaEvent) => handler(Object.values(event.records).flat(), event),
  });
  running.push(consumer);
  return consumer.start();
}

const textOf = (record: KafkaEventRecord) => Buffer.from(record.value, 'base64').toString('utf8');

/** The group's committed offset per partition (-1: none). */
async function committed(group: string, topic: string): Promise<Map<number, number>> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
}

/** The partitions each member of the group is assigned, once the group is stable with `members`. */
async function stableAssignment(group: string, members: number): Promise<void> {
  await waitFor(
    `group ${group} stable with ${members} member(s)`,
    async () => (await admin.describeGroups([group])).groups[0],
    (description) => description?.state === 'Stable' && description.members.length === members,
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('KafkaGroupConsumer on Apache Kafka', () => {
  it('commits each chunk only once it is handled, and a restart resumes exactly at the first unhandled record', async () => {
    const { topic, dlqTopic, group } = await scenario(1, range(0, 10).map(String));
    const firstRun: number[][] = [];
    let releaseBlocked: (error: Error) => void = () => {};
    const blocked = new Promise<never>((_, reject) => {
      releaseBlocked = reject;
    });
    await startConsumer({ topic, dlqTopic, group, batchSize: 4 }, async (records) => {
      firstRun.push(records.map((r) => r.offset));
      // The third chunk (offsets 8-9) is still being handled when the consumer stops.
      if (records[0]?.offset === 8) await blocked;
      return undefined;
    });

    const whileBlocked = await waitFor(
      'the third chunk in the handler',
      () => committed(group, topic),
      (offsets) => firstRun.some((chunk) => chunk[0] === 8) && offsets.get(0) === 8,
    );
    const stopping = running[0]?.stop();
    releaseBlocked(new Error('stopped mid-chunk'));
    await stopping;
    const afterStop = await committed(group, topic);

    const secondRun: number[][] = [];
    await startConsumer({ topic, dlqTopic, group, batchSize: 4 }, async (records) => {
      secondRun.push(records.map((r) => r.offset));
      return undefined;
    });
    const final = await waitFor(
      'offset 10 committed',
      () => committed(group, topic),
      (o) => o.get(0) === 10,
    );

    expect(firstRun.slice(0, 3)).toEqual([range(0, 4), range(4, 8), [8, 9]]);
    expect(whileBlocked.get(0)).toBe(8);
    expect(afterStop.get(0)).toBe(8);
    expect(secondRun).toEqual([[8, 9]]);
    expect(final.get(0)).toBe(10);
  });

  it('redelivers from the lowest offset of a partial batch response, and commits past it once handled', async () => {
    const { topic, dlqTopic, group } = await scenario(1, range(0, 10).map(String));
    const invocations: number[][] = [];
    await startConsumer({ topic, dlqTopic, group, batchSize: 10 }, async (records) => {
      invocations.push(records.map((r) => r.offset));
      if (invocations.length > 1) return { batchItemFailures: [] };
      // First delivery: offsets 7 and 5 failed (reported out of order, as a handler may).
      return {
        batchItemFailures: [7, 5].map((offset) => ({ itemIdentifier: { partition: `${topic}-0`, offset } })),
      };
    });

    await waitFor(
      'offset 10 committed',
      () => committed(group, topic),
      (o) => o.get(0) === 10,
    );

    expect(invocations).toEqual([range(0, 10), range(5, 10)]);
    expect(await readTopic(kafka, dlqTopic)).toEqual([]);
  });

  it('bisects a failing batch, dead-letters the poison record with its reason, and moves on', async () => {
    const values = range(0, 8).map((i) => (i === 5 ? 'poison' : `ok-${i}`));
    const { topic, dlqTopic, group } = await scenario(1, values, 'meter-00001');
    const invocations: number[][] = [];
    const handled = new Set<number>();
    await startConsumer(
      { topic, dlqTopic, group, batchSize: 8, maximumRetryAttempts: 1 },
      async (records) => {
        invocations.push(records.map((r) => r.offset));
        if (records.some((record) => textOf(record) === 'poison')) throw new Error('cannot parse record');
        for (const record of records) handled.add(record.offset);
        return undefined;
      },
    );

    await waitFor(
      'offset 8 committed',
      () => committed(group, topic),
      (o) => o.get(0) === 8,
    );
    const letters = await readTopic(kafka, dlqTopic);

    expect([...handled].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7]);
    // Bisection narrowed the failure down to the poison record alone before dead-lettering it.
    expect(invocations).toContainEqual([5]);
    expect(Math.max(...invocations.map((offsets) => offsets.length))).toBe(8);
    expect(letters).toHaveLength(1);
    const letter = JSON.parse(String(letters[0]?.value)) as DlqRecord;
    expect(letters[0]?.key?.toString()).toBe('meter-00001');
    expect(letter).toMatchObject({
      reason: 'PROCESSING_FAILED',
      stage: 'integration',
      source: { kafka_topic: topic, partition: 0, offset: '5' },
    });
    expect(JSON.stringify(letter)).toContain('cannot parse record');
  });

  it('splits the partitions between two members of a group, and a stop hands them all to the other', async () => {
    const { topic, dlqTopic, group } = await scenario(4, []);
    const seen: { member: string; partition: number; value: string }[] = [];
    const member = (name: string) => async (records: readonly KafkaEventRecord[]) => {
      for (const record of records)
        seen.push({ member: name, partition: record.partition, value: textOf(record) });
      return undefined;
    };
    await startConsumer({ topic, dlqTopic, group }, member('a'));
    const b = await startConsumer({ topic, dlqTopic, group }, member('b'));
    await stableAssignment(group, 2);
    // Enough keys to land on all four partitions.
    const keys = range(0, 40).map((i) => `dev-${i}`);

    await producer.send(
      topic,
      keys.map((key) => ({ key, value: Buffer.from(`first:${key}`) })),
    );
    await waitFor(
      'the first 40 records handled',
      () => seen.length,
      (n) => n >= 40,
    );
    // Committed too, so the stop below leaves no record of the first round to be delivered again.
    await waitFor(
      'the first 40 records committed',
      () => committed(group, topic),
      (offsets) => [...offsets.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0) === 40,
    );
    const first = seen.splice(0);
    await b.stop();
    await stableAssignment(group, 1);
    await producer.send(
      topic,
      keys.map((key) => ({ key, value: Buffer.from(`second:${key}`) })),
    );
    await waitFor(
      'the second 40 records handled',
      () => seen.length,
      (n) => n >= 40,
    );

    const partitionsOf = (records: typeof seen, name: string) =>
      new Set(records.filter((r) => r.member === name).map((r) => r.partition));
    const a1 = partitionsOf(first, 'a');
    const b1 = partitionsOf(first, 'b');
    expect(a1.size).toBeGreaterThan(0);
    expect(b1.size).toBeGreaterThan(0);
    expect([...a1].filter((p) => b1.has(p))).toEqual([]);
    expect(new Set([...a1, ...b1])).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set(first.map((r) => r.value)).size).toBe(40);
    expect(seen.every((r) => r.member === 'a')).toBe(true);
    expect(partitionsOf(seen, 'a')).toEqual(new Set([0, 1, 2, 3]));
    expect(new Set(seen.map((r) => r.value)).size).toBe(40);
  });
});
