/**
 * The delivery rules of a Lambda Kafka event source mapping, shared by the local log's consumer
 * (consumer.ts) and the real-Kafka consumer of `--kafka-brokers` (local/kafka/consumer.ts), so both
 * retry, bisect, honour partial batch responses and dead-letter the same way:
 *
 * - Partial batch response (`batchItemFailures`): per partition, the records before the lowest failed
 *   position are done; that record and the later ones are delivered again.
 * - Function error (the handler throws, or returns an invalid response): with bisecting, the part is
 *   split in two and both halves are retried (splitting is not a retry). A single record, or a part
 *   when not bisecting, is retried `maximumRetryAttempts` times with exponential backoff, then
 *   dead-lettered: a DlqRecord (reason PROCESSING_FAILED, the original bytes), keyed by the record key.
 *
 * Positions: the log consumer works with offsets (contiguous there); the Kafka consumer with indices
 * into the batch it fetched (Kafka offsets may have gaps), and maps the response's offsets to them.
 */
import { isDeviceId, SLUG_PATTERN } from '../../functions/core/contract/identifiers.js';
import type { DlqRecord } from '../../functions/core/contract/messages.js';
import { toDlqRecord } from '../../functions/core/dlq.js';
import type { KafkaHandler, StreamRecord } from '../../functions/ports/stream.js';
import { EVENT_SOURCE_ERROR_CONTROLS, TOPICS } from '../../functions/shared/stream.js';
import type { LogRecord } from './frame.js';

/** The DLQ reason of a record the consumer gave up on. */
export const PROCESSING_FAILED = 'PROCESSING_FAILED' as const;
export const REPORTED_FAILED_DETAIL = 'reported as failed by the consumer';
const MAX_RETRY_BACKOFF_MS = 10_000;

/** A contiguous run of positions [start, end) of one partition. */
export interface Slice {
  readonly start: number;
  readonly end: number;
  /** Failed deliveries of the slice's first record so far (known ones). */
  readonly attempts: number;
}

export type Outcome =
  /** `failures`: partition -> positions reported as failed. */
  | { readonly kind: 'success'; readonly failures: ReadonlyMap<number, ReadonlySet<number>> }
  | { readonly kind: 'error'; readonly detail: string };

export const NO_FAILURES: Outcome = { kind: 'success', failures: new Map() };

export interface ErrorControls {
  readonly maximumRetryAttempts: number;
  readonly bisect: boolean;
  /** Delay before retry n is `retryBackoffMs * 2^(n-1)`, at most 10 s (0: none). */
  readonly retryBackoffMs: number;
}

export const DEFAULT_BATCH_SIZE = 100;
/** Base of the exponential backoff between retries (Lambda's own is not configurable). */
export const DEFAULT_RETRY_BACKOFF_MS = 200;

/** What both consumers take, as a Lambda Kafka event source mapping configures it. */
export interface EventSourceMappingOptions {
  readonly topic: string;
  readonly group: string;
  /** The stage that consumes (`enrich`, `timeseries-writer`): the `stage` of its dead letters. */
  readonly name: string;
  readonly handler: KafkaHandler;
  /** Most records per invocation (default 100). */
  readonly batchSize?: number;
  /** Defaults: EVENT_SOURCE_ERROR_CONTROLS. */
  readonly maximumRetryAttempts?: number;
  readonly bisectBatchOnFunctionError?: boolean;
  readonly reportBatchItemFailures?: boolean;
  /** Where records out of retries go (default TOPICS.dlq; not `topic`); false: reported and skipped (best effort). */
  readonly dlqTopic?: string | false;
  /** Delay before retry n is `retryBackoffMs * 2^(n-1)`, at most 10 s (default 200 ms; 0: none). */
  readonly retryBackoffMs?: number;
}

/** The options with their defaults applied and checked. */
export interface DeliverySettings {
  readonly batchSize: number;
  readonly controls: ErrorControls;
  readonly reportBatchItemFailures: boolean;
  readonly dlqTopic: string | false;
}

export function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer`);
  return value;
}

export function nonNegative(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what} must be >= 0`);
  return value;
}

