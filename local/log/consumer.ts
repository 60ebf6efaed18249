/**
 * A consumer group of the local log that behaves like a Lambda Kafka event source mapping.
 *
 * - Polls every partition of one topic from the group's committed offsets and invokes the handler with
 *   the Lambda MSK event shape: up to `batchSize` records from one or more partitions, after at most
 *   `batchWindowMs` spent waiting for a batch to fill.
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
 */

import { isDeviceId, SLUG_PATTERN } from '../../functions/core/contract/identifiers.js';
import type { DlqRecord } from '../../functions/core/contract/messages.js';
import { toDlqRecord } from '../../functions/core/dlq.js';
import type { KafkaHandler, StreamRecord } from '../../functions/ports/stream.js';
import { EVENT_SOURCE_ERROR_CONTROLS, TOPICS } from '../../functions/shared/stream.js';
import type { LogRecord } from './frame.js';
import { toKafkaEvent } from './kafka-event.js';
import type { LocalLog } from './local-log.js';

export const DEFAULT_BATCH_SIZE = 100;
export const DEFAULT_BATCH_WINDOW_MS = 50;
export const DEFAULT_RETRY_BACKOFF_MS = 200;
const MAX_RETRY_BACKOFF_MS = 10_000;
/** The DLQ reason of a record the consumer gave up on. */
export const PROCESSING_FAILED = 'PROCESSING_FAILED' as const;
export const REPORTED_FAILED_DETAIL = 'reported as failed by the consumer';

export interface ConsumerErrorContext {
  readonly consumer: string;
  readonly stage: 'read' | 'handler' | 'response' | 'dead-letter' | 'commit';
  readonly partitions: readonly number[];
}

export interface LogConsumerOptions {
  readonly topic: string;
  readonly group: string;
  /** The stage that consumes (`enrich`, `timeseries-writer`): the `stage` of its dead letters. */
  readonly name: string;
  readonly handler: KafkaHandler;
  /** Most records per invocation (default 100). */
  readonly batchSize?: number;
  /** Longest wait for a batch to fill once a record is available (default 50 ms). */
  readonly batchWindowMs?: number;
  /** Defaults: EVENT_SOURCE_ERROR_CONTROLS. */
  readonly maximumRetryAttempts?: number;
  readonly bisectBatchOnFunctionError?: boolean;
  readonly reportBatchItemFailures?: boolean;
  /** Where records out of retries go (default TOPICS.dlq); must differ from `topic`. */
  readonly dlqTopic?: string | false;
  /** Delay before retry n is `retryBackoffMs * 2^(n-1)`, at most 10 s (default 200 ms; 0: none). */
  readonly retryBackoffMs?: number;
  /** Most batches in flight at once (default: the topic's partition count). */
  readonly maxConcurrentBatches?: number;
  /** Told about handler errors, invalid responses, failed reads, dead-letter sends and commits. */
  readonly onError?: (error: unknown, context: ConsumerErrorContext) => void;
}

export interface ConsumerStats {
  readonly name: string;
  readonly group: string;
  readonly topic: string;
  readonly state: 'created' | 'running' | 'stopping' | 'stopped';
  /** Handler invocations. */
  readonly invocations: number;
  /** Records delivered, redeliveries included. */
  readonly delivered: number;
  /** Record deliveries that failed (reported in batchItemFailures, or in a batch that threw). */
  readonly failed: number;
  /** Records queued for redelivery. */
  readonly retried: number;
  readonly deadLettered: number;
  readonly inFlightBatches: number;
  /** Committed offset (next offset to read) by partition. */
  readonly committed: Readonly<Record<string, number>>;
  readonly endOffsets: Readonly<Record<string, number>>;
  /** Sum over partitions of end offset - committed offset. */
  readonly lag: number;
  readonly lastError: string | undefined;
}

/** A contiguous run of offsets [start, end) of one partition. */
interface Slice {
  readonly start: number;
  readonly end: number;
  /** Failed deliveries of the slice's first record so far (known ones). */
  readonly attempts: number;
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
}

interface BatchPart {
  readonly state: PartitionState;
  readonly slice: Slice;
}

interface LoadedPart extends BatchPart {
  readonly records: readonly LogRecord[];
}

type Outcome =
  | { readonly kind: 'success'; readonly failures: ReadonlyMap<number, ReadonlySet<number>> }
  | { readonly kind: 'error'; readonly detail: string };

