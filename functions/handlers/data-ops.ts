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
import { type DeadLetterFilter, type DeadLetterGroup, groupDeadLetters } from '../core/dead-letters.js';
import type { OperationProgress, OperationStore, TopicRangeReader } from '../ports/data-ops.js';
import type { FailedBatchStore } from '../ports/failed-batches.js';
import type { StreamProducer } from '../ports/stream.js';
import { DATA_OPS_LIMITS } from '../shared/data-ops.js';
import {
  interruptedProgress,
  iso,
  newCounters,
  newOperationId,
  type OperationOptions,
  progressOf,
  readDeadLetters,
} from './data-ops-operation.js';
import { filterRequest, runRedrive } from './data-ops-redrive.js';
import {
  claimReplay,
  type ReplayContext,
  type ReplayRequest,
  replayBase,
  replayDeviceType,
  runReplay,
} from './data-ops-replay.js';

export { newOperationId, type OperationOptions } from './data-ops-operation.js';
export {
  ReplayConflictError,
  type ReplayRequest,
  type ReplayTarget,
  UnknownDeviceError,
} from './data-ops-replay.js';

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

/** The dead letters of the window grouped by reason, device type and device (up to the scan bound). */
async function triage(reader: TopicRangeReader, range: { from: number; to: number }): Promise<TriageResult> {
  const { letters, truncated } = await readDeadLetters(reader, range, DATA_OPS_LIMITS.maxTriageScan);
  const inWindow = letters.filter((letter) => letter.time >= range.from && letter.time < range.to);
  return {
    from: iso(range.from),
    to: iso(range.to),
    total: inWindow.length,
    truncated,
    groups: groupDeadLetters(inWindow, DATA_OPS_LIMITS.examplesPerGroup),
  };
}

/**
 * Ends as `interrupted` every operation stored as running that is not `active` here: what a previous
 * process left when it died. Answers the operations it ended.
 */
async function recoverInterrupted(
  operations: OperationStore,
  active: ReadonlySet<string>,
  now: () => number,
): Promise<OperationProgress[]> {
  const left = (await operations.listRunning()).filter((progress) => !active.has(progress.id));
  const ended = left.map((progress) =>
    interruptedProgress(progress, now(), 'the process running it stopped (crash or kill) before it finished'),
  );
  for (const progress of ended) await operations.put(progress);
  return ended;
}

export function createDataOps(dependencies: DataOpsDependencies) {
  const { reader, producer, operations } = dependencies;
  const now = dependencies.now ?? Date.now;
  const running = new Set<Promise<void>>();
  /** Ids of the operations this instance runs now: never settled as interrupted. */
  const active = new Set<string>();
  /** Set by `stop`: running replays end at their next batch (state `interrupted`). */
  let stopping = false;
  const context: ReplayContext = {
    reader,
    producer,
    operations,
    now,
    batchSize: dependencies.sendBatchSize ?? 500,
    ...(dependencies.onError ? { onError: dependencies.onError } : {}),
    isStopping: () => stopping,
  };
  const waitForReplays = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };

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
      const failedBatches = dependencies.failedBatches;
      return await runRedrive({ ...context, ...(failedBatches ? { failedBatches } : {}) }, filter, base);
    } finally {
      active.delete(base.id);
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
    const deviceType = await replayDeviceType(request, dependencies.deviceTypeOf);
    const base = replayBase(request, deviceType, options.id ?? newOperationId('rp'), now());
    const counters = newCounters();
    const first = progressOf(now, base, counters, 'running');
    await claimReplay(operations, active, first, deviceType);
    const run = runReplay(context, request, base, counters).finally(() => {
      running.delete(run);
      active.delete(base.id);
    });
    running.add(run);
    return first;
  }

  return {
    triage: (range: { from: number; to: number }) => triage(reader, range),
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
    recoverInterrupted: (): Promise<OperationProgress[]> => recoverInterrupted(operations, active, now),
    /** Resolves once every replay started so far has finished (tests). */
    idle: waitForReplays,
    /** Ends running replays at their next batch, as interrupted (what they sent stays sent), and waits. */
    stop: async () => {
      stopping = true;
      await waitForReplays();
    },
  };
}

export type DataOps = ReturnType<typeof createDataOps>;
