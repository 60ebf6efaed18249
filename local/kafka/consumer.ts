/**
 * A consumer group on a real Kafka cluster (`--kafka-brokers`) that behaves like a Lambda Kafka event
 * source mapping, as the local log's consumer does, through KafkaJS's consumer:
 *
 * - KafkaJS fetches per partition (`eachBatch`); each fetched batch goes to the handler in chunks of up
 *   to `batchSize` records, as the Lambda MSK event (records under `{topic}-{partition}`, base64 key
 *   and value, headers as byte arrays). Partitions are consumed concurrently, each in offset order.
 * - Partial batch responses, bisecting on a function error, retries with backoff and dead letters to
 *   `iot.dlq` follow the same rules as the local log (local/log/delivery.ts): a poison record is
 *   retried, dead-lettered, and the partition moves on.
 * - The group's offset is committed only once a chunk is handled (every record processed or
 *   dead-lettered): auto-commit is off. A stop or a rebalance in the middle of a chunk commits nothing
 *   of it, so its records are delivered again (at-least-once, as with Lambda).
 */
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { StreamProducer } from '../../functions/ports/stream.js';
import {
  type DeliveryStats,
  deadLetterRecords,
  type ErrorControls,
  type EventSourceMappingOptions,
  interpretResponse,
  type KafkaEventSource,
  type LogRecord,
  type Outcome,
  planSettlement,
  resolveDeliverySettings,
  type Slice,
  toKafkaEvent,
} from '../log/index.js';

export interface KafkaConsumerErrorContext {
  readonly consumer: string;
  readonly stage: 'handler' | 'response' | 'dead-letter' | 'commit' | 'run';
  readonly partitions: readonly number[];
}

export interface KafkaGroupConsumerOptions extends EventSourceMappingOptions {
  readonly kafka: Pick<Kafka, 'consumer'>;
  /** Where dead letters are produced (the same producer the handlers use). */
  readonly producer: StreamProducer;
  /** The event's eventSourceArn and bootstrapServers. */
  readonly source: KafkaEventSource;
  /** Partitions handled at once (default 6, the pipeline topics' partition count). */
  readonly partitionsConsumedConcurrently?: number;
  readonly onError?: (error: unknown, context: KafkaConsumerErrorContext) => void;
  /** The cluster's newest high watermark of a partition, where the caller reads them (for the lag). */
  readonly knownHighWatermark?: (partition: number) => number | undefined;
}

export interface KafkaConsumerStats extends DeliveryStats {
  /** Sum over the partitions seen of high watermark - committed offset. */
  readonly lag: number;
  /** High watermark - committed offset, by partition seen (the metrics' consumer lag). */
  readonly lagByPartition: Readonly<Record<string, number>>;
}

/** Header values as the log keeps them: UTF-8 text (a repeated header becomes several entries). */
function headerEntries(headers: IHeaders | undefined): [string, string][] {
  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined) entries.push([name, Buffer.isBuffer(one) ? one.toString('utf8') : one]);
    }
  }
  return entries;
}

/** A KafkaJS message as the shared event builder and dead-lettering take records. */
export function toLogRecord(message: KafkaMessage): LogRecord {
  return {
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    key: message.key ? message.key.toString('utf8') : '',
    value: message.value ?? Buffer.alloc(0),
    headers: headerEntries(message.headers),
  };
}

export class KafkaGroupConsumer {
  readonly topic: string;
  readonly group: string;
  readonly name: string;
  private readonly consumer: Consumer;
  private readonly options: KafkaGroupConsumerOptions;
  private readonly batchSize: number;
  private readonly controls: ErrorControls;
  private readonly reportBatchItemFailures: boolean;
  private readonly dlqTopic: string | false;
  private state: KafkaConsumerStats['state'] = 'created';
  private readonly stopSignal = new AbortController();
  private readonly partitions = new Map<number, { committed: number; highWatermark: number }>();
  private counters = { invocations: 0, delivered: 0, failed: 0, retried: 0, deadLettered: 0 };
  private lastError: string | undefined;

  constructor(options: KafkaGroupConsumerOptions) {
    const settings = resolveDeliverySettings(options);
    this.options = options;
    this.topic = options.topic;
    this.group = options.group;
    this.name = options.name;
    this.batchSize = settings.batchSize;
    this.controls = settings.controls;
    this.reportBatchItemFailures = settings.reportBatchItemFailures;
    this.dlqTopic = settings.dlqTopic;
    this.consumer = options.kafka.consumer({ groupId: options.group, allowAutoTopicCreation: false });
  }

