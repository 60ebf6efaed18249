import type {
  Batch,
  Consumer,
  ConsumerConfig,
  ConsumerRunConfig,
  EachBatchPayload,
  Kafka,
  KafkaMessage,
  TopicPartitionOffsetAndMetadata,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { DlqRecord } from '../../functions/core/contract/messages.js';
import type {
  KafkaBatchResponse,
  KafkaEvent,
  KafkaHandler,
  StreamProducer,
  StreamRecord,
} from '../../functions/ports/stream.js';
import { CONSUMER_GROUPS, TOPICS } from '../../functions/shared/stream.js';
import { KafkaGroupConsumer } from './consumer.js';

const SOURCE = {
  eventSourceArn: 'arn:aws:kafka:local:000000000000:cluster/test/1',
  bootstrapServers: 'b1:9092',
};

/** KafkaJS's consumer API, mocked: records the config, the commits, and hands out `eachBatch`. */
class FakeKafka {
  readonly configs: ConsumerConfig[] = [];
  readonly commits: TopicPartitionOffsetAndMetadata[][] = [];
  run: ConsumerRunConfig | undefined;
  subscribed: unknown;
  disconnected = false;

  consumer(config: ConsumerConfig): Consumer {
    this.configs.push(config);
    return {
      connect: async () => {},
      subscribe: async (subscription: unknown) => {
        this.subscribed = subscription;
      },
      run: async (config?: ConsumerRunConfig) => {
        this.run = config;
      },
      commitOffsets: async (offsets: TopicPartitionOffsetAndMetadata[]) => {
        this.commits.push(offsets);
      },
      disconnect: async () => {
        this.disconnected = true;
      },
    } as unknown as Consumer;
  }

  /** Delivers a fetched batch the way KafkaJS calls `eachBatch`. */
  async deliver(partition: number, messages: KafkaMessage[], highWatermark: number): Promise<string[]> {
    const resolved: string[] = [];
    const batch = {
      topic: TOPICS.raw,
      partition,
      highWatermark: String(highWatermark),
      messages,
    } as unknown as Batch;
    const payload = {
      batch,
      resolveOffset: (offset: string) => resolved.push(offset),
      heartbeat: async () => {},
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload;
    if (!this.run?.eachBatch) throw new Error('run was not called with eachBatch');
    await this.run.eachBatch(payload);
    return resolved;
  }
}

class FakeProducer implements StreamProducer {
  readonly sent: { topic: string; records: readonly StreamRecord[] }[] = [];
  async send(topic: string, records: readonly StreamRecord[]): Promise<void> {
    this.sent.push({ topic, records });
  }
}

const message = (offset: number, deviceId = 'env-001', body = `{"n":${offset}}`): KafkaMessage =>
  ({
    offset: String(offset),
    key: Buffer.from(deviceId),
    value: Buffer.from(body),
    timestamp: String(1_700_000_000_000 + offset),
    attributes: 0,
    headers: { received_at: Buffer.from('1700000000000'), mqtt_topic: 'dt/env/env-001/telemetry' },
  }) as KafkaMessage;

async function started(
  handler: KafkaHandler,
  extra: { batchSize?: number; knownHighWatermark?: (partition: number) => number | undefined } = {},
) {
  const kafka = new FakeKafka();
  const producer = new FakeProducer();
  const consumer = await new KafkaGroupConsumer({
    kafka: kafka as unknown as Pick<Kafka, 'consumer'>,
    producer,
    topic: TOPICS.raw,
    group: CONSUMER_GROUPS.enrich,
    name: 'enrich',
    handler,
    source: SOURCE,
    retryBackoffMs: 0,
    ...extra,
  }).start();
  return { kafka, producer, consumer };
}

describe('KafkaGroupConsumer (KafkaJS consumer mocked)', () => {
  it('joins the group without auto-commit and delivers the Lambda MSK event shape', async () => {
    const events: KafkaEvent[] = [];
    const { kafka } = await started(async (event) => {
      events.push(event);
      return { batchItemFailures: [] };
    });
    expect(kafka.configs[0]?.groupId).toBe(CONSUMER_GROUPS.enrich);
    expect(kafka.run).toMatchObject({ autoCommit: false, eachBatchAutoResolve: false });

    await kafka.deliver(3, [message(10), message(12)], 13);

    expect(events).toEqual([
      {
        eventSource: 'aws:kafka',
        eventSourceArn: SOURCE.eventSourceArn,
        bootstrapServers: 'b1:9092',
        records: {
          'iot.raw-3': [10, 12].map((offset) => ({
            topic: TOPICS.raw,
            partition: 3,
            offset,
            timestamp: 1_700_000_000_000 + offset,
            timestampType: 'CREATE_TIME',
            key: Buffer.from('env-001').toString('base64'),
            value: Buffer.from(`{"n":${offset}}`).toString('base64'),
            headers: [
              { received_at: [...Buffer.from('1700000000000')] },
              { mqtt_topic: [...Buffer.from('dt/env/env-001/telemetry')] },
            ],
          })),
        },
      },
    ]);
  });

  it('commits the offset after the last record only once the handler succeeded', async () => {
    let release: (() => void) | undefined;
    const { kafka, consumer } = await started(
      () =>
        new Promise<KafkaBatchResponse>((resolve) => {
          release = () => resolve({ batchItemFailures: [] });
        }),
    );

    const delivery = kafka.deliver(0, [message(0), message(1), message(2)], 3);
    await expect.poll(() => release).toBeDefined();
    expect(kafka.commits).toEqual([]);
    expect(consumer.stats().lag).toBe(3);

    release?.();
    const resolved = await delivery;
    expect(kafka.commits).toEqual([[{ topic: TOPICS.raw, partition: 0, offset: '3' }]]);
    expect(resolved).toEqual(['2']);
    expect(consumer.stats().lag).toBe(0);
  });

  it('counts records the cluster holds past its last fetch in the lag', async () => {
    const highWatermarks = new Map([[0, 3]]);
    const { kafka, consumer } = await started(async () => ({ batchItemFailures: [] }), {
      knownHighWatermark: (partition) => highWatermarks.get(partition),
    });
    await kafka.deliver(0, [message(0), message(1), message(2)], 3);

    // Produced since the fetch: the fetched batch's watermark (3) no longer tells.
    highWatermarks.set(0, 10);

    expect(consumer.stats().lag).toBe(7);
  });

  it('commits nothing for a batch whose handler keeps throwing until its records are dead-lettered', async () => {
    let calls = 0;
    const { kafka, producer } = await started(async () => {
      calls++;
      expect(kafka.commits).toEqual([]);
      throw new Error('database down');
    });

    await kafka.deliver(1, [message(5)], 6);

    // One delivery and three retries (EVENT_SOURCE_ERROR_CONTROLS), then the DLQ, then the commit.
    expect(calls).toBe(4);
    expect(producer.sent.map((s) => s.topic)).toEqual([TOPICS.dlq]);
    expect(kafka.commits).toEqual([[{ topic: TOPICS.raw, partition: 1, offset: '6' }]]);
  });

  it('sends a poison record to iot.dlq with its bytes and reason, and the partition moves on', async () => {
    const seen: number[][] = [];
    const { kafka, producer, consumer } = await started(
      async (event) => {
        const records = Object.values(event.records).flat();
        seen.push(records.map((r) => r.offset));
        const poison = records.find((r) => r.offset === 21);
        return {
          batchItemFailures: poison ? [{ itemIdentifier: { partition: 'iot.raw-2', offset: 21 } }] : [],
        };
      },
      { batchSize: 10 },
    );

    await kafka.deliver(2, [message(20), message(21, 'env-002', 'not json'), message(22)], 23);
    // The next fetch of the partition is delivered as usual.
    await kafka.deliver(2, [message(23)], 24);

    const letters = producer.sent.flatMap((s) => s.records.map((r) => ({ topic: s.topic, record: r })));
    expect(letters).toHaveLength(1);
    const letter = letters[0];
    expect(letter?.topic).toBe(TOPICS.dlq);
    expect(letter?.record.key).toBe('env-002');
    const body = JSON.parse(Buffer.from(letter?.record.value ?? []).toString('utf8')) as DlqRecord;
    expect(body).toMatchObject({
      reason: 'PROCESSING_FAILED',
      stage: 'enrich',
      source: { kafka_topic: TOPICS.raw, partition: 2, offset: '21' },
    });
    expect(Buffer.from(body.original_base64, 'base64').toString('utf8')).toBe('not json');
    // Delivered, then retried from the poison record three times, then the rest after it.
    expect(seen).toEqual([[20, 21, 22], [21, 22], [21, 22], [21, 22], [22], [23]]);
    expect(kafka.commits.map((c) => c[0]?.offset)).toEqual(['23', '24']);
    expect(consumer.stats()).toMatchObject({ deadLettered: 1, lag: 0 });
  });

  it('stops by disconnecting the KafkaJS consumer', async () => {
    const { kafka, consumer } = await started(async () => undefined);
    await consumer.stop();
    expect(kafka.disconnected).toBe(true);
    expect(consumer.stats().state).toBe('stopped');
  });
});
