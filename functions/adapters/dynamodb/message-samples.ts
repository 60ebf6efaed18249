/**
 * Recent message samples for the inspector:
 *
 *   { stage, sk: '{ISO time}#{id}', id, time, deviceId?, deviceStage?: '{deviceId}#{stage}',
 *     body: JSON string, truncated?, expiresAt: epoch seconds }
 *
 * One partition per stage, newest first by the sort key; the sparse GSI `byDevice` answers "recent
 * messages of this device in this stage". The body is kept as a JSON string: device payloads may hold
 * keys DynamoDB maps refuse (empty strings) and must come back exactly as sent.
 *
 * Expiry: DynamoDB TTL deletes items some time after `expiresAt` (in AWS); dynalite has no TTL, so
 * reads always filter on `expiresAt > now`, and `sweepExpired()` deletes what is left (the local
 * runtime calls it periodically; in AWS it is unnecessary).
 *
 * Every sample of a stage lands in one partition (about 1,000 writes/s at most): the writer is meant
 * to sample (the inspector needs the latest few hundred, not every message).
 *
 * Bounded per device (issue 14: every flagged message and every rejection is kept, so one noisy device
 * must not fill the table): after a device's samples of a stage grew by `trimEvery` in this store
 * instance, the ones past its newest `keepPerDevice` are deleted (one Query of their keys on `byDevice`,
 * then batch deletes). Several writers (Lambda instances) each trim on their own, so a device holds at
 * most `keepPerDevice` plus `trimEvery` per writer between trims, and the 24 h expiry bounds the rest.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { MESSAGE_ID_PATTERN } from '../../core/contract/identifiers.js';
import {
  MESSAGE_STAGES,
  type MessageSample,
  type MessageSampleInput,
  type MessageSampleStore,
  type MessageStage,
  ValidationError,
} from '../../ports/registry.js';
import { INDEX_NAMES, TTL_ATTRIBUTES } from '../../shared/tables.js';
import { checkDeviceId } from './devices.js';
import { batchWrite, checkLimit, type Item, queryNewest } from './support.js';

export interface MessageSampleStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long a sample is kept. Default 24 h. */
  readonly ttlSeconds?: number;
  /** Bodies larger than this (UTF-8 bytes of their JSON) are replaced by a placeholder. Default 300 KB. */
  readonly maxBodyBytes?: number;
  readonly now?: () => number;
  /** Samples of one device in one stage kept at most (its newest). Default INSPECTOR_KEEP_PER_DEVICE. */
  readonly keepPerDevice?: number;
  /** A device's samples of a stage are trimmed once this many were added by this store. Default 10. */
  readonly trimEvery?: number;
}

/** Newest samples kept per device and stage: the inspector lists at most 200 of a device at once. */
export const INSPECTOR_KEEP_PER_DEVICE = 200;
/** Default `trimEvery` (exported for `npm run cost`, which prices the trims). */
export const INSPECTOR_TRIM_EVERY = 10;
/** Devices whose adds since their last trim are remembered at most (an odd fleet cannot grow it). */
const MAX_TRACKED_DEVICES = 100_000;

export const MAX_SAMPLE_QUERY = 500;
/** Items read at most per `recent` call, so a filter that matches little stays bounded. */
const MAX_ITEMS_EXAMINED = 5_000;
const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');
const TTL = TTL_ATTRIBUTES.messages;

const StoredSample = z.object({
  stage: z.enum(MESSAGE_STAGES),
  id: z.string(),
  time: z.string(),
  deviceId: z.string().optional(),
  body: z.string(),
  truncated: z.boolean().optional(),
});

function checkStage(stage: string): asserts stage is MessageStage {
  if (!(MESSAGE_STAGES as readonly string[]).includes(stage)) {
    throw new ValidationError('invalid stage', [`stage: one of ${MESSAGE_STAGES.join(', ')}`]);
  }
}

function toSample(item: Item): MessageSample {
  const parsed = StoredSample.safeParse(item);
  if (!parsed.success) throw new Error(`stored message sample "${String(item.sk)}" is malformed`);
  const { body, deviceId, truncated, ...rest } = parsed.data;
  return {
    ...rest,
    ...(deviceId === undefined ? {} : { deviceId }),
    body: JSON.parse(body) as unknown,
    ...(truncated ? { truncated } : {}),
  };
}

