/**
 * The stream the local runtime runs on, as one small interface: the local log (stream-backend.ts) and
 * a real Kafka cluster (kafka/stream.ts) both implement it, so the runtime wires the same handlers
 * either way. Its own module so the implementations do not import the module that picks between them.
 */

import type { TopicRangeReader } from '../functions/ports/data-ops.js';
import type { KafkaHandler, StreamProducer } from '../functions/ports/stream.js';
import type { TailSamplerOptions } from './log/index.js';

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
  /** Data operations (issue 16): a topic's retained records by time (triage, redrive, replay). */
  readonly rangeReader?: TopicRangeReader;
  close(): Promise<void>;
}
