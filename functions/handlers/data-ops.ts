/**
 * Data operations (issue 16): dead-letter triage, redrive and replay, over the stream ports, so the
 * local runtime and a Lambda run the same code.
 *
 * - Triage reads `iot.dlq` over a window (by record time: when the platform received the message)
 *   and groups the dead letters by reason, device type and device.
 * - A redrive reads the matching dead letters of `iot.dlq` and sends each message's original bytes back
 *   to `iot.raw`, unchanged, as the bridge first sent them (key, MQTT topic, receipt time), with a
 *   `redrive_count` header one past the dead letter's: enrich stamps it on enrichment_info, or, if the
 *   message fails again, on its new dead letter. Of the dead letters of one message only the newest
 *   goes back. The writes downstream are idempotent on (device, measure, time), so a message sent
 *   back twice is stored once.
 *   In AWS a redrive also sends back the matching records of the batches the MSK event source
 *   mappings gave up on (`failedBatches`, their S3 on-failure destination: ./on-failure-redrive.ts),
 *   each to the topic it came from; the DLQ's come first, the bound counts both.
 * - A replay reads the raw records of a device or a device type over a time range and sends them back
 *   to `iot.raw` with a `replay_id` header: enrich re-runs them with the current registry (alert state
 *   untouched) and the writer replaces each message's stored points (TimeseriesSink.rewrite), so the
 *   verdicts and points follow the new definition and each point is stored once. One replay at a time
 *   per device type. Copies a replay sent are never replayed again (the original is still there).
 *
 * Sent records carry the time of sending as their timestamp (the receipt time travels in the
 * `received_at` header, which enrich prefers), so the raw topic's timestamps keep rising with offsets
 * and the lookup by time stays right.
 *
 * An operation whose runner died (the local process killed, a data-ops invocation timed out) must not
 * read `running` for ever, nor hold its device type: it ends as `interrupted`, its counts as last
 * recorded. Locally the process is the runner, so a start-up settles what the previous one left
 * (`recoverInterrupted`); in AWS an invocation cannot outlive its timeout, so the progress routes read
 * a running operation started longer ago than that as `interrupted` (`settledOperation`, with
 * DATA_OPS_LEASE_MS; its replay lock's lease is the same timeout).
 */
import { randomBytes } from 'node:crypto';
import type { DlqRecord } from '../core/contract/messages.js';
import {
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterGroup,
  deadLetterAttemptKey,
  groupDeadLetters,
  isRedrivable,
  matchesFilter,
  newestAttempts,
  readDeadLetter,
} from '../core/dead-letters.js';
import { parseTopic } from '../core/envelope.js';
import type {
  OperationProgress,
  OperationStore,
  RetainedRecord,
  TopicRangeReader,
} from '../ports/data-ops.js';
import type { FailedBatchStore } from '../ports/failed-batches.js';
import type { StreamProducer, StreamRecord } from '../ports/stream.js';
import { DATA_OPS_HEADERS, DATA_OPS_LIMITS } from '../shared/data-ops.js';
import { TOPICS } from '../shared/stream.js';
import { selectFailedRecords } from './on-failure-redrive.js';

export interface DataOpsDependencies {
  readonly reader: TopicRangeReader;
  readonly producer: StreamProducer;
  readonly operations: OperationStore;
  /** The registered type of a device (a device replay is locked per its type); undefined if unseen. */
  readonly deviceTypeOf: (deviceId: string) => Promise<string | undefined>;
  readonly now?: () => number;
  /** Told when a replay running in the background fails. */
  readonly onError?: (error: unknown, operationId: string) => void;
  /** Records per send (default 500). */
  readonly sendBatchSize?: number;
  /**
   * AWS: the event source mappings' on-failure destination, a second source of a redrive.
   * @default - none (local mode: the consumers' failures are in iot.dlq only)
   */
  readonly failedBatches?: FailedBatchStore;
}

export interface TriageResult {
  readonly from: string;
  readonly to: string;
  /** Dead letters in the window (up to the scan bound). */
  readonly total: number;
  /** The scan stopped at DATA_OPS_LIMITS.maxTriageScan: counts are of the oldest that many. */
  readonly truncated: boolean;
  readonly groups: readonly DeadLetterGroup[];
}

export type ReplayTarget = { readonly deviceId: string } | { readonly deviceType: string };

export interface ReplayRequest {
  readonly target: ReplayTarget;
  readonly from: number;
  readonly to: number;
}

/** A replay of the same device type is running (one at a time per type). */
export class ReplayConflictError extends Error {
  override readonly name = 'ReplayConflictError';
  constructor(
    readonly deviceType: string,
    readonly runningId: string,
  ) {
    super(`replay ${runningId} of device type "${deviceType}" is still running`);
  }
}

