/**
 * A consumer group of the local log that behaves like a Lambda Kafka event source mapping.
 *
 * - Polls every partition of one topic from the group's committed offsets and invokes the handler with
 *   the Lambda MSK event shape: up to `batchSize` records from one or more partitions, once the oldest
 *   record waiting has waited `batchWindowMs` for a batch to fill. The window counts from the record's
 *   arrival, not from the moment its partition became free: time spent behind a batch in flight is
 *   batching time already (restarting the window there added a whole window to every record's latency).
 * - Per partition, records go out in offset order and at most one batch is in flight.
 * - Partial batch response (`batchItemFailures`): per partition, the records before the lowest failed
 *   offset are committed, that record and the later ones of the batch are delivered again.
 * - Function error (the handler throws, or returns an invalid response): with
 *   `bisectBatchOnFunctionError`, each partition's part of the batch is split in two and both halves
 *   are retried at once; splitting does not count as a retry. A single record that keeps failing is
 *   retried `maximumRetryAttempts` times (with exponential backoff), then dead-lettered.
 *   Without bisecting, the whole part is retried and, when out of retries, dead-lettered as a whole.
 * - Dead-lettering: a DlqRecord (reason PROCESSING_FAILED, the original bytes) is sent to the DLQ topic
 *   keyed by the record key, the offset is committed and the partition moves on.
 * - Offsets are committed (durably) after each batch; records delivered but not committed before a
 *   stop or crash are delivered again (at-least-once).
 * The retry, bisect and dead-letter rules live in delivery.ts, shared with the Kafka consumer of
 * `--kafka-brokers` (local/kafka/consumer.ts).
 */

import type { KafkaHandler, StreamRecord } from '../../functions/ports/stream.js';
import {
  type DeliveryStats,
  deadLetterRecords,
  describeError,
  type ErrorControls,
  type EventSourceMappingOptions,
  interpretResponse,
  NO_FAILURES,
  nonNegative,
  type Outcome,
  planSettlement,
  positiveInteger,
  resolveDeliverySettings,
  retryDelay,
  type Slice,
} from './delivery.js';
import type { LogRecord } from './frame.js';
import { toKafkaEvent } from './kafka-event.js';
import { OffsetBeforeLogStartError } from './segment.js';

/**
 * What a consumer needs of the log it reads (LocalLog implements it). Declared here, not imported, so
 * the log and its consumer do not import each other.
 */
export interface ConsumerLog {
  partitionCount(topic: string): number;
  endOffset(topic: string, partition: number): number;
  endOffsets(topic: string): number[];
  startOffset(topic: string, partition: number): number;
  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]>;
  committedOffset(group: string, topic: string, partition: number): number | undefined;
  commitOffsets(group: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void>;
  onAppend(topic: string, listener: (partition: number) => void): () => void;
  attachConsumer(group: string, topic: string, consumer: LogConsumer): void;
  detachConsumer(group: string, topic: string, consumer: LogConsumer): void;
  send(topic: string, records: readonly StreamRecord[]): Promise<void>;
}

export const DEFAULT_BATCH_WINDOW_MS = 50;
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_RETRY_BACKOFF_MS,
  PROCESSING_FAILED,
  processingFailedRecord,
  REPORTED_FAILED_DETAIL,
} from './delivery.js';

export interface ConsumerErrorContext {
  readonly consumer: string;
  readonly stage: 'read' | 'handler' | 'response' | 'dead-letter' | 'commit' | 'retention';
  readonly partitions: readonly number[];
}

export interface LogConsumerOptions extends EventSourceMappingOptions {
  /** Longest wait for a batch to fill once a record is available (default 50 ms). */
  readonly batchWindowMs?: number;
  /** Most batches in flight at once (default: the topic's partition count). */
  readonly maxConcurrentBatches?: number;
  /** Told about handler errors, invalid responses, failed reads, dead-letter sends and commits. */
  readonly onError?: (error: unknown, context: ConsumerErrorContext) => void;
}

