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

/**
 * `interrupted`: the process running it stopped before it finished (the local platform stopped or was
 * killed, or in AWS the data-ops invocation timed out or crashed); its counts are the last recorded.
 */
export type OperationState = 'running' | 'done' | 'failed' | 'interrupted';

/** The progress of a redrive or a replay, as `GET /api/dlq/redrives/{id}` and `/api/replays/{id}` show it. */
export interface OperationProgress {
  readonly id: string;
  readonly kind: 'redrive' | 'replay';
  readonly state: OperationState;
  /** The request, as validated. */
  readonly request: Readonly<Record<string, unknown>>;
  readonly startedAt: string;
  /** When it ended (for `interrupted`: when that was recorded, or the latest it can have run). */
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
  /** Why it failed or was interrupted (states `failed`, `interrupted`). */
  readonly error?: string;
}

/**
 * Where progress is kept: the operations table (TABLES.operations) in both runtimes, DynamoDB in AWS
 * and dynalite locally, so progress and the replay locks outlive the process.
 */
export interface OperationStore {
  put(progress: OperationProgress): Promise<void>;
  get(id: string): Promise<OperationProgress | undefined>;
  /**
   * Stores a new replay unless one of the same device type is running (one at a time per type):
   * undefined when stored, else the running one. Atomic (a conditional write in a table).
   */
  claimReplay(progress: OperationProgress, deviceType: string): Promise<OperationProgress | undefined>;
  /**
   * Every operation stored as `running`, including a replay whose claim was stored but not its
   * progress (the claim's progress then). What a start-up finds left by a process that died.
   */
  listRunning(): Promise<OperationProgress[]>;
}