export class DynamoMessageSampleStore implements MessageSampleStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly ttlSeconds: number;
  private readonly maxBodyBytes: number;
  private readonly now: () => number;
  private readonly keepPerDevice: number;
  private readonly trimEvery: number;
  /** `{deviceId}#{stage}` -> samples added since its last trim. */
  private readonly addsSinceTrim = new Map<string, number>();

  constructor(options: MessageSampleStoreOptions) {
    this.keepPerDevice = options.keepPerDevice ?? INSPECTOR_KEEP_PER_DEVICE;
    this.trimEvery = options.trimEvery ?? INSPECTOR_TRIM_EVERY;
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlSeconds = options.ttlSeconds ?? 24 * 3600;
    this.maxBodyBytes = options.maxBodyBytes ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  async add(stage: MessageStage, sample: MessageSampleInput): Promise<void> {
    checkStage(stage);
    if (!MESSAGE_ID_PATTERN.test(sample.id)) {
      throw new ValidationError('invalid sample id', ['id: 1-128 of A-Z a-z 0-9 _ . : -']);
    }
    if (sample.deviceId !== undefined) checkDeviceId(sample.deviceId);
    if (!Number.isFinite(sample.time) || sample.time < 0 || sample.time > MAX_TIME_MS) {
      throw new ValidationError('invalid time', ['time: epoch milliseconds']);
    }
    let body: string | undefined;
    try {
      body = JSON.stringify(sample.body);
    } catch {
      body = undefined;
    }
    if (body === undefined) throw new ValidationError('invalid sample body', ['body: JSON-compatible data']);
    const sizeBytes = Buffer.byteLength(body, 'utf8');
    const truncated = sizeBytes > this.maxBodyBytes;
    if (truncated) body = JSON.stringify({ truncated: true, sizeBytes });

    const time = new Date(sample.time).toISOString();
    const sk = `${time}#${sample.id}`;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          stage,
          sk,
          id: sample.id,
          time,
          ...(sample.deviceId === undefined
            ? {}
            : { deviceId: sample.deviceId, deviceStage: `${sample.deviceId}#${stage}` }),
          body,
          ...(truncated ? { truncated } : {}),
          // From the write time, not the message time: a device with a wrong clock cannot make its
          // samples expire at once or never.
          [TTL]: Math.floor(this.now() / 1000) + this.ttlSeconds,
        },
      }),
    );
    if (sample.deviceId !== undefined) await this.trimIfDue(`${sample.deviceId}#${stage}`);
  }

  private async trimIfDue(deviceStage: string): Promise<void> {
    const added = (this.addsSinceTrim.get(deviceStage) ?? 0) + 1;
    if (added < this.trimEvery) {
      if (this.addsSinceTrim.size >= MAX_TRACKED_DEVICES) this.addsSinceTrim.clear();
      this.addsSinceTrim.set(deviceStage, added);
      return;
    }
    this.addsSinceTrim.delete(deviceStage);
    await this.trimDevice(deviceStage);
  }

  /** Deletes a device's samples of a stage past its newest `keepPerDevice`; returns how many. */
  async trimDevice(deviceStage: string): Promise<number> {
    let kept = 0;
    const doomed: { stage: string; sk: string }[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX_NAMES.messagesByDevice,
          KeyConditionExpression: 'deviceStage = :deviceStage',
          ExpressionAttributeValues: { ':deviceStage': deviceStage },
          ProjectionExpression: '#stage, sk',
          ExpressionAttributeNames: { '#stage': 'stage' },
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (kept < this.keepPerDevice) kept++;
        else doomed.push({ stage: String(item.stage), sk: String(item.sk) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    await batchWrite(
      this.client,
      this.tableName,
      doomed.map((Key) => ({ DeleteRequest: { Key } })),
    );
    return doomed.length;
  }

  async recent(
    stage: MessageStage,
    query: { readonly deviceId?: string; readonly limit: number },
  ): Promise<MessageSample[]> {
    checkStage(stage);
    checkLimit(query.limit, MAX_SAMPLE_QUERY);
    if (query.deviceId !== undefined) checkDeviceId(query.deviceId);
    const now = Math.floor(this.now() / 1000);
    return queryNewest(
      this.client,
      {
        TableName: this.tableName,
        ...(query.deviceId === undefined
          ? {
              KeyConditionExpression: '#stage = :stage',
              ExpressionAttributeValues: { ':stage': stage, ':now': now },
            }
          : {
              IndexName: INDEX_NAMES.messagesByDevice,
              KeyConditionExpression: 'deviceStage = :deviceStage',
              ExpressionAttributeValues: { ':deviceStage': `${query.deviceId}#${stage}`, ':now': now },
            }),
        FilterExpression: '#expiresAt > :now',
        ExpressionAttributeNames: {
          '#expiresAt': TTL,
          ...(query.deviceId === undefined ? { '#stage': 'stage' } : {}),
        },
      },
      query.limit,
      MAX_ITEMS_EXAMINED,
      toSample,
    );
  }

  /** Deletes expired samples (dynalite has no TTL); returns how many. */
  async sweepExpired(): Promise<number> {
    let deleted = 0;
    for (const stage of MESSAGE_STAGES) {
      let startKey: Item | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#stage = :stage',
            FilterExpression: '#expiresAt <= :now',
            ProjectionExpression: '#stage, sk',
            ExpressionAttributeNames: { '#stage': 'stage', '#expiresAt': TTL },
            ExpressionAttributeValues: { ':stage': stage, ':now': Math.floor(this.now() / 1000) },
            ExclusiveStartKey: startKey,
          }),
        );
        const keys = (page.Items ?? []).map((item) => ({ stage, sk: String(item.sk) }));
        await batchWrite(
          this.client,
          this.tableName,
          keys.map((Key) => ({ DeleteRequest: { Key } })),
        );
        deleted += keys.length;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return deleted;
  }
}