export interface ConsumerStats extends DeliveryStats {
  readonly inFlightBatches: number;
  /** Committed offset (next offset to read) by partition. */
  readonly committed: Readonly<Record<string, number>>;
  readonly endOffsets: Readonly<Record<string, number>>;
  /** Sum over partitions of end offset - committed offset. */
  readonly lag: number;
  /** End offset - committed offset, by partition (the metrics' consumer lag). */
  readonly lagByPartition: Readonly<Record<string, number>>;
  /** Records retention deleted before this group committed them (it resumed at the log start). */
  readonly skippedByRetention: number;
}

interface PartitionState {
  readonly partition: number;
  committed: number;
  /** Next offset never delivered; [committed, position) is in flight or in `pending`. */
  position: number;
  /** Slices to deliver again, in offset order, starting at `committed` when nothing is in flight. */
  pending: Slice[];
  inFlight: boolean;
  /** No delivery before this time (retry backoff). */
  notBefore: number;
  /** When the oldest record not yet delivered arrived (as far as this consumer saw); none waiting: undefined. */
  waitingSince: number | undefined;
}

interface BatchPart {
  readonly state: PartitionState;
  readonly slice: Slice;
}

interface LoadedPart extends BatchPart {
  readonly records: readonly LogRecord[];
}

export class LogConsumer {
  readonly topic: string;
  readonly group: string;
  readonly name: string;
  private readonly handler: KafkaHandler;
  private readonly batchSize: number;
  private readonly batchWindowMs: number;
  private readonly controls: ErrorControls;
  private readonly reportBatchItemFailures: boolean;
  /** False: a best-effort consumer with no DLQ (records out of retries are reported and skipped). */
  private readonly dlqTopic: string | false;
  private readonly maxConcurrentBatches: number;
  private readonly onError: ((error: unknown, context: ConsumerErrorContext) => void) | undefined;

