/**
 * The bridge's producer (functions/adapters/kafka/producer.ts, KafkaJS, idempotent, acks=all) and the
 * bridge handler on it, against a real Apache Kafka broker over PLAINTEXT (the same client factory
 * as MSK's IAM mode, without SASL and TLS).
 */
import { randomBytes } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KafkaStreamProducer } from '../functions/adapters/kafka/producer.js';
import { createIngestBridgeHandler } from '../functions/handlers/ingest-bridge.js';
import type { StreamRecord } from '../functions/ports/stream.js';
import { TOPIC_PARTITIONS, TOPICS } from '../functions/shared/stream.js';
import { partitionForKey } from '../local/log/index.js';
import { createTopic, plainKafka, readTopic, uniqueTopic } from './kafka/support.js';

const brokers = inject('kafkaBrokers');
let kafka: Kafka;
let admin: Admin;
const producers: KafkaStreamProducer[] = [];

const newProducer = () => {
  const producer = new KafkaStreamProducer({ kafka });
  producers.push(producer);
  return producer;
};

beforeAll(async () => {
  kafka = plainKafka(brokers);
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await Promise.all(producers.map((producer) => producer.disconnect()));
  await admin?.disconnect();
});

const record = (key: string, text: string, extra: Partial<StreamRecord> = {}): StreamRecord => ({
  key,
  value: Buffer.from(text),
  ...extra,
});

describe('KafkaStreamProducer on Apache Kafka', () => {
  it('writes key, value, headers and timestamp, on the partition the local log picks for the key', async () => {
    const topic = uniqueTopic('it.produce');
    await createTopic(admin, { topic, numPartitions: 6 });
    const keys = ['meter-00001', 'meter-00002', 'env-00042', 'breaker-00007', 'unknown'];

    await newProducer().send(
      topic,
      keys.map((key, i) =>
        record(key, `{"n":${i}}`, {
          headers: { mqtt_topic: `dt/x/${key}/telemetry` },
          timestamp: 1_795_435_200_000 + i,
        }),
      ),
    );
    const read = await readTopic(kafka, topic);

    expect(read).toHaveLength(keys.length);
    for (const [i, key] of keys.entries()) {
      const message = read.find((m) => m.key?.toString() === key);
      expect(message?.value?.toString()).toBe(`{"n":${i}}`);
      expect(message?.headers?.mqtt_topic?.toString()).toBe(`dt/x/${key}/telemetry`);
      expect(message?.timestamp).toBe(String(1_795_435_200_000 + i));
      // KafkaJS's default partitioner and the local log's murmur2 agree: a device keeps its partition.
      expect(message?.partition).toBe(partitionForKey(key, 6));
    }
  });

  it('keeps the order of a large batch within each key, every record once', async () => {
    const topic = uniqueTopic('it.batch');
    await createTopic(admin, { topic, numPartitions: 3 });
    const devices = Array.from({ length: 20 }, (_, i) => `meter-${String(i).padStart(5, '0')}`);
    const records = Array.from({ length: 2000 }, (_, i) =>
      record(devices[i % devices.length] as string, String(i)),
    );

    await newProducer().send(topic, records);
    const read = await readTopic(kafka, topic);

    expect(read).toHaveLength(records.length);
    for (const device of devices) {
      const sequence = read
        .filter((m) => m.key?.toString() === device)
        .map((m) => Number(m.value?.toString()));
      expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
      expect(sequence).toHaveLength(100);
    }
  });

  it('writes concurrent sends of one idempotent producer once each', async () => {
    // The local consumers and the bridge share one producer and send from several partitions at once.
    const topic = uniqueTopic('it.concurrent');
    await createTopic(admin, { topic, numPartitions: 2 });
    const producer = newProducer();

    await Promise.all(
      Array.from({ length: 8 }, (_, batch) =>
        producer.send(
          topic,
          Array.from({ length: 50 }, (_, i) => record(`dev-${batch}`, `${batch}:${i}`)),
        ),
      ),
    );
    const read = await readTopic(kafka, topic);

    expect(read).toHaveLength(400);
    expect(new Set(read.map((m) => m.value?.toString())).size).toBe(400);
  });

  it('rejects a send to a topic that does not exist (auto-create is off), and sends again after', async () => {
    const producer = newProducer();
    const topic = uniqueTopic('it.existing');
    await createTopic(admin, { topic, numPartitions: 1 });

    await expect(producer.send(uniqueTopic('it.missing'), [record('k', 'v')])).rejects.toThrow(
      /does not host this topic-partition|not exist|UNKNOWN_TOPIC/i,
    );
    await producer.send(topic, [record('k', 'after')]);

    expect((await readTopic(kafka, topic)).map((m) => m.value?.toString())).toEqual(['after']);
  });

  it('rejects a record over the topic’s max.message.bytes and writes none of the batch', async () => {
    const topic = uniqueTopic('it.too-large');
    await createTopic(admin, {
      topic,
      numPartitions: 1,
      configEntries: [{ name: 'max.message.bytes', value: '1024' }],
    });

    // Random bytes: the producer gzips its batches and the broker checks the compressed size, so a
    // repetitive value of 4 KiB would pass.
    const incompressible: StreamRecord = { key: 'k', value: randomBytes(4096) };
    await expect(newProducer().send(topic, [record('k', 'small'), incompressible])).rejects.toThrow(
      /larger than|too large|MESSAGE_TOO_LARGE/i,
    );

    expect(await readTopic(kafka, topic)).toEqual([]);
  });
});