const NO_FAILURES: Outcome = { kind: 'success', failures: new Map() };

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Reads a handler's response the way the event source mapping does. */
function interpretResponse(response: unknown, topic: string, parts: readonly BatchPart[]): Outcome {
  if (response === undefined || response === null) return NO_FAILURES;
  if (typeof response !== 'object')
    return { kind: 'error', detail: 'the handler returned an invalid response' };
  const items = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (items === undefined || items === null) return NO_FAILURES;
  if (!Array.isArray(items)) return { kind: 'error', detail: 'batchItemFailures is not an array' };
  const failures = new Map<number, Set<number>>();
  for (const item of items) {
    const id: unknown =
      typeof item === 'object' && item !== null
        ? (item as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'object' || id === null) {
      return { kind: 'error', detail: 'a batchItemFailures entry has no itemIdentifier object' };
    }
    // Lambda's Kafka identifier: the `records` key `{topic}-{partition}` and the offset.
    const { partition: key, offset } = id as { partition?: unknown; offset?: unknown };
    const prefix = `${topic}-`;
    const partition =
      typeof key === 'string' && key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length))
        ? Number(key.slice(prefix.length))
        : undefined;
    const part = parts.find((candidate) => candidate.state.partition === partition);
    if (
      !isNonNegativeInteger(partition) ||
      !isNonNegativeInteger(offset) ||
      !part ||
      offset < part.slice.start ||
      offset >= part.slice.end
    ) {
      return {
        kind: 'error',
        detail: `batchItemFailures names ${String(key)}@${String(offset)}, which is not in the batch`,
      };
    }
    const set = failures.get(partition) ?? new Set<number>();
    set.add(offset);
    failures.set(partition, set);
  }
  return { kind: 'success', failures };
}

/** A dead letter for a record the consumer gave up on. */
export function processingFailedRecord(
  record: LogRecord,
  topic: string,
  partition: number,
  stage: string,
  detail: string,
  failedAt: number,
): DlqRecord {
  return toDlqRecord({
    rejection: isDeviceId(record.key)
      ? { reason: PROCESSING_FAILED, detail, deviceId: record.key }
      : { reason: PROCESSING_FAILED, detail },
    original: record.value,
    receivedAt: record.timestamp,
    failedAt,
    stage,
    source: { kafkaTopic: topic, partition, offset: String(record.offset) },
  });
}

export class LogConsumer {
  readonly topic: string;
  readonly group: string;
  readonly name: string;
  private readonly handler: KafkaHandler;
  private readonly batchSize: number;
  private readonly batchWindowMs: number;
  private readonly maximumRetryAttempts: number;
  private readonly bisect: boolean;
  private readonly reportBatchItemFailures: boolean;
  /** False: a best-effort consumer with no DLQ (records out of retries are reported and skipped). */
  private readonly dlqTopic: string | false;
  private readonly retryBackoffMs: number;
  private readonly maxConcurrentBatches: number;
  private readonly onError: ((error: unknown, context: ConsumerErrorContext) => void) | undefined;