  private state: ConsumerStats['state'] = 'created';
  private partitions: PartitionState[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private cursor = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private pumpQueued = false;
  private unsubscribe: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private counters = { invocations: 0, delivered: 0, failed: 0, retried: 0, deadLettered: 0 };
  private lastError: string | undefined;
  private skippedByRetention = 0;

  constructor(
    private readonly log: ConsumerLog,
    options: LogConsumerOptions,
  ) {
    const settings = resolveDeliverySettings(options);
    this.topic = options.topic;
    this.group = options.group;
    this.name = options.name;
    this.handler = options.handler;
    this.batchSize = settings.batchSize;
    this.batchWindowMs = nonNegative(options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS, 'batchWindowMs');
    this.controls = settings.controls;
    this.reportBatchItemFailures = settings.reportBatchItemFailures;
    this.dlqTopic = settings.dlqTopic;
    this.maxConcurrentBatches = positiveInteger(
      options.maxConcurrentBatches ?? Number.MAX_SAFE_INTEGER,
      'maxConcurrentBatches',
    );
    this.onError = options.onError;
  }

  /** Starts polling from the group's committed offsets. */
  start(): this {
    if (this.state !== 'created') throw new Error(`consumer ${this.name} was already started`);
    if (this.dlqTopic !== false) this.log.partitionCount(this.dlqTopic);
    this.log.attachConsumer(this.group, this.topic, this);
    const ends = this.log.endOffsets(this.topic);
    this.partitions = ends.map((end, partition) => {
      const committed = this.log.committedOffset(this.group, this.topic, partition);
      // A group that never committed here starts at the log start (Kafka's auto.offset.reset=earliest);
      // one that committed before it is moved there by skipDeleted, which reports the gap.
      const offset = Math.min(committed ?? this.log.startOffset(this.topic, partition), end);
      const waitingSince = end > offset ? Date.now() : undefined;
      return {
        partition,
        committed: offset,
        position: offset,
        pending: [],
        inFlight: false,
        notBefore: 0,
        waitingSince,
      };
    });
    for (const state of this.partitions) this.skipDeleted(state);
    this.state = 'running';
    this.unsubscribe = this.log.onAppend(this.topic, (partition) => {
      const state = this.partitions[partition];
      if (state && state.waitingSince === undefined) state.waitingSince = Date.now();
      this.schedule();
    });
    this.schedule();
    return this;
  }

  /** Stops polling, waits for the batches in flight to finish and commit, then resolves. */
  stop(): Promise<void> {
    if (this.state === 'created') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopping ??= (async () => {
      this.state = 'stopping';
      this.unsubscribe?.();
      this.clearWake();
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      this.state = 'stopped';
      this.log.detachConsumer(this.group, this.topic, this);
    })();
    return this.stopping;
  }

  stats(): ConsumerStats {
    const committed: Record<string, number> = {};
    const endOffsets: Record<string, number> = {};
    const lagByPartition: Record<string, number> = {};
    let lag = 0;
    for (const state of this.partitions) {
      const end = this.safeEndOffset(state);
      committed[String(state.partition)] = state.committed;
      endOffsets[String(state.partition)] = end;
      lagByPartition[String(state.partition)] = Math.max(0, end - state.committed);
      lag += Math.max(0, end - state.committed);
    }
    return {
      name: this.name,
      group: this.group,
      topic: this.topic,
      state: this.state,
      ...this.counters,
      inFlightBatches: this.inFlight.size,
      committed,
      endOffsets,
      lag,
      lagByPartition,
      skippedByRetention: this.skippedByRetention,
      lastError: this.lastError,
    };
  }

  /** A one-line summary for a status line. */
  statusLine(): string {
    const s = this.stats();
    return (
      `${s.name} [${s.topic}]: delivered ${s.delivered}, failed ${s.failed}, retried ${s.retried}, ` +
      `dead-lettered ${s.deadLettered}, lag ${s.lag}` +
      (s.skippedByRetention > 0 ? `, ${s.skippedByRetention} skipped (deleted by retention)` : '')
    );
  }

  private safeEndOffset(state: PartitionState): number {
    try {
      return this.log.endOffset(this.topic, state.partition);
    } catch {
      return state.position;
    }
  }

  private report(error: unknown, stage: ConsumerErrorContext['stage'], partitions: readonly number[]): void {
    this.lastError = `${stage}: ${describeError(error)}`;
    try {
      this.onError?.(error, { consumer: this.name, stage, partitions });
    } catch {
      // A failing error hook must not break the consumer.
    }
  }

  private schedule(): void {
    if (this.state !== 'running' || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private clearWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
  }

  private wakeIn(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.wakeTimer && this.wakeAt <= at) return;
    this.clearWake();
    this.wakeAt = at;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, delayMs),
    );
  }

  /** Forms batches from the partitions that have work and no batch in flight. */
  private pump(): void {
    while (this.state === 'running' && this.inFlight.size < this.maxConcurrentBatches) {
      const now = Date.now();
      const ready: PartitionState[] = [];
      let available = 0;
      let retrying = false;
      let oldestWaiting = now;
      let nextRetry = Number.POSITIVE_INFINITY;
      const count = this.partitions.length;
      for (let i = 0; i < count; i++) {
        const state = this.partitions[(this.cursor + i) % count];
        if (!state || state.inFlight) continue;
        this.skipDeleted(state);
        const head = state.pending[0];
        const work = head
          ? head.end - head.start
          : this.log.endOffset(this.topic, state.partition) - state.position;
        if (work <= 0) continue;
        if (state.notBefore > now) {
          nextRetry = Math.min(nextRetry, state.notBefore);
          continue;
        }
        if (head) retrying = true;
        else oldestWaiting = Math.min(oldestWaiting, state.waitingSince ?? now);
        ready.push(state);
        available += work;
      }
      if (nextRetry !== Number.POSITIVE_INFINITY) this.wakeIn(nextRetry - now);
      if (ready.length === 0) return;
      if (!retrying && available < this.batchSize) {
        const remaining = oldestWaiting + this.batchWindowMs - now;
        if (remaining > 0) {
          this.wakeIn(remaining);
          return;
        }
      }
      if (!this.dispatch(ready)) return;
    }
  }

  /** Starts one batch from the ready partitions; false when none could contribute. */
  private dispatch(ready: readonly PartitionState[]): boolean {
    let room = this.batchSize;
    const parts: BatchPart[] = [];
    for (const state of ready) {
      if (room === 0) break;
      const head = state.pending[0];
      let slice: Slice;
      if (head) {
        // A retry goes out whole (it came from a batch no larger than batchSize) or waits its turn.
        if (head.end - head.start > room) continue;
        state.pending.shift();
        slice = head;
      } else {
        const endOffset = this.log.endOffset(this.topic, state.partition);
        const end = Math.min(endOffset, state.position + room);
        slice = { start: state.position, end, attempts: 0 };
        state.position = end;
        // What is left arrived no earlier than what just went out: keep the (conservative) older time.
        if (end >= endOffset) state.waitingSince = undefined;
      }
      state.inFlight = true;
      room -= slice.end - slice.start;
      parts.push({ state, slice });
    }
    this.cursor = (this.cursor + 1) % Math.max(1, this.partitions.length);
    if (parts.length === 0) return false;
    const run: Promise<void> = this.runBatch(parts)
      .catch((error: unknown) => this.report(error, 'handler', partitionsOf(parts)))
      .finally(() => {
        for (const part of parts) part.state.inFlight = false;
        this.inFlight.delete(run);
        this.schedule();
      });
    this.inFlight.add(run);
    return true;
  }

  private async runBatch(parts: readonly BatchPart[]): Promise<void> {
    let loaded: LoadedPart[];
    try {
      loaded = await Promise.all(
        parts.map(async (part) => ({
          ...part,
          records: await this.log.read(
            this.topic,
            part.state.partition,
            part.slice.start,
            part.slice.end - part.slice.start,
          ),
        })),
      );
    } catch (error) {
      // Records retention deleted under the read: skipDeleted moves the partition on at the next pump.
      const deleted = error instanceof OffsetBeforeLogStartError;
      if (!deleted) this.report(error, 'read', partitionsOf(parts));
      for (const part of parts) {
        this.requeue(part.state, [part.slice], deleted ? 0 : retryDelay(this.controls, 1));
      }
      return;
    }

    this.counters.invocations += 1;
    for (const part of loaded) this.counters.delivered += part.records.length;
    let outcome: Outcome;
    try {
      const response: unknown = await this.invoke(loaded);
      const locate = (partition: number, offset: number) => {
        const part = parts.find((candidate) => candidate.state.partition === partition);
        return part && offset >= part.slice.start && offset < part.slice.end ? offset : undefined;
      };
      outcome = this.reportBatchItemFailures ? interpretResponse(response, this.topic, locate) : NO_FAILURES;
      if (outcome.kind === 'error') this.report(new Error(outcome.detail), 'response', partitionsOf(parts));
    } catch (error) {
      this.report(error, 'handler', partitionsOf(parts));
      outcome = { kind: 'error', detail: describeError(error) };
    }

    const before = new Map(loaded.map((part) => [part.state.partition, part.state.committed]));
    for (const part of loaded) await this.settle(part, outcome);
    const changed = new Map<number, number>();
    for (const part of loaded) {
      if (part.state.committed !== before.get(part.state.partition)) {
        changed.set(part.state.partition, part.state.committed);
      }
    }
    if (changed.size > 0) {
      try {
        await this.log.commitOffsets(this.group, this.topic, changed);
      } catch (error) {
        this.report(error, 'commit', [...changed.keys()]);
      }
    }
  }

  /**
   * Calls the handler with the batch as a Lambda MSK event. The event (base64 copies of every record)
   * is made here, outside the async runBatch, so that only the handler holds it while it runs.
   */
  private invoke(loaded: readonly LoadedPart[]): Promise<unknown> {
    return this.handler(
      toKafkaEvent(
        loaded.map((part) => ({ topic: this.topic, partition: part.state.partition, records: part.records })),
      ),
    );
  }

  /** Applies the outcome of a batch to one partition's part of it (the rules are in delivery.ts). */
  private async settle(part: LoadedPart, outcome: Outcome): Promise<void> {
    const { state, slice } = part;
    const plan = planSettlement(slice, outcome, state.partition, this.controls);
    this.counters.failed += plan.failed;
    if (plan.committed !== undefined) state.committed = plan.committed;
    const letter = plan.deadLetter;
    if (letter) {
      const records = part.records.slice(letter.start - slice.start, letter.end - slice.start);
      if (
        records.length === letter.end - letter.start &&
        (await this.deadLetter(state, records, letter.detail))
      ) {
        state.committed = letter.committed;
        this.requeue(state, letter.requeue, 0);
        return;
      }
    }
    this.requeue(state, plan.requeue, plan.delayMs);
  }

  /**
   * A partition whose committed offset retention deleted (possible when retention does not wait for
   * consumers, or for a group taken as gone) resumes at the log start, as Kafka's
   * auto.offset.reset=earliest; the gap is reported and counted. Only for a partition with no batch in
   * flight.
   */
  private skipDeleted(state: PartitionState): void {
    const start = this.log.startOffset(this.topic, state.partition);
    if (state.committed >= start) return;
    const skipped = start - state.committed;
    this.skippedByRetention += skipped;
    this.report(
      new Error(
        `offsets ${state.committed}-${start - 1} of ${this.topic}-${state.partition} (${skipped} records) were deleted ` +
          `by retention before group ${this.group} committed them; it resumes at ${start}`,
      ),
      'retention',
      [state.partition],
    );
    state.pending = state.pending.flatMap((slice) =>
      slice.end <= start ? [] : [{ ...slice, start: Math.max(slice.start, start) }],
    );
    state.position = Math.max(state.position, start);
    state.committed = start;
    this.log
      .commitOffsets(this.group, this.topic, new Map([[state.partition, start]]))
      .catch((error: unknown) => this.report(error, 'commit', [state.partition]));
  }

  /** Puts slices back at the head of the partition's queue (they hold its lowest offsets). */
  private requeue(state: PartitionState, slices: readonly Slice[], delayMs: number): void {
    if (slices.length === 0) return;
    for (const slice of slices) this.counters.retried += slice.end - slice.start;
    state.pending.unshift(...slices);
    state.notBefore = delayMs > 0 ? Date.now() + delayMs : 0;
  }

  /** Sends DlqRecords for `records`; false when the DLQ could not take them (retried later). */
  private async deadLetter(
    state: PartitionState,
    records: readonly LogRecord[],
    detail: string,
  ): Promise<boolean> {
    const letters = deadLetterRecords(records, this.topic, state.partition, this.name, detail, Date.now());
    if (this.dlqTopic === false) {
      this.report(
        new Error(`${records.length} record(s) out of retries skipped (no DLQ for this consumer): ${detail}`),
        'dead-letter',
        [state.partition],
      );
      return true;
    }
    try {
      await this.log.send(this.dlqTopic, letters);
      this.counters.deadLettered += records.length;
      return true;
    } catch (error) {
      this.report(error, 'dead-letter', [state.partition]);
      return false;
    }
  }
}

function partitionsOf(parts: readonly BatchPart[]): number[] {
  return parts.map((part) => part.state.partition);
}