/** A device replay for a device the platform has not seen. */
export class UnknownDeviceError extends Error {
  override readonly name = 'UnknownDeviceError';
  constructor(readonly deviceId: string) {
    super(`device "${deviceId}" has not been seen`);
  }
}

/** Ids of operations: a prefix and 20 random base-36 characters (REDRIVE_ID_PATTERN, REPLAY_ID_PATTERN). */
export function newOperationId(prefix: 'rd' | 'rp'): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(20);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % 36];
  return `${prefix}-${id}`;
}

/** A running operation ended as interrupted, with its counts as last recorded and why. */
function interruptedProgress(
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

/**
 * The progress as it stands at `now`: a running operation started `leaseMs` or longer ago cannot still
 * run (its invocation's timeout is over), so it reads `interrupted`, ended at the latest it can have run.
 */
function settleOperation(progress: OperationProgress, now: number, leaseMs: number): OperationProgress {
  if (progress.state !== 'running') return progress;
  const deadline = Date.parse(progress.startedAt) + leaseMs;
  if (deadline > now) return progress;
  return interruptedProgress(
    progress,
    deadline,
    `not finished within the data-ops function's timeout (${leaseMs / 1000} s): its run timed out or crashed`,
  );
}

/**
 * An operation's progress as of `now`, when no run can last longer than `leaseMs` (in AWS the data-ops
 * function's timeout, DATA_OPS_LEASE_MS: the API's progress routes read it so).
 */
export async function settledOperation(
  operations: Pick<OperationStore, 'get'>,
  id: string,
  now: number,
  leaseMs: number,
): Promise<OperationProgress | undefined> {
  const progress = await operations.get(id);
  return progress && settleOperation(progress, now, leaseMs);
}

/**
 * `id`: the operation's id when the caller chose it (in AWS the API answers with the id before the
 * data-ops function, invoked asynchronously, runs the operation).
 */
export interface OperationOptions {
  readonly id?: string;
}

/** A record to send and the topic it goes to. */
type TopicRecord = { readonly topic: string; readonly record: StreamRecord };

type Counters = { scanned: number; matched: number; sent: number; skipped: Record<string, number> };

export function createDataOps(dependencies: DataOpsDependencies) {
  const now = dependencies.now ?? Date.now;
  const batchSize = dependencies.sendBatchSize ?? 500;
  const { reader, producer, operations } = dependencies;
  const running = new Set<Promise<void>>();
  /** Ids of the operations this instance runs now: never settled as interrupted. */
  const active = new Set<string>();
  /** Set by `stop`: running replays end at their next batch (state `interrupted`). */
  let stopping = false;

  const iso = (time: number) => new Date(time).toISOString();

  /** Every dead letter of the window, up to `limit`, in time order; `truncated` if there were more. */
  async function readDeadLetters(range: { from: number; to: number }, limit: number) {
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

  const progressOf = (
    base: Pick<OperationProgress, 'id' | 'kind' | 'request' | 'startedAt'>,
    counters: Counters,
    state: OperationProgress['state'],
    extra: { truncated?: boolean; error?: string } = {},
  ): OperationProgress => ({
    ...base,
    state,
    ...(state === 'running' ? {} : { finishedAt: iso(now()) }),
    scanned: counters.scanned,
    matched: counters.matched,
    sent: counters.sent,
    skipped: { ...counters.skipped },
    truncated: extra.truncated ?? false,
    ...(extra.error === undefined ? {} : { error: extra.error }),
  });

  const skip = (counters: Counters, why: string) => {
    counters.skipped[why] = (counters.skipped[why] ?? 0) + 1;
  };

  async function triage(range: { from: number; to: number }): Promise<TriageResult> {
    const { letters, truncated } = await readDeadLetters(range, DATA_OPS_LIMITS.maxTriageScan);
    const inWindow = letters.filter((letter) => letter.time >= range.from && letter.time < range.to);
    return {
      from: iso(range.from),
      to: iso(range.to),
      total: inWindow.length,
      truncated,
      groups: groupDeadLetters(inWindow, DATA_OPS_LIMITS.examplesPerGroup),
    };
  }

  /** Sends records in batches of `batchSize`, storing the progress after each. */
  async function sendAll(
    base: Pick<OperationProgress, 'id' | 'kind' | 'request' | 'startedAt'>,
    counters: Counters,
    sends: readonly TopicRecord[],
  ) {
    let i = 0;
    while (i < sends.length) {
      const { topic } = sends[i] as TopicRecord;
      const batch: StreamRecord[] = [];
      for (; i < sends.length && batch.length < batchSize; i++) {
        const send = sends[i] as TopicRecord;
        if (send.topic !== topic) break;
        batch.push(send.record);
      }
      await producer.send(topic, batch);
      counters.sent += batch.length;
      await operations.put(progressOf(base, counters, 'running'));
    }
  }

  /** The dead letters of iot.dlq a redrive sends back (the newest attempt of each message). */
  async function deadLettersToRedrive(filter: DeadLetterFilter, counters: Counters) {
    const { letters, scanned, truncated } = await readDeadLetters(filter, DATA_OPS_LIMITS.maxTriageScan);
    counters.scanned += scanned;
    const matching = letters.filter((letter) => matchesFilter(letter, filter));
    counters.matched += matching.length;
    const redrivable: DeadLetter[] = [];
    for (const letter of matching) {
      if (isRedrivable(letter)) redrivable.push(letter);
      else skip(counters, `stage ${letter.record.stage} cannot be redriven`);
    }
    const newest = newestAttempts(redrivable);
    for (let i = newest.length; i < redrivable.length; i++)
      skip(counters, 'an older attempt of a message sent');
    const toSend = newest.slice(0, DATA_OPS_LIMITS.maxRedriveMessages);
    const sentAt = now();
    return {
      sends: toSend.map((letter) => ({
        topic: TOPICS.raw,
        record: redriveRecord(letter.record, letter, sentAt),
      })),
      attempts: new Set(toSend.map(deadLetterAttemptKey)),
      truncated: truncated || newest.length > toSend.length,
    };
  }

  /** Runs a redrive to the end (at most DATA_OPS_LIMITS.maxRedriveMessages sent) and answers its progress. */
  async function redrive(
    filter: DeadLetterFilter,
    options: OperationOptions = {},
  ): Promise<OperationProgress> {
    const base = {
      id: options.id ?? newOperationId('rd'),
      kind: 'redrive' as const,
      request: filterRequest(filter),
      startedAt: iso(now()),
    };
    active.add(base.id);
    try {
      return await runRedrive(filter, base);
    } finally {
      active.delete(base.id);
    }
  }

  async function runRedrive(
    filter: DeadLetterFilter,
    base: Pick<OperationProgress, 'id' | 'kind' | 'request' | 'startedAt'>,
  ): Promise<OperationProgress> {
    const counters: Counters = { scanned: 0, matched: 0, sent: 0, skipped: {} };
    await operations.put(progressOf(base, counters, 'running'));
    try {
      const fromDeadLetters = await deadLettersToRedrive(filter, counters);
      await sendAll(base, counters, fromDeadLetters.sends);
      let truncated = fromDeadLetters.truncated;
      if (dependencies.failedBatches) {
        const failed = await selectFailedRecords(filter, {
          batches: dependencies.failedBatches,
          reader,
          limit: DATA_OPS_LIMITS.maxRedriveMessages - counters.sent,
          sentAt: now(),
          sentFromDeadLetters: fromDeadLetters.attempts,
        });
        counters.scanned += failed.scanned;
        counters.matched += failed.matched;
        for (const [why, count] of Object.entries(failed.skipped))
          counters.skipped[why] = (counters.skipped[why] ?? 0) + count;
        await sendAll(base, counters, failed.sends);
        truncated ||= failed.truncated;
      }
      const done = progressOf(base, counters, 'done', { truncated });
      await operations.put(done);
      return done;
    } catch (error) {
      await operations.put(progressOf(base, counters, 'failed', { error: messageOf(error) }));
      throw error;
    }
  }

  /**
   * Starts a replay in the background and answers its first progress. Throws ReplayConflictError when
   * a replay of the same device type runs, UnknownDeviceError for a device never seen.
   */
  async function startReplay(
    request: ReplayRequest,
    options: OperationOptions = {},
  ): Promise<OperationProgress> {
    const deviceType =
      'deviceType' in request.target
        ? request.target.deviceType
        : await dependencies.deviceTypeOf(request.target.deviceId);
    if (deviceType === undefined && 'deviceId' in request.target) {
      throw new UnknownDeviceError(request.target.deviceId);
    }
    const base = {
      id: options.id ?? newOperationId('rp'),
      kind: 'replay' as const,
      request: {
        ...request.target,
        ...('deviceId' in request.target ? { deviceType } : {}),
        from: iso(request.from),
        to: iso(request.to),
      },
      startedAt: iso(now()),
    };
    const counters: Counters = { scanned: 0, matched: 0, sent: 0, skipped: {} };
    const first = progressOf(base, counters, 'running');
    // Active from before the claim: once claimed, `recoverInterrupted` must not take it for a dead one.
    active.add(base.id);
    let claimed = false;
    try {
      const conflict = await operations.claimReplay(first, deviceType as string);
      if (conflict) throw new ReplayConflictError(deviceType as string, conflict.id);
      claimed = true;
    } finally {
      if (!claimed) active.delete(base.id);
    }
    const run = runReplay(request, base, counters).finally(() => {
      running.delete(run);
      active.delete(base.id);
    });
    running.add(run);
    return first;
  }

  async function runReplay(
    request: ReplayRequest,
    base: Pick<OperationProgress, 'id' | 'kind' | 'request' | 'startedAt'>,
    counters: Counters,
  ): Promise<void> {
    let truncated = false;
    try {
      let pending: StreamRecord[] = [];
      const flush = async () => {
        if (pending.length === 0) return;
        await producer.send(TOPICS.raw, pending);
        counters.sent += pending.length;
        pending = [];
        await operations.put(progressOf(base, counters, 'running'));
      };
      await reader.readByTime(TOPICS.raw, request, async (records) => {
        if (stopping) return false;
        for (const record of records) {
          counters.scanned += 1;
          if (!replaySelects(record, request)) continue;
          if (record.headers[DATA_OPS_HEADERS.replayId] !== undefined) {
            skip(counters, 'a copy an earlier replay sent');
            continue;
          }
          if (counters.matched >= DATA_OPS_LIMITS.maxReplayMessages) {
            truncated = true;
            return false;
          }
          counters.matched += 1;
          pending.push(replayRecord(record, base.id, now()));
          if (pending.length >= batchSize) await flush();
        }
        return true;
      });
      await flush();
      if (stopping) {
        await operations.put(
          interruptedProgress(
            progressOf(base, counters, 'running'),
            now(),
            'the platform stopped before it finished',
          ),
        );
        return;
      }
      await operations.put(progressOf(base, counters, 'done', { truncated }));
    } catch (error) {
      dependencies.onError?.(error, base.id);
      await operations
        .put(progressOf(base, counters, 'failed', { truncated, error: messageOf(error) }))
        .catch(() => undefined);
    }
  }

  return {
    triage,
    redrive,
    startReplay,
    /** Locally the process is the runner (no lease): `recoverInterrupted` settles a dead one's at start. */
    operation: (id: string) => operations.get(id),
    /**
     * Ends as `interrupted` every operation stored as running that this instance does not run: what a
     * previous process left when it died (crash, kill -9), its replay locks released with it. For the
     * local runtime at start, before requests are taken; never in AWS, where other invocations run at
     * the same time (the lease decides there). Answers the operations it ended.
     */
    recoverInterrupted: async (): Promise<OperationProgress[]> => {
      const left = (await operations.listRunning()).filter((progress) => !active.has(progress.id));
      const ended = left.map((progress) =>
        interruptedProgress(
          progress,
          now(),
          'the process running it stopped (crash or kill) before it finished',
        ),
      );
      for (const progress of ended) await operations.put(progress);
      return ended;
    },
    /** Resolves once every replay started so far has finished (tests). */
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    /** Ends running replays at their next batch, as interrupted (what they sent stays sent), and waits. */
    stop: async () => {
      stopping = true;
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

export type DataOps = ReturnType<typeof createDataOps>;

/** The record a redrive sends: the original bytes as the bridge sent them, one more redrive counted. */
function redriveRecord(record: DlqRecord, letter: DeadLetter, sentAt: number): StreamRecord {
  const headers: Record<string, string> = {
    received_at: String(Date.parse(record.received_at)),
    [DATA_OPS_HEADERS.redriveCount]: String((record.redrive_count ?? 0) + 1),
  };
  if (record.source?.mqtt_topic !== undefined) headers.mqtt_topic = record.source.mqtt_topic;
  return {
    key: letter.deviceId ?? 'unknown',
    value: Buffer.from(record.original_base64, 'base64'),
    headers,
    timestamp: sentAt,
  };
}

/** Whether a raw record belongs to the replay's device or device type (by its MQTT topic). */
function replaySelects(record: RetainedRecord, request: ReplayRequest): boolean {
  if (record.timestamp < request.from || record.timestamp >= request.to) return false;
  const topic = record.headers.mqtt_topic ? parseTopic(record.headers.mqtt_topic) : undefined;
  if ('deviceId' in request.target) return (topic?.deviceId ?? record.key) === request.target.deviceId;
  return topic?.deviceType === request.target.deviceType;
}

/** The record a replay sends: the raw record unchanged, its headers kept, the replay named. */
function replayRecord(record: RetainedRecord, replayId: string, sentAt: number): StreamRecord {
  return {
    key: record.key ?? 'unknown',
    value: record.value,
    headers: {
      received_at: String(record.timestamp),
      ...record.headers,
      [DATA_OPS_HEADERS.replayId]: replayId,
    },
    timestamp: sentAt,
  };
}

function filterRequest(filter: DeadLetterFilter): Record<string, unknown> {
  return {
    ...(filter.reason === undefined ? {} : { reason: filter.reason }),
    ...(filter.deviceType === undefined ? {} : { deviceType: filter.deviceType }),
    ...(filter.deviceId === undefined ? {} : { deviceId: filter.deviceId }),
    from: new Date(filter.from).toISOString(),
    to: new Date(filter.to).toISOString(),
  };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
