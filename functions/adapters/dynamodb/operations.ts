/**
 * Progress of redrives and replays in DynamoDB (issue 16), the `operations` table (TABLES.operations):
 *
 *   operation   { pk: 'op#{id}', body: OperationProgress as JSON, expiresAt }
 *   replay lock { pk: 'replay-lock#{deviceType}', replayId, state, leaseUntil, body (the claim's progress) }
 *
 * One replay per device type: claiming writes the lock with a condition (no lock, or its replay no
 * longer running, or its lease over), so two data-ops invocations cannot both win. The lease bounds
 * a lock whose replay never finished (its Lambda timed out or crashed): past `leaseUntil` (the longest
 * a data-ops invocation runs) the type is free again. A replay's finished progress releases its lock,
 * conditioned on the lock still naming that replay.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { OperationProgress, OperationStore } from '../../ports/data-ops.js';
import { isConditionalCheckFailed } from './support.js';

export interface OperationStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long a replay's lock holds without its replay finishing (ms): the data-ops function's timeout. */
  readonly replayLeaseMs: number;
  /** How long progress is kept (seconds; the table's TTL). Default 30 days. */
  readonly retentionSeconds?: number;
  /** Epoch ms; injectable for tests. */
  readonly now?: () => number;
}

const operationKey = (id: string) => `op#${id}`;
const lockKey = (deviceType: string) => `replay-lock#${deviceType}`;

/** The device type a replay's progress names (startReplay always records it in `request`). */
const replayTypeOf = (progress: OperationProgress): string | undefined =>
  progress.kind === 'replay' && typeof progress.request.deviceType === 'string'
    ? progress.request.deviceType
    : undefined;

export class DynamoOperationStore implements OperationStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly replayLeaseMs: number;
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
    if (!Item || typeof Item.body !== 'string') return undefined;
    // dynalite has no TTL: an expired item is as good as gone.
    if (typeof Item.expiresAt === 'number' && Item.expiresAt * 1000 <= this.now()) return undefined;
    return JSON.parse(Item.body) as OperationProgress;
  }

  async claimReplay(progress: OperationProgress, deviceType: string): Promise<OperationProgress | undefined> {
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
              leaseUntil: now + this.replayLeaseMs,
              // The claim's progress: what a refused claim answers until the operation item is written.
              body: JSON.stringify(progress),
            },
            ConditionExpression: 'attribute_not_exists(pk) OR #state <> :running OR leaseUntil <= :now',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':running': 'running', ':now': now },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const running = await this.runningReplay(deviceType);
        if (running) return running;
        continue;
      }
      await this.put(progress);
      return undefined;
    }
    throw new Error(`the replay lock of device type "${deviceType}" is contended: try again`);
  }

  /** The replay holding the device type's lock, if it is running and its lease holds (the API's 409 check). */
  async runningReplay(deviceType: string): Promise<OperationProgress | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: lockKey(deviceType) }, ConsistentRead: true }),
    );
    if (Item?.state !== 'running' || Number(Item.leaseUntil) <= this.now()) return undefined;
    const progress = await this.get(String(Item.replayId));
    if (progress === undefined) return JSON.parse(String(Item.body)) as OperationProgress;
    return progress.state === 'running' ? progress : undefined;
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
      body: JSON.stringify(progress),
      expiresAt: Math.floor(this.now() / 1000) + this.retentionSeconds,
    };
  }
}
