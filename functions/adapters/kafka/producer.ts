/**
 * `StreamProducer` over KafkaJS: records keyed by device id (KafkaJS's default partitioner is Java's
 * murmur2, the same as the local log's, so a device maps to the same partition everywhere), acks from
 * all in-sync replicas, idempotent (a retried produce after a lost response is not written twice).
 *
 * One connection per process: the Lambda entry creates the producer at module scope and `send`
 * connects on first use, so warm invocations reuse it. A failed connect or send drops the connection
 * and the next `send` reconnects.
 */
import type { Kafka, Message, Producer } from 'kafkajs';
import type { StreamProducer, StreamRecord } from '../../ports/stream.js';

/** Kafka's `acks=all`. */
const ACKS_ALL = -1;

export interface KafkaStreamProducerOptions {
  readonly kafka: Pick<Kafka, 'producer'>;
  /**
   * Idempotent producer (default on). MSK Serverless supports it (IAM action
   * `kafka-cluster:WriteDataIdempotently`); turn it off only for brokers that refuse InitProducerId.
   */
  readonly idempotent?: boolean;
}

const toBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function toKafkaMessage(record: StreamRecord, now: number): Message {
  return {
    key: record.key,
    value: toBuffer(record.value),
    ...(record.headers ? { headers: { ...record.headers } } : {}),
    timestamp: String(record.timestamp ?? now),
  };
}

export class KafkaStreamProducer implements StreamProducer {
  private readonly kafka: Pick<Kafka, 'producer'>;
  private readonly idempotent: boolean;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(options: KafkaStreamProducerOptions) {
    this.kafka = options.kafka;
    this.idempotent = options.idempotent ?? true;
  }

  async send(topic: string, records: readonly StreamRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.connected();
    const now = Date.now();
    try {
      await producer.send({
        topic,
        acks: ACKS_ALL,
        messages: records.map((record) => toKafkaMessage(record, now)),
      });
    } catch (error) {
      // A broken connection must not be reused by the next invocation.
      await this.reset();
      throw error;
    }
  }

  /** Closes the connection (local mode's shutdown; Lambda simply freezes the process). */
  async disconnect(): Promise<void> {
    await this.reset();
  }

  private connected(): Promise<Producer> {
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: this.idempotent,
        // Idempotence in KafkaJS requires one request in flight per broker; it keeps order too.
        maxInFlightRequests: this.idempotent ? 1 : 5,
        allowAutoTopicCreation: false,
      });
      try {
        await producer.connect();
      } catch (error) {
        this.connecting = undefined;
        throw error;
      }
      this.producer = producer;
      return producer;
    })();
    return this.connecting;
  }

  private async reset(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    if (producer) await producer.disconnect().catch(() => undefined);
  }
}