  private state: ConsumerStats['state'] = 'created';
  private partitions: PartitionState[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private cursor = 0;
  private windowStart: number | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private pumpQueued = false;
  private unsubscribe: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private counters = { invocations: 0, delivered: 0, failed: 0, retried: 0, deadLettered: 0 };
  private lastError: string | undefined;

  constructor(
    private readonly log: LocalLog,
    options: LogConsumerOptions,
  ) {
    const positiveInteger = (value: number, what: string): number => {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${what} must be a positive integer`);
      return value;
    };
    const nonNegative = (value: number, what: string): number => {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what} must be >= 0`);
      return value;
    };
    if (!SLUG_PATTERN.test(options.name)) {
      throw new Error(`consumer name "${options.name}" must be lower snake or kebab case (a DLQ stage)`);
    }
    this.topic = options.topic;
    this.group = options.group;
    this.name = options.name;
    this.handler = options.handler;
    this.batchSize = positiveInteger(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
    this.batchWindowMs = nonNegative(options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS, 'batchWindowMs');
    this.maximumRetryAttempts = nonNegative(
      options.maximumRetryAttempts ?? EVENT_SOURCE_ERROR_CONTROLS.maximumRetryAttempts,
      'maximumRetryAttempts',
    );
    this.bisect =
      options.bisectBatchOnFunctionError ?? EVENT_SOURCE_ERROR_CONTROLS.bisectBatchOnFunctionError;
    this.reportBatchItemFailures =
      options.reportBatchItemFailures ?? EVENT_SOURCE_ERROR_CONTROLS.reportBatchItemFailures;
    this.dlqTopic = options.dlqTopic ?? TOPICS.dlq;
    if (this.dlqTopic !== false && this.dlqTopic === this.topic)
      throw new Error(`consumer ${this.name}: the DLQ topic cannot be the consumed topic`);
    this.retryBackoffMs = nonNegative(options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS, 'retryBackoffMs');
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
    const committed = this.log.committedOffsets(this.group, this.topic);
    this.partitions = ends.map((end, partition) => {
      const offset = Math.min(committed[partition] ?? 0, end);
      return { partition, committed: offset, position: offset, pending: [], inFlight: false, notBefore: 0 };
    });
    this.state = 'running';
    this.unsubscribe = this.log.onAppend(this.topic, () => this.schedule());
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
    let lag = 0;
    for (const state of this.partitions) {
      const end = this.safeEndOffset(state);
      committed[String(state.partition)] = state.committed;
      endOffsets[String(state.partition)] = end;
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
      lastError: this.lastError,
    };
  }

  /** A one-line summary for a status line. */
  statusLine(): string {
    const s = this.stats();
    return (
      `${s.name} [${s.topic}]: delivered ${s.delivered}, failed ${s.failed}, retried ${s.retried}, ` +
      `dead-lettered ${s.deadLettered}, lag ${s.lag}`
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
      let nextRetry = Number.POSITIVE_INFINITY;
      const count = this.partitions.length;
      for (let i = 0; i < count; i++) {
        const state = this.partitions[(this.cursor + i) % count];
        if (!state || state.inFlight) continue;
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
        ready.push(state);
        available += work;
      }
      if (nextRetry !== Number.POSITIVE_INFINITY) this.wakeIn(nextRetry - now);
      if (ready.length === 0) {
        this.windowStart = undefined;
        return;
      }
      if (!retrying && available < this.batchSize) {
        this.windowStart ??= now;
        const remaining = this.windowStart + this.batchWindowMs - now;
        if (remaining > 0) {
          this.wakeIn(remaining);
          return;
        }
      }
      this.windowStart = undefined;
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
        const end = Math.min(this.log.endOffset(this.topic, state.partition), state.position + room);
        slice = { start: state.position, end, attempts: 0 };
        state.position = end;
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

  private retryDelay(attempts: number): number {
    if (this.retryBackoffMs === 0) return 0;
    return Math.min(this.retryBackoffMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_BACKOFF_MS);
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
      this.report(error, 'read', partitionsOf(parts));
      for (const part of parts) this.requeue(part.state, [part.slice], this.retryDelay(1));
      return;
    }

    const event = toKafkaEvent(
      loaded.map((part) => ({ topic: this.topic, partition: part.state.partition, records: part.records })),
    );
    this.counters.invocations += 1;
    for (const part of loaded) this.counters.delivered += part.records.length;
    let outcome: Outcome;
    try {
      const response: unknown = await this.handler(event);
      outcome = this.reportBatchItemFailures ? interpretResponse(response, this.topic, parts) : NO_FAILURES;
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

  /** Applies the outcome of a batch to one partition's part of it. */
  private async settle(part: LoadedPart, outcome: Outcome): Promise<void> {
    const { state, slice } = part;
    const size = slice.end - slice.start;
    if (outcome.kind === 'success') {
      const failed = outcome.failures.get(state.partition);
      if (!failed || failed.size === 0) {
        state.committed = slice.end;
        return;
      }
      this.counters.failed += failed.size;
      const lowest = Math.min(...failed);
      state.committed = lowest;
      const attempts = lowest === slice.start ? slice.attempts + 1 : 1;
      if (attempts > this.maximumRetryAttempts) {
        const record = part.records[lowest - slice.start];
        const rest: Slice[] =
          lowest + 1 < slice.end ? [{ start: lowest + 1, end: slice.end, attempts: 0 }] : [];
        if (!record || !(await this.deadLetter(state, [record], REPORTED_FAILED_DETAIL))) {
          // The DLQ refused: deliver again; the next failure tries the DLQ again.
          this.requeue(
            state,
            [{ start: lowest, end: slice.end, attempts: attempts - 1 }],
            this.retryDelay(attempts),
          );
          return;
        }
        state.committed = lowest + 1;
        this.requeue(state, rest, 0);
        return;
      }
      this.requeue(state, [{ start: lowest, end: slice.end, attempts }], this.retryDelay(attempts));
      return;
    }

    this.counters.failed += size;
    if (this.bisect && size > 1) {
      const middle = slice.start + Math.ceil(size / 2);
      this.requeue(
        state,
        [
          { start: slice.start, end: middle, attempts: slice.attempts },
          { start: middle, end: slice.end, attempts: 0 },
        ],
        0,
      );
      return;
    }
    const attempts = slice.attempts + 1;
    if (attempts > this.maximumRetryAttempts) {
      if (await this.deadLetter(state, part.records, outcome.detail)) {
        state.committed = slice.end;
        return;
      }
      this.requeue(state, [slice], this.retryDelay(attempts));
      return;
    }
    this.requeue(state, [{ ...slice, attempts }], this.retryDelay(attempts));
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
    const failedAt = Date.now();
    const letters: StreamRecord[] = records.map((record) => ({
      key: record.key,
      value: Buffer.from(
        JSON.stringify(
          processingFailedRecord(record, this.topic, state.partition, this.name, detail, failedAt),
        ),
        'utf8',
      ),
      timestamp: failedAt,
    }));
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
