/**
 * Progress of redrives and replays in DynamoDB (issue 16), the `operations` table (TABLES.operations),
 * in AWS and locally (dynalite):
 *
 *   operation   { pk: 'op#{id}', state, body: OperationProgress as JSON, expiresAt }
 *   replay lock { pk: 'replay-lock#{deviceType}', replayId, state, leaseUntil?, body (the claim's progress) }
 *
 * One replay per device type: claiming writes the lock with a condition (no lock, or its replay no
 * longer running, or its lease over), so two data-ops invocations cannot both win. The lease bounds
 * a lock whose replay never finished (its Lambda timed out or crashed): past `leaseUntil` (the longest
 * a data-ops invocation runs) the type is free again. Without a lease (the local runtime, where the
 * process is the runner) the lock holds until released; a start-up releases a dead process's locks
 * (createDataOps's `recoverInterrupted`, over `listRunning`). A replay's finished progress releases its
 * lock, conditioned on the lock still naming that replay; a lock still naming a finished replay (the
 * process died between the two writes) is released by the next claim.
 *
 * `state` is an attribute of both kinds, so `listRunning` is one filtered Scan (local start-up only:
 * in AWS several invocations run at once, and the lease decides instead).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { OperationProgress, OperationStore } from '../../ports/data-ops.js';
import { isConditionalCheckFailed } from './support.js';

export interface OperationStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * How long a replay's lock holds without its replay finishing (ms): the data-ops function's timeout.
   * Left out: until the replay's end releases it (local runtime).
   */
  readonly replayLeaseMs?: number;
  /** How long progress is kept (seconds; the table's TTL). Default 30 days. */
  readonly retentionSeconds?: number;
  /** Epoch ms; injectable for tests. */
  readonly now?: () => number;
}

const operationKey = (id: string) => `op#${id}`;
const LOCK_PREFIX = 'replay-lock#';
const lockKey = (deviceType: string) => `${LOCK_PREFIX}${deviceType}`;

/** The device type a replay's progress names (startReplay always records it in `request`). */
const replayTypeOf = (progress: OperationProgress): string | undefined =>
  progress.kind === 'replay' && typeof progress.request.deviceType === 'string'
    ? progress.request.deviceType
    : undefined;

export class DynamoOperationStore implements OperationStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly replayLeaseMs: number | undefined;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(options: OperationStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.replayLeaseMs = options.replayLeaseMs;
    this.retentionSeconds = options.retentionSeconds ?? 30 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  async put(progress: OperationProgress): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: this.item(progress) }));
    const deviceType = replayTypeOf(progress);
    if (deviceType !== undefined && progress.state !== 'running') await this.release(deviceType, progress);
  }

  async get(id: string): Promise<OperationProgress | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: operationKey(id) }, ConsistentRead: true }),
    );
    if (!Item || typeof Item.body !== 'string' || this.expired(Item)) return undefined;
    return JSON.parse(Item.body) as OperationProgress;
  }

  /** dynalite has no TTL, and DynamoDB deletes late: an expired item is as good as gone. */
  private expired(item: Record<string, unknown>): boolean {
    return typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= this.now();
  }

  async claimReplay(progress: OperationProgress, deviceType: string): Promise<OperationProgress | undefined> {
    const lease = this.replayLeaseMs;
    // Twice at most: a lock released between the refused put and the read is claimed on the second try.
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.now();
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              pk: lockKey(deviceType),
              replayId: progress.id,
              state: 'running',
              ...(lease === undefined ? {} : { leaseUntil: now + lease }),
              // The claim's progress: what a refused claim answers until the operation item is written.
              body: JSON.stringify(progress),
            },
            ConditionExpression: `attribute_not_exists(pk) OR #state <> :running${lease === undefined ? '' : ' OR leaseUntil <= :now'}`,
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':running': 'running',
              ...(lease === undefined ? {} : { ':now': now }),
            },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const lock = await this.readLock(deviceType);
        if (lock?.running) return lock.running;
        // The lock names a replay that finished, but its release was never written: release it now.
        if (lock?.finished) await this.release(deviceType, lock.finished);
        continue;
      }
      await this.put(progress);
      return undefined;
    }
    throw new Error(`the replay lock of device type "${deviceType}" is contended: try again`);
  }

  /** The replay holding the device type's lock, if it is running and its lease holds (the API's 409 check). */
  async runningReplay(deviceType: string): Promise<OperationProgress | undefined> {
    return (await this.readLock(deviceType))?.running;
  }

  async listRunning(): Promise<OperationProgress[]> {
    const operations = new Map<string, OperationProgress>();
    const claimedReplays: { id: string; claim: OperationProgress }[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: '#state = :running',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':running': 'running' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.body !== 'string') continue;
        const progress = JSON.parse(item.body) as OperationProgress;
        if (String(item.pk).startsWith(LOCK_PREFIX))
          claimedReplays.push({ id: String(item.replayId), claim: progress });
        else if (!this.expired(item)) operations.set(progress.id, progress);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    // A claim whose progress was never written: its process died between the claim and the put.
    for (const { id, claim } of claimedReplays) {
      if (!operations.has(id) && (await this.get(id)) === undefined) operations.set(id, claim);
    }
    return [...operations.values()];
  }

  /**
   * The device type's lock: `running`, the replay holding it (running, lease not over); `finished`, a
   * finished replay it still names (its release was never written).
   */
  private async readLock(
    deviceType: string,
  ): Promise<{ running?: OperationProgress; finished?: OperationProgress } | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: lockKey(deviceType) }, ConsistentRead: true }),
    );
    if (Item?.state !== 'running') return undefined;
    if (Item.leaseUntil !== undefined && Number(Item.leaseUntil) <= this.now()) return undefined;
    const progress = await this.get(String(Item.replayId));
    if (progress === undefined) return { running: JSON.parse(String(Item.body)) as OperationProgress };
    return progress.state === 'running' ? { running: progress } : { finished: progress };
  }

  private async release(deviceType: string, progress: OperationProgress): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: lockKey(deviceType) },
          UpdateExpression: 'SET #state = :state',
          ConditionExpression: 'replayId = :id',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':state': progress.state, ':id': progress.id },
        }),
      );
    } catch (error) {
      // The lock names another replay (this one never held it, or its lease ran out): leave it.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  private item(progress: OperationProgress) {
    return {
      pk: operationKey(progress.id),
      state: progress.state,
      body: JSON.stringify(progress),
      expiresAt: Math.floor(this.now() / 1000) + this.retentionSeconds,
    };
  }
}
