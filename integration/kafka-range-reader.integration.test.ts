/**
 * Data operations (issue 16) on a real broker: the Kafka range reader finds records by timestamp
 * (ListOffsets by timestamp through KafkaJS) and reads exactly the window, on every partition.
 */
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaStreamProducer } from '../functions/adapters/kafka/producer.js';
import { kafkaRangeReader } from '../functions/adapters/kafka/range-reader.js';
import type { RetainedRecord } from '../functions/ports/data-ops.js';
import { createTopic, plainKafka, uniqueTopic } from './kafka/support.js';

const brokers = inject('kafkaBrokers');
const T0 = Date.now() - 60 * 60_000;
let kafka: Kafka;
let admin: Admin;
let producer: KafkaStreamProducer;
const topic = uniqueTopic('data-ops.range');

beforeAll(async () => {
  kafka = plainKafka(brokers);
  admin = kafka.admin();
  await admin.connect();
  producer = new KafkaStreamProducer({ kafka });
  await createTopic(admin, { topic, numPartitions: 3 });
  // 30 records, one a second from T0, over six keys (so over the partitions), in time order.
  await producer.send(
    topic,
    Array.from({ length: 30 }, (_, i) => ({
      key: `device-${i % 6}`,
      value: Buffer.from(`value-${i}`),
      headers: { n: String(i), mqtt_topic: `dt/probe/device-${i % 6}/telemetry` },
      timestamp: T0 + i * 1000,
    })),
  );
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
});

describe('kafkaRangeReader', () => {
  it('visits exactly the records of [from, to), with key, value, headers and timestamp', async () => {
    const seen: RetainedRecord[] = [];

    await kafkaRangeReader({ kafka }).readByTime(topic, { from: T0 + 10_000, to: T0 + 20_000 }, (records) => {
      seen.push(...records);
      return true;
    });

    expect(seen.map((r) => Number(r.headers.n)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => 10 + i),
    );
    const first = seen.find((r) => r.headers.n === '10');
    expect(first).toMatchObject({ key: 'device-4', timestamp: T0 + 10_000 });
    expect(Buffer.from(first?.value ?? []).toString()).toBe('value-10');
  });

  it('returns at once for a window with no record', async () => {
    let visits = 0;
    await kafkaRangeReader({ kafka }).readByTime(topic, { from: T0 + 3_600_000, to: T0 + 7_200_000 }, () => {
      visits += 1;
      return true;
    });
    expect(visits).toBe(0);
  });
});
