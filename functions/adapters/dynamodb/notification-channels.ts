/**
 * Notification channels and their deliveries in the `notifications` table (functions/shared/tables.ts):
 *
 *   channel   { pk: 'channel', sk: channelId, body: JSON of the channel (secret included), updatedAt }
 *   delivery  { pk: 'delivery#{channelId}', sk: '{event time ISO}#{alertId}', body: JSON, expiresAt }
 *
 * Channels are few (MAX_CHANNELS), so they share one partition and listing them is one Query. A
 * channel's deliveries are a partition of their own read backwards (newest first); the same
 * (channel, event) written twice lands on the same key and replaces the earlier outcome. The record is
 * bounded by TTL (DELIVERY_RETENTION_SECONDS; dynalite has no TTL, so readers filter expired items)
 * and by the read limit. Secrets are stored encrypted at rest with the table (AWS managed key) and
 * never leave this module except to the senders; the API shows `secretSet` instead.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  CHANNEL_ID_PATTERN,
  NotificationChannel,
  NotificationDelivery,
  type StoredNotificationChannel,
} from '../../core/contract/notification-channel.js';
import type { NotificationChannelStore } from '../../ports/notifications.js';
import { ValidationError } from '../../ports/registry.js';
import { TTL_ATTRIBUTES } from '../../shared/tables.js';
import { batchWrite, checkLimit, type Item, queryNewest } from './support.js';

export interface NotificationChannelStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long a delivery stays in the record. @default DELIVERY_RETENTION_SECONDS */
  readonly deliveryRetentionSeconds?: number;
  readonly now?: () => number;
}

/** A week of deliveries per channel. */
export const DELIVERY_RETENTION_SECONDS = 7 * 24 * 3600;
export const MAX_DELIVERIES_QUERY = 100;
/** Channels are configuration, not data: a bound keeps the notifier's fan-out and the list small. */
export const MAX_CHANNELS = 100;

const CHANNEL_PARTITION = 'channel';
const deliveryPartition = (channelId: string) => `delivery#${channelId}`;
const TTL = TTL_ATTRIBUTES.notifications;

function checkChannelId(channelId: string): void {
  if (!CHANNEL_ID_PATTERN.test(channelId)) {
    throw new ValidationError('invalid channel id', [`channelId: must match ${CHANNEL_ID_PATTERN.source}`]);
  }
}

export class DynamoNotificationChannelStore implements NotificationChannelStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(options: NotificationChannelStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = options.deliveryRetentionSeconds ?? DELIVERY_RETENTION_SECONDS;
    this.now = options.now ?? Date.now;
  }

  async put(channelId: string, channel: NotificationChannel) {
    checkChannelId(channelId);
    const definition = NotificationChannel.parse(channel);
    const existing = await this.get(channelId);
    if (!existing && (await this.list()).length >= MAX_CHANNELS) {
      throw new ValidationError('too many channels', [`channelId: at most ${MAX_CHANNELS} channels`]);
    }
    const updatedAt = new Date(this.now()).toISOString();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: CHANNEL_PARTITION, sk: channelId, body: JSON.stringify(definition), updatedAt },
      }),
    );
    return { channel: { ...definition, channelId, updatedAt }, created: existing === undefined };
  }

  async get(channelId: string): Promise<StoredNotificationChannel | undefined> {
    checkChannelId(channelId);
    const found = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: CHANNEL_PARTITION, sk: channelId },
        ConsistentRead: true,
      }),
    );
    return found.Item ? toChannel(found.Item) : undefined;
  }

  async list(): Promise<StoredNotificationChannel[]> {
    const channels: StoredNotificationChannel[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': CHANNEL_PARTITION },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) channels.push(toChannel(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return channels;
  }

  async delete(channelId: string): Promise<boolean> {
    checkChannelId(channelId);
    const removed = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: CHANNEL_PARTITION, sk: channelId },
        ReturnValues: 'ALL_OLD',
      }),
    );
    // Its deliveries go with it (a channel of the same id created later starts with an empty record).
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': deliveryPartition(channelId) },
          ProjectionExpression: '#pk, #sk',
          ExclusiveStartKey: startKey,
        }),
      );
      const keys = (page.Items ?? []).map((item) => ({
        DeleteRequest: { Key: { pk: item.pk, sk: item.sk } },
      }));
      if (keys.length > 0) await batchWrite(this.client, this.tableName, keys);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return removed.Attributes !== undefined;
  }

  async recordDelivery(delivery: NotificationDelivery): Promise<void> {
    const valid = NotificationDelivery.parse(delivery);
    checkChannelId(valid.channelId);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: deliveryPartition(valid.channelId),
          sk: `${valid.eventAt}#${valid.alertId}`,
          body: JSON.stringify(valid),
          [TTL]: Math.floor(this.now() / 1000) + this.retentionSeconds,
        },
      }),
    );
  }

  async deliveries(channelId: string, limit: number): Promise<NotificationDelivery[]> {
    checkChannelId(channelId);
    checkLimit(limit, MAX_DELIVERIES_QUERY);
    return queryNewest(
      this.client,
      {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        FilterExpression: '#expiresAt > :now',
        ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': TTL },
        ExpressionAttributeValues: {
          ':pk': deliveryPartition(channelId),
          ':now': Math.floor(this.now() / 1000),
        },
      },
      limit,
      MAX_DELIVERIES_QUERY * 10,
      (item) => NotificationDelivery.parse(JSON.parse(String(item.body))),
    );
  }
}

function toChannel(item: Item): StoredNotificationChannel {
  const parsed = NotificationChannel.safeParse(JSON.parse(String(item.body)));
  if (!parsed.success) throw new Error(`stored notification channel "${String(item.sk)}" is malformed`);
  return { ...parsed.data, channelId: String(item.sk), updatedAt: String(item.updatedAt) };
}