  /** Joins the group and starts consuming from the group's committed offsets (new group: the start). */
  async start(): Promise<this> {
    if (this.state !== 'created') throw new Error(`consumer ${this.name} was already started`);
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 6,
      eachBatch: (payload) => this.consumeBatch(payload),
    });
    this.state = 'running';
    return this;
  }

  /** Stops fetching, lets the chunk being handled finish (retry waits are cut short), disconnects. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.stopSignal.abort();
    try {
      await this.consumer.disconnect();
    } finally {
      this.state = 'stopped';
    }
  }

  stats(): KafkaConsumerStats {
    let lag = 0;
    const lagByPartition: Record<string, number> = {};
    for (const [partition, { committed, highWatermark }] of this.partitions) {
      const known = this.options.knownHighWatermark?.(partition) ?? 0;
      const partitionLag = Math.max(0, Math.max(highWatermark, known) - committed);
      lagByPartition[String(partition)] = partitionLag;
      lag += partitionLag;
    }
    return {
      name: this.name,
      group: this.group,
      topic: this.topic,
      state: this.state,
      ...this.counters,
      lag,
      lagByPartition,
      lastError: this.lastError,
    };
  }

  statusLine(): string {
    const s = this.stats();
    return (
      `${s.name} [${s.topic}, Kafka]: delivered ${s.delivered}, failed ${s.failed}, retried ${s.retried}, ` +
      `dead-lettered ${s.deadLettered}, lag ${s.lag}`
    );
  }

  private report(error: unknown, stage: KafkaConsumerErrorContext['stage'], partition: number): void {
    this.lastError = `${stage}: ${error instanceof Error ? error.message : String(error)}`;
    try {
      this.options.onError?.(error, { consumer: this.name, stage, partitions: [partition] });
    } catch {
      // A failing error hook must not break the consumer.
    }
  }

  private async consumeBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const records = batch.messages.map(toLogRecord);
    const track = this.partitions.get(batch.partition) ?? {
      committed: records[0]?.offset ?? 0,
      highWatermark: 0,
    };
    track.highWatermark = Number(batch.highWatermark);
    this.partitions.set(batch.partition, track);
    for (let from = 0; from < records.length; from += this.batchSize) {
      const chunk = records.slice(from, from + this.batchSize);
      const handled = await this.deliver(batch.partition, chunk, payload);
      if (!handled) return;
      const last = chunk[chunk.length - 1] as LogRecord;
      // Only now is the chunk done: commit the offset after its last record (Kafka's "next to read").
      payload.resolveOffset(String(last.offset));
      try {
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: String(last.offset + 1) },
        ]);
        track.committed = last.offset + 1;
      } catch (error) {
        // Commits are cumulative: the next chunk's commit covers this one; if none comes, the chunk is
        // delivered again after a restart or rebalance (at-least-once).
        this.report(error, 'commit', batch.partition);
      }
      await payload.heartbeat();
    }
  }

  /**
   * Delivers one chunk until every record is processed or dead-lettered. False when the consumer was
   * stopped or lost the partition first (nothing of the chunk is committed then).
   */
  private async deliver(
    partition: number,
    chunk: readonly LogRecord[],
    payload: EachBatchPayload,
  ): Promise<boolean> {
    const positions = new Map(chunk.map((record, index) => [record.offset, index]));
    const queue: Slice[] = [{ start: 0, end: chunk.length, attempts: 0 }];
    while (queue.length > 0) {
      if (!payload.isRunning() || payload.isStale() || this.stopSignal.signal.aborted) return false;
      const slice = queue.shift() as Slice;
      const records = chunk.slice(slice.start, slice.end);
      const event = toKafkaEvent([{ topic: this.topic, partition, records }], this.options.source);
      this.counters.invocations += 1;
      this.counters.delivered += records.length;
      let outcome: Outcome;
      try {
        const response: unknown = await this.options.handler(event);
        const locate = (p: number, offset: number) => {
          const index = p === partition ? positions.get(offset) : undefined;
          return index !== undefined && index >= slice.start && index < slice.end ? index : undefined;
        };
        outcome = this.reportBatchItemFailures
          ? interpretResponse(response, this.topic, locate)
          : { kind: 'success', failures: new Map() };
        if (outcome.kind === 'error') this.report(new Error(outcome.detail), 'response', partition);
      } catch (error) {
        this.report(error, 'handler', partition);
        outcome = {
          kind: 'error',
          detail: error instanceof Error ? error.message || error.name : String(error),
        };
      }

      const plan = planSettlement(slice, outcome, partition, this.controls);
      this.counters.failed += plan.failed;
      const letter = plan.deadLetter;
      if (
        letter &&
        (await this.deadLetter(partition, chunk.slice(letter.start, letter.end), letter.detail))
      ) {
        this.requeue(queue, letter.requeue);
        continue;
      }
      this.requeue(queue, plan.requeue);
      if (plan.delayMs > 0 && plan.requeue.length > 0) await this.pause(plan.delayMs, payload);
    }
    return true;
  }

  private requeue(queue: Slice[], slices: readonly Slice[]): void {
    for (const slice of slices) this.counters.retried += slice.end - slice.start;
    queue.unshift(...slices);
  }

  /** Waits out a retry backoff, heartbeating so the group keeps the partition; a stop cuts it short. */
  private async pause(ms: number, payload: EachBatchPayload): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && !this.stopSignal.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(until - Date.now(), 1000));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.stopSignal.signal.addEventListener('abort', done, { once: true });
      });
      await payload.heartbeat();
    }
  }

  private async deadLetter(
    partition: number,
    records: readonly LogRecord[],
    detail: string,
  ): Promise<boolean> {
    if (this.dlqTopic === false) {
      this.report(
        new Error(`${records.length} record(s) out of retries skipped (no DLQ for this consumer): ${detail}`),
        'dead-letter',
        partition,
      );
      return true;
    }
    try {
      await this.options.producer.send(
        this.dlqTopic,
        deadLetterRecords(records, this.topic, partition, this.name, detail, Date.now()),
      );
      this.counters.deadLettered += records.length;
      return true;
    } catch (error) {
      this.report(error, 'dead-letter', partition);
      return false;
    }
  }
}
