/**
 * The bookkeeping every data operation (./data-ops.ts) shares: its id, its progress record and
 * counters, sending in batches with the progress stored after each, and reading iot.dlq over a window.
 */
import { randomBytes } from 'node:crypto';
import { type DeadLetter, readDeadLetter } from '../core/dead-letters.js';
import type {
  OperationProgress,
  OperationStore,
  RetainedRecord,
  TopicRangeReader,
} from '../ports/data-ops.js';
import type { StreamProducer, StreamRecord } from '../ports/stream.js';
import { TOPICS } from '../shared/stream.js';

/** What an operation's progress keeps from its start. */
export type OperationBase = Pick<OperationProgress, 'id' | 'kind' | 'request' | 'startedAt'>;

/** A record to send and the topic it goes to. */
export type TopicRecord = { readonly topic: string; readonly record: StreamRecord };

export type Counters = { scanned: number; matched: number; sent: number; skipped: Record<string, number> };

/** What a run of an operation needs: where it reads and sends, where its progress goes, the clock. */
export interface OperationContext {
  readonly reader: TopicRangeReader;
  readonly producer: StreamProducer;
  readonly operations: OperationStore;
  readonly now: () => number;
  /** Records per send. */
  readonly batchSize: number;
}

/**
 * `id`: the operation's id when the caller chose it (in AWS the API answers with the id before the
 * data-ops function, invoked asynchronously, runs the operation).
 */
export interface OperationOptions {
  readonly id?: string;
}

/** Ids of operations: a prefix and 20 random base-36 characters (REDRIVE_ID_PATTERN, REPLAY_ID_PATTERN). */
export function newOperationId(prefix: 'rd' | 'rp'): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(20);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % 36];
  return `${prefix}-${id}`;
}

export const newCounters = (): Counters => ({ scanned: 0, matched: 0, sent: 0, skipped: {} });

export const iso = (time: number) => new Date(time).toISOString();

/** A running operation ended as interrupted, with its counts as last recorded and why. */
export function interruptedProgress(
  progress: OperationProgress,
  finishedAt: number,
  reason: string,
): OperationProgress {
  return {
    ...progress,
    state: 'interrupted',
    finishedAt: new Date(finishedAt).toISOString(),
    error: `interrupted: ${reason}; scanned, matched and sent are as last recorded`,
  };
}

/** The progress of an operation in `state` with its counters as they stand (finished at `now` unless running). */
export function progressOf(
  now: () => number,
  base: OperationBase,
  counters: Counters,
  state: OperationProgress['state'],
  extra: { truncated?: boolean; error?: string } = {},
): OperationProgress {
  return {
    ...base,
    state,
    ...(state === 'running' ? {} : { finishedAt: iso(now()) }),
    scanned: counters.scanned,
    matched: counters.matched,
    sent: counters.sent,
    skipped: { ...counters.skipped },
    truncated: extra.truncated ?? false,
    ...(extra.error === undefined ? {} : { error: extra.error }),
  };
}

export function skip(counters: Counters, why: string): void {
  counters.skipped[why] = (counters.skipped[why] ?? 0) + 1;
}

/** Sends records in batches of `context.batchSize`, storing the progress after each. */
export async function sendAll(
  context: OperationContext,
  base: OperationBase,
  counters: Counters,
  sends: readonly TopicRecord[],
): Promise<void> {
  let i = 0;
  while (i < sends.length) {
    const { topic } = sends[i] as TopicRecord;
    const batch: StreamRecord[] = [];
    for (; i < sends.length && batch.length < context.batchSize; i++) {
      const send = sends[i] as TopicRecord;
      if (send.topic !== topic) break;
      batch.push(send.record);
    }
    await context.producer.send(topic, batch);
    counters.sent += batch.length;
    await context.operations.put(progressOf(context.now, base, counters, 'running'));
  }
}

/** Every dead letter of the window, up to `limit`, in time order; `truncated` if there were more. */
export async function readDeadLetters(
  reader: TopicRangeReader,
  range: { from: number; to: number },
  limit: number,
) {
  const letters: DeadLetter[] = [];
  let scanned = 0;
  let truncated = false;
  await reader.readByTime(TOPICS.dlq, range, (records) => {
    for (const record of records) {
      scanned += 1;
      if (letters.length >= limit) {
        truncated = true;
        return false;
      }
      const letter = readDeadLetter(record.value, {
        time: record.timestamp,
        partition: record.partition,
        offset: record.offset,
      });
      if (letter) letters.push(letter);
    }
    return true;
  });
  return { letters, scanned, truncated };
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * A retained record sent through again (a replay, a redrive from on-failure records): key and bytes
 * unchanged, its headers kept over the receipt time (`received_at` stays the first receipt), plus
 * `marks` naming the operation.
 */
export function sentAgain(
  record: RetainedRecord,
  sentAt: number,
  marks: Record<string, string>,
): StreamRecord {
  return {
    key: record.key ?? 'unknown',
    value: record.value,
    headers: { received_at: String(record.timestamp), ...record.headers, ...marks },
    timestamp: sentAt,
  };
}
