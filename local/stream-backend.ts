/**
 * The stream the local runtime runs on: the local log (default) or a real Kafka cluster
 * (`--kafka-brokers`), behind one small interface, so the runtime wires the same handlers either way.
 */
import { join } from 'node:path';
import type { KafkaHandler, StreamProducer } from '../functions/ports/stream.js';
import { connectKafkaStream } from './kafka/index.js';
import { LocalLog, TailSampler, type TailSamplerOptions } from './log/index.js';

export interface StreamConsumerSpec {
  readonly topic: string;
  readonly group: string;
  /** The consuming stage: the `stage` of its dead letters. */
  readonly name: string;
  readonly handler: KafkaHandler;
  readonly batchSize: number;
  /**
   * Longest wait for a batch to fill once a record is there (the local log; a Kafka fetch returns as
   * soon as it has records).
   */
  readonly batchWindowMs?: number;
  /** false: best effort, no dead-letter topic. */
  readonly dlqTopic?: false;
  readonly onError: (error: unknown, context: { consumer: string; stage: string }) => void;
}

export interface StreamConsumer {
  stats(): {
    readonly lag: number;
    readonly state: string;
    /** By partition, where the consumer commits offsets (not the inspector's tail samplers). */
    readonly lagByPartition?: Readonly<Record<string, number>>;
  };
  statusLine(): string;
  /** Drains the batch in flight and commits, then stops. */
  stop(): Promise<void>;
}

export interface PipelineStream {
  /** What the stream is, for the start-up lines. */
  readonly description: string;
  readonly producer: StreamProducer;
  subscribe(spec: StreamConsumerSpec): Promise<StreamConsumer>;
  /**
   * Best-effort samples of a busy topic without a consumer group: the newest record of each partition
   * every `intervalMs` (see log/tail-sampler.ts). Undefined where the stream cannot read at an offset
   * (Kafka): there a consumer group samples.
   */
  sampleNewest?(spec: TailSamplerOptions): StreamConsumer;
  /** Records ever appended to a topic (the sum of its partitions' end offsets). */
  endOffsetTotal(topic: string): number;
  close(): Promise<void>;
}

/** Retention of the local log per partition (see LocalLogOptions). */
export interface LogRetention {
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
}

export async function openLocalLogStream(
  dataDir: string,
  warn: (message: string) => void,
  retention: LogRetention = {},
): Promise<PipelineStream> {
  const stream = new LocalLog({ dataDir: join(dataDir, 'log'), onWarning: warn, ...retention });
  await stream.open();
  return {
    description: `local log in ${join(dataDir, 'log')}`,
    producer: stream,
    subscribe: async (spec) => stream.subscribe(spec),
    sampleNewest: (spec) => new TailSampler(stream, spec),
    endOffsetTotal: (topic) => stream.endOffsets(topic).reduce((a, b) => a + b, 0),
    close: () => stream.close(),
  };
}

export async function openKafkaStream(
  brokers: readonly string[],
  warn: (message: string) => void,
): Promise<PipelineStream> {
  return connectKafkaStream({ brokers, onWarning: warn });
}