describe('ingest bridge on Apache Kafka', () => {
  const envelope = (deviceId: string, payload: Buffer) =>
    JSON.stringify({
      payload: payload.toString('base64'),
      topic: `dt/smart_meter/${deviceId}/telemetry`,
      device_type: 'smart_meter',
      device_id: deviceId,
      received_at: 1_795_435_200_000,
    });
  const sqsEvent = (bodies: readonly string[]): SQSEvent => ({
    Records: bodies.map((body, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1795435200000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1795435200000',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:iot-cloud-ingest',
      awsRegion: 'eu-west-1',
    })),
  });

  beforeAll(async () => {
    const existing = await admin.listTopics();
    if (!existing.includes(TOPICS.raw))
      await createTopic(admin, { topic: TOPICS.raw, numPartitions: TOPIC_PARTITIONS[TOPICS.raw] });
  });

  it('writes a batch to iot.raw keyed by device id and reports no failure', async () => {
    const before = await admin.fetchTopicOffsets(TOPICS.raw);
    const marker = uniqueTopic('bridge');
    const bridge = createIngestBridgeHandler({ producer: newProducer() });

    const response = await bridge(
      sqsEvent(
        ['meter-00001', 'meter-00002'].map((id) => envelope(id, Buffer.from(`{"marker":"${marker}"}`))),
      ),
    );
    const after = await admin.fetchTopicOffsets(TOPICS.raw);

    expect(response).toEqual({ batchItemFailures: [] });
    const written =
      after.reduce((sum, p) => sum + Number(p.high), 0) - before.reduce((sum, p) => sum + Number(p.high), 0);
    expect(written).toBe(2);
    const read = (await readTopic(kafka, TOPICS.raw)).filter((m) => m.value?.toString().includes(marker));
    expect(read.map((m) => [m.key?.toString(), m.partition])).toEqual(
      expect.arrayContaining([
        ['meter-00001', partitionForKey('meter-00001', TOPIC_PARTITIONS[TOPICS.raw])],
        ['meter-00002', partitionForKey('meter-00002', TOPIC_PARTITIONS[TOPICS.raw])],
      ]),
    );
  });

  it('reports every message of the batch failed when the broker refuses the produce', async () => {
    // The broker's default max.message.bytes is 1 MiB: a payload past it, even gzipped (random bytes),
    // is refused (MESSAGE_TOO_LARGE).
    const bridge = createIngestBridgeHandler({ producer: newProducer() });

    const response = await bridge(
      sqsEvent([envelope('meter-00003', Buffer.from('{}')), envelope('meter-00004', randomBytes(1_200_000))]),
    );

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m-0', 'm-1']);
  });
});