export function resolveDeliverySettings(options: EventSourceMappingOptions): DeliverySettings {
  if (!SLUG_PATTERN.test(options.name)) {
    throw new Error(`consumer name "${options.name}" must be lower snake or kebab case (a DLQ stage)`);
  }
  const dlqTopic = options.dlqTopic ?? TOPICS.dlq;
  if (dlqTopic !== false && dlqTopic === options.topic)
    throw new Error(`consumer ${options.name}: the DLQ topic cannot be the consumed topic`);
  return {
    batchSize: positiveInteger(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize'),
    controls: {
      maximumRetryAttempts: nonNegative(
        options.maximumRetryAttempts ?? EVENT_SOURCE_ERROR_CONTROLS.maximumRetryAttempts,
        'maximumRetryAttempts',
      ),
      bisect: options.bisectBatchOnFunctionError ?? EVENT_SOURCE_ERROR_CONTROLS.bisectBatchOnFunctionError,
      retryBackoffMs: nonNegative(options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS, 'retryBackoffMs'),
    },
    reportBatchItemFailures:
      options.reportBatchItemFailures ?? EVENT_SOURCE_ERROR_CONTROLS.reportBatchItemFailures,
    dlqTopic,
  };
}

/** The figures both consumers report. */
export interface DeliveryStats {
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
  readonly lag: number;
  readonly lastError: string | undefined;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function retryDelay(controls: ErrorControls, attempts: number): number {
  if (controls.retryBackoffMs === 0) return 0;
  return Math.min(controls.retryBackoffMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_BACKOFF_MS);
}

/**
 * Reads a handler's response the way the event source mapping does. `locate(partition, offset)` gives
 * the position of a record of the batch, or undefined when the batch has no such record (then the
 * whole response counts as a function error, as Lambda treats an identifier it cannot match).
 */
export function interpretResponse(
  response: unknown,
  topic: string,
  locate: (partition: number, offset: number) => number | undefined,
): Outcome {
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
    const position =
      isNonNegativeInteger(partition) && isNonNegativeInteger(offset) ? locate(partition, offset) : undefined;
    if (partition === undefined || position === undefined) {
      return {
        kind: 'error',
        detail: `batchItemFailures names ${String(key)}@${String(offset)}, which is not in the batch`,
      };
    }
    const set = failures.get(partition) ?? new Set<number>();
    set.add(position);
    failures.set(partition, set);
  }
  return { kind: 'success', failures };
}

/** What to do with one partition's part of a batch after the handler's outcome. */
export interface Settlement {
  /** Record deliveries that failed. */
  readonly failed: number;
  /** The new committed position (left out: unchanged). */
  readonly committed?: number;
  /** Slices to deliver again, after `delayMs` (also what happens when the DLQ refuses `deadLetter`). */
  readonly requeue: readonly Slice[];
  readonly delayMs: number;
  /** Records out of retries: send [start, end) to the DLQ; once it took them, commit and requeue these. */
  readonly deadLetter?: {
    readonly start: number;
    readonly end: number;
    readonly detail: string;
    readonly committed: number;
    readonly requeue: readonly Slice[];
  };
}

export function planSettlement(
  slice: Slice,
  outcome: Outcome,
  partition: number,
  controls: ErrorControls,
): Settlement {
  const size = slice.end - slice.start;
  if (outcome.kind === 'success') {
    const failed = outcome.failures.get(partition);
    if (!failed || failed.size === 0) return { failed: 0, committed: slice.end, requeue: [], delayMs: 0 };
    const lowest = Math.min(...failed);
    const attempts = lowest === slice.start ? slice.attempts + 1 : 1;
    const delayMs = retryDelay(controls, attempts);
    if (attempts > controls.maximumRetryAttempts) {
      return {
        failed: failed.size,
        committed: lowest,
        // The DLQ refused: deliver again; the next failure tries the DLQ again.
        requeue: [{ start: lowest, end: slice.end, attempts: attempts - 1 }],
        delayMs,
        deadLetter: {
          start: lowest,
          end: lowest + 1,
          detail: REPORTED_FAILED_DETAIL,
          committed: lowest + 1,
          requeue: lowest + 1 < slice.end ? [{ start: lowest + 1, end: slice.end, attempts: 0 }] : [],
        },
      };
    }
    return {
      failed: failed.size,
      committed: lowest,
      requeue: [{ start: lowest, end: slice.end, attempts }],
      delayMs,
    };
  }
  if (controls.bisect && size > 1) {
    const middle = slice.start + Math.ceil(size / 2);
    return {
      failed: size,
      requeue: [
        { start: slice.start, end: middle, attempts: slice.attempts },
        { start: middle, end: slice.end, attempts: 0 },
      ],
      delayMs: 0,
    };
  }
  const attempts = slice.attempts + 1;
  const delayMs = retryDelay(controls, attempts);
  if (attempts > controls.maximumRetryAttempts) {
    return {
      failed: size,
      requeue: [slice],
      delayMs,
      deadLetter: {
        start: slice.start,
        end: slice.end,
        detail: outcome.detail,
        committed: slice.end,
        requeue: [],
      },
    };
  }
  return { failed: size, requeue: [{ ...slice, attempts }], delayMs };
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

/** The DLQ records for `records` of one partition, keyed like the originals. */
export function deadLetterRecords(
  records: readonly LogRecord[],
  topic: string,
  partition: number,
  stage: string,
  detail: string,
  failedAt: number,
): StreamRecord[] {
  return records.map((record) => ({
    key: record.key,
    value: Buffer.from(
      JSON.stringify(processingFailedRecord(record, topic, partition, stage, detail, failedAt)),
      'utf8',
    ),
    timestamp: failedAt,
  }));
}
