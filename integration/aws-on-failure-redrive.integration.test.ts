/**
 * Redrive from the MSK mappings' S3 on-failure destination (issue 16), against real peers: moto's S3
 * through the SDK client (ListObjectsV2, GetObject), and for a document that carries offsets only,
 * the Apache Kafka broker the records are read back from (the range reader, ListOffsets by time). The
 * data-ops function's invocation handler runs the redrive; a recording producer keeps what it sends.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoOperationStore } from '../functions/adapters/dynamodb/operations.js';
import { startTestDynamo, type TestDynamo } from '../functions/adapters/dynamodb/test-support.js';
import { KafkaStreamProducer } from '../functions/adapters/kafka/producer.js';
import { kafkaRangeReader } from '../functions/adapters/kafka/range-reader.js';
import { s3FailedBatchStore } from '../functions/adapters/s3/failed-batches.js';
import { createDataOpsInvocationHandler } from '../functions/handlers/data-ops-invocation.js';
import { onFailureDocument } from '../functions/handlers/on-failure-test-support.js';
import type { OperationProgress, RetainedRecord, TopicRangeReader } from '../functions/ports/data-ops.js';
import type { StreamRecord } from '../functions/ports/stream.js';
import { ON_FAILURE_RECORDS_PREFIX } from '../functions/shared/data-ops.js';
import { TOPIC_PARTITIONS, TOPICS } from '../functions/shared/stream.js';
import { createTopic, plainKafka } from './kafka/support.js';

const endpoint = inject('awsEndpoint');
const brokers = inject('kafkaBrokers');
const BUCKET = `iot-cloud-failed-${process.pid}`;
const fixture = readFileSync(
  new URL('../functions/handlers/fixtures/msk-on-failure-s3-record.json', import.meta.url),
  'utf8',
);

let s3: S3Client;
let kafka: Kafka;
let admin: Admin;
/** The operations table on moto's DynamoDB, as in AWS. */
let dynamo: TestDynamo;

beforeAll(async () => {
  dynamo = await startTestDynamo();
  s3 = new S3Client({
    endpoint,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  kafka = plainKafka(brokers);
  admin = kafka.admin();
  await admin.connect();
  const existing = await admin.listTopics();
  for (const topic of [TOPICS.raw, TOPICS.dlq]) {
    if (!existing.includes(topic))
      await createTopic(admin, { topic, numPartitions: TOPIC_PARTITIONS[topic] });
  }
});

afterAll(async () => {
  await admin?.disconnect();
  s3?.destroy();
  await dynamo?.close();
});

/** An object key in Lambda's layout: aws/lambda/<ESM-UUID>/<partition>/YYYY/MM/DD/<time>-<uuid>. */
const lambdaKey = (topicPartition: string) => {
  const now = new Date().toISOString();
  const day = now.slice(0, 10).replaceAll('-', '/');
  const time = now.slice(0, 19).replaceAll(':', '.');
  return `${ON_FAILURE_RECORDS_PREFIX}${randomUUID()}/${topicPartition}/${day}/${time}-${randomUUID()}`;
};

const put = (key: string, body: string) =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/json' }));

/** The data-ops function's handler over these peers, with a producer that records. */
async function redriveOver(reader: TopicRangeReader) {
  const operations = new DynamoOperationStore({
    client: dynamo.client,
    tableName: (await dynamo.freshTables()).operations,
  });
  const sent: { topic: string; record: StreamRecord }[] = [];
  const handler = createDataOpsInvocationHandler({
    reader,
    producer: {
      send: async (topic, records) => {
        for (const record of records) sent.push({ topic, record });
      },
    },
    operations,
    failedBatches: s3FailedBatchStore({ client: s3, bucket: BUCKET, prefix: ON_FAILURE_RECORDS_PREFIX }),
    log: { info: () => undefined, error: () => undefined },
  });
  return { handler, sent };
}

const noDeadLetters: TopicRangeReader = { readByTime: async () => undefined };
const redriveId = () => `rd-${randomUUID().replaceAll('-', '').slice(0, 20)}`;

describe('redrive from the S3 on-failure destination', () => {
  it("sends back the records of Lambda's documents the filter matches, and reads nothing outside its prefix", async () => {
    await put(lambdaKey('iot.raw-0'), fixture);
    // The Timestream reports share the bucket under another prefix; so does any other writer.
    await put('timestream-rejected/report-1.csv', 'not,an,on-failure,record');
    await put('elsewhere/copy.json', fixture);
    const { handler, sent } = await redriveOver(noDeadLetters);
    const from = Date.parse('2026-11-23T12:00:00.000Z');

    const progress = (await handler({
      action: 'redrive',
      id: redriveId(),
      filter: { deviceType: 'environmental_sensor', from, to: from + 3_600_000 },
    })) as OperationProgress;

    expect(progress).toMatchObject({ state: 'done', scanned: 3, matched: 2, sent: 2, skipped: {} });
    expect(sent.map((s) => [s.topic, s.record.key, s.record.headers?.redrive_count])).toEqual([
      [TOPICS.raw, 'env-00001', '1'],
      [TOPICS.raw, 'env-00002', '1'],
    ]);
    expect(sent[0]?.record.headers).toMatchObject({
      mqtt_topic: 'dt/environmental_sensor/env-00001/telemetry',
      received_at: '1795435200250',
    });
    expect(Buffer.from(sent[0]?.record.value ?? []).toString()).toBe(
      '{"device_id":"env-00001","timestamp":"2026-11-23T12:00:00.000Z","event_type":"telemetry","measurements":{"temperature":21.5,"humidity":40,"pressure":1013.2}}',
    );
  });

  it('reads a document with offsets only back from the Kafka topic', async () => {
    const deviceId = `probe-${process.pid}-${Date.now().toString(36)}`;
    const sentAt = Date.now();
    const producer = new KafkaStreamProducer({ kafka });
    await producer.send(
      TOPICS.raw,
      [1, 2].map((n) => ({
        key: deviceId,
        value: Buffer.from(`{"device_id":"${deviceId}","n":${n}}`),
        headers: { mqtt_topic: `dt/probe/${deviceId}/telemetry`, received_at: String(sentAt + n) },
      })),
    );
    await producer.disconnect();
    // Where the broker put them (offsets, timestamps): what Lambda's document would name.
    const produced: RetainedRecord[] = [];
    await kafkaRangeReader({ kafka }).readByTime(
      TOPICS.raw,
      { from: sentAt - 60_000, to: Date.now() + 60_000 },
      (records) => {
        produced.push(...records.filter((record) => record.key === deviceId));
        return true;
      },
    );
    expect(produced).toHaveLength(2);
    const partition = produced[0]?.partition;
    await put(lambdaKey(`${TOPICS.raw}-${partition}`), onFailureDocument(produced, { withoutPayload: true }));
    const { handler, sent } = await redriveOver(kafkaRangeReader({ kafka }));

    const progress = (await handler({
      action: 'redrive',
      id: redriveId(),
      filter: { deviceId, from: sentAt - 1_000, to: sentAt + 60_000 },
    })) as OperationProgress;

    expect(progress).toMatchObject({ state: 'done', matched: 2, sent: 2, skipped: {} });
    expect(sent.map((s) => Buffer.from(s.record.value).toString())).toEqual([
      `{"device_id":"${deviceId}","n":1}`,
      `{"device_id":"${deviceId}","n":2}`,
    ]);
    expect(sent.map((s) => s.record.headers?.redrive_count)).toEqual(['1', '1']);
  });
});
