/**
 * Ports of the data operations (issue 16): reading a topic's retained records by time (the local log's
 * lookup by timestamp, KafkaJS `fetchTopicOffsetsByTimestamp` on MSK), and keeping the progress of
 * redrives and replays.
 */

/** One retained record, as a range read returns it. */
export interface RetainedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Epoch ms: the record's timestamp. */
  readonly timestamp: number;
  readonly key?: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

export interface TopicRangeReader {
  /**
   * Visits, partition by partition in offset order, the retained records of `topic` from the earliest
   * offset at or after `from` to the earliest at or after `to` (as of the call: records appended
   * meanwhile are not visited), in batches. Stops early when `visit` answers false.
   */
  readByTime(
    topic: string,
    range: { readonly from: number; readonly to: number },
    visit: (records: readonly RetainedRecord[]) => Promise<boolean | undefined> | boolean | undefined,
  ): Promise<void>;
}

export type OperationState = 'running' | 'done' | 'failed';

/** The progress of a redrive or a replay, as `GET /api/dlq/redrives/{id}` and `/api/replays/{id}` show it. */
export interface OperationProgress {
  readonly id: string;
  readonly kind: 'redrive' | 'replay';
  readonly state: OperationState;
  /** The request, as validated. */
  readonly request: Readonly<Record<string, unknown>>;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Records read from the topic. */
  readonly scanned: number;
  /** Of those, the ones the request selects. */
  readonly matched: number;
  /** Sent back into the pipeline. */
  readonly sent: number;
  /** Matched but not sent, by why (a stage a redrive cannot send back to, an earlier attempt, ...). */
  readonly skipped: Readonly<Record<string, number>>;
  /** True when the operation stopped at its bound (DATA_OPS_LIMITS) with more records matching. */
  readonly truncated: boolean;
  /** Why it failed (state `failed`). */
  readonly error?: string;
}

/** Where progress is kept: memory locally (a restart forgets it), a table in AWS. */
export interface OperationStore {
  put(progress: OperationProgress): Promise<void>;
  get(id: string): Promise<OperationProgress | undefined>;
  /**
   * Stores a new replay unless one of the same device type is running (one at a time per type):
   * undefined when stored, else the running one. Atomic (a conditional write in a table).
   */
  claimReplay(progress: OperationProgress, deviceType: string): Promise<OperationProgress | undefined>;
}

/** An in-memory store: right for one process (local mode, tests). */
export class InMemoryOperationStore implements OperationStore {
  private readonly operations = new Map<string, OperationProgress>();
  private readonly replayOf = new Map<string, string>();

  async put(progress: OperationProgress): Promise<void> {
    this.operations.set(progress.id, progress);
  }

  async get(id: string): Promise<OperationProgress | undefined> {
    return this.operations.get(id);
  }

  async claimReplay(progress: OperationProgress, deviceType: string): Promise<OperationProgress | undefined> {
    const runningId = this.replayOf.get(deviceType);
    const running = runningId === undefined ? undefined : this.operations.get(runningId);
    if (running?.state === 'running') return running;
    this.replayOf.set(deviceType, progress.id);
    this.operations.set(progress.id, progress);
    return undefined;
  }
}
