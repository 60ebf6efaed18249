/**
 * `StreamProducer` over KafkaJS: records keyed by device id (KafkaJS's default partitioner is Java's
 * murmur2, the same as the local log's, so a device maps to the same partition everywhere), acks from
 * all in-sync replicas, idempotent (a retried produce after a lost response is not written twice).
 *
 * One connection per process: the Lambda entry creates the producer at module scope and `send`
 * connects on first use, so warm invocations reuse it. A failed connect or send drops the connection
 * and the next `send` reconnects.
 *
 * Session expiry (MSK IAM): the broker ends an authenticated session when its lifetime (bounded by the
 * signed token's, 15 minutes for aws-msk-iam-sasl-signer-js) runs out, and expects the client to
 * re-authenticate on the open connection (KIP-368). KafkaJS 2.2.4 cannot, so a long-lived connection
 * is closed under it. Two defences, so one expiry never fails a whole batch:
 * - the producer reconnects (with a freshly signed token) before a send once its connection is older
 *   than `maxConnectionAgeMs` (default 10 minutes, inside the token's lifetime);
 * - a send that fails on a closed or unauthenticated connection is retried once on a new connection.
 * The retry comes from a new producer id, so idempotence does not span it: a batch the broker had
 * written before the connection dropped can appear twice. The consumers are idempotent (at-least-once
 * delivery everywhere), which is why one retry is safe.
 */
import kafkajs, { type Kafka, type Message, type Producer } from 'kafkajs';
import type { StreamProducer, StreamRecord } from '../../ports/stream.js';

/** Kafka's `acks=all`. */
const ACKS_ALL = -1;

/**
 * Record batches are gzip-compressed (built into KafkaJS; the Lambda event source and KafkaJS consumers
 * decompress). MSK Serverless bills bytes in and out, and an enriched message repeats its registry
 * metadata: `npm run cost` measured 5,085 -> 247 bytes per enriched record and 649 -> 93 per raw one in
 * the simulator fleet's batches, the enriched stream's MSK cost at 1,000 msg/s from $1,867 to $91 a month.
 */
const COMPRESSION = kafkajs.CompressionTypes.GZIP;

/** Below the 15-minute lifetime of the MSK IAM token (and so of the broker's session). */
export const DEFAULT_MAX_CONNECTION_AGE_MS = 10 * 60_000;

/**
 * KafkaJS errors that mean the connection (not the request) failed: closed by the broker, refused, or
 * its SASL session no longer valid. KafkaJS may wrap them (`cause`) in its retry errors.
 */
const CONNECTION_ERROR_NAMES = new Set([
  'KafkaJSConnectionClosedError',
  'KafkaJSConnectionError',
  'KafkaJSSASLAuthenticationError',
]);

/** Whether `error`, or an error it wraps, is a lost or unauthenticated connection. */
export function isConnectionError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (CONNECTION_ERROR_NAMES.has(current.name)) return true;
    // KafkaJS reports an expired SASL session on an open connection as SASL_AUTHENTICATION_FAILED.
    if ((current as { type?: unknown }).type === 'SASL_AUTHENTICATION_FAILED') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export interface KafkaStreamProducerOptions {
  readonly kafka: Pick<Kafka, 'producer'>;
  /**
   * Idempotent producer (default on). MSK Serverless supports it (IAM action
   * `kafka-cluster:WriteDataIdempotently`); turn it off only for brokers that refuse InitProducerId.
   */
  readonly idempotent?: boolean;
  /** Reconnect before a send once the connection is this old. @default DEFAULT_MAX_CONNECTION_AGE_MS */
  readonly maxConnectionAgeMs?: number;
  /** The clock (tests). @default Date.now */
  readonly now?: () => number;
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
  private readonly maxConnectionAgeMs: number;
  private readonly now: () => number;
  private producer: Producer | undefined;
  private connectedAt = 0;
  private connecting: Promise<Producer> | undefined;

  constructor(options: KafkaStreamProducerOptions) {
    this.kafka = options.kafka;
    this.idempotent = options.idempotent ?? true;
    this.maxConnectionAgeMs = options.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS;
    this.now = options.now ?? Date.now;
  }

  async send(topic: string, records: readonly StreamRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.producer && this.now() - this.connectedAt >= this.maxConnectionAgeMs) {
      // Before the broker closes the session under us (see the header).
      await this.reset();
    }
    const now = this.now();
    const messages = records.map((record) => toKafkaMessage(record, now));
    try {
      await this.sendOnce(topic, messages);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      // Once, on a new connection (a newly signed token): the old one was closed or its session expired.
      await this.sendOnce(topic, messages);
    }
  }

  /** Closes the connection (local mode's shutdown; Lambda simply freezes the process). */
  async disconnect(): Promise<void> {
    await this.reset();
  }

  private async sendOnce(topic: string, messages: Message[]): Promise<void> {
    const producer = await this.connected();
    try {
      await producer.send({ topic, acks: ACKS_ALL, compression: COMPRESSION, messages });
    } catch (error) {
      // A broken connection must not be reused by the next invocation.
      await this.reset();
      throw error;
    }
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
      this.connectedAt = this.now();
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
