/**
 * Devices seen, in DynamoDB: `{ deviceId, deviceType, firstSeen, lastSeen, messageCount, online? }`,
 * times as ISO 8601 UTC with milliseconds (fixed width, so they sort as strings). The GSI
 * `byTypeLastSeen` (deviceType, lastSeen) lists the devices of one type, most recently seen first.
 *
 * `recordSeen` is one conditional UpdateItem per batch and device (no read first). Messages can arrive
 * out of order, and an update expression has no min/max, so:
 *  1. newest so far: `SET lastSeen = :t, firstSeen = if_not_exists(firstSeen, :t) ADD messageCount`,
 *     on condition `attribute_not_exists(lastSeen) OR lastSeen <= :t`;
 *  2. otherwise, older than the first seen: `SET firstSeen = :t ADD messageCount`, on `firstSeen > :t`;
 *  3. otherwise: `ADD messageCount` only.
 * Each step is atomic and only one applies, so the count is added exactly once per call.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isDeviceId, isTypeId } from '../../core/contract/identifiers.js';
import {
  type DeviceListQuery,
  type DeviceRecord,
  type DeviceStore,
  type Page,
  type SeenUpdate,
  ValidationError,
} from '../../ports/registry.js';
import { INDEX_NAMES } from '../../shared/tables.js';
import { checkTypeId } from './device-types.js';
import {
  checkLimit,
  decodeCursor,
  encodeCursor,
  type Item,
  isConditionalCheckFailed,
  type Key,
  pickKey,
} from './support.js';

export interface DeviceStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

export const MAX_DEVICE_PAGE = 1000;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

const StoredDevice = z.object({
  deviceId: z.string(),
  deviceType: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  messageCount: z.number(),
  online: z.boolean().optional(),
});

export function checkDeviceId(deviceId: string): void {
  if (!isDeviceId(deviceId)) {
    throw new ValidationError('invalid device id', [
      'deviceId: 1-128 of A-Z a-z 0-9 _ . : -, not starting with a symbol',
    ]);
  }
}

function toRecord(item: Item): DeviceRecord {
  const parsed = StoredDevice.safeParse(item);
  if (!parsed.success) throw new Error(`stored device "${String(item.deviceId)}" is malformed`);
  const { online, ...rest } = parsed.data;
  return online === undefined ? rest : { ...rest, online };
}

export class DynamoDeviceStore implements DeviceStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DeviceStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async recordSeen(update: SeenUpdate): Promise<void> {
    checkDeviceId(update.deviceId);
    checkTypeId(update.deviceType);
    if (!Number.isFinite(update.time) || update.time < 0 || update.time > MAX_TIME_MS) {
      throw new ValidationError('invalid time', ['time: epoch milliseconds']);
    }
    if (!Number.isInteger(update.count) || update.count < 0) {
      throw new ValidationError('invalid count', ['count: a non-negative integer']);
    }
    const time = new Date(update.time).toISOString();
    const key = { deviceId: update.deviceId };
    const count = { ':count': update.count };

    for (let attempt = 0; attempt < 3; attempt++) {
      const newest = await this.tryUpdate({
        Key: key,
        UpdateExpression: `SET #type = :type, #last = :time, #first = if_not_exists(#first, :time)${
          update.online === undefined ? '' : ', #online = :online'
        } ADD #count :count`,
        ConditionExpression: 'attribute_not_exists(#last) OR #last <= :time',
        ExpressionAttributeNames: {
          '#type': 'deviceType',
          '#last': 'lastSeen',
          '#first': 'firstSeen',
          '#count': 'messageCount',
          ...(update.online === undefined ? {} : { '#online': 'online' }),
        },
        ExpressionAttributeValues: {
          ':type': update.deviceType,
          ':time': time,
          ...count,
          ...(update.online === undefined ? {} : { ':online': update.online }),
        },
      });
      if (newest) return;
      const earliest = await this.tryUpdate({
        Key: key,
        UpdateExpression: 'SET #first = :time ADD #count :count',
        ConditionExpression: '#first > :time',
        ExpressionAttributeNames: { '#first': 'firstSeen', '#count': 'messageCount' },
        ExpressionAttributeValues: { ':time': time, ...count },
      });
      if (earliest) return;
      const between = await this.tryUpdate({
        Key: key,
        UpdateExpression: 'ADD #count :count',
        ConditionExpression: 'attribute_exists(#first) AND #first <= :time',
        ExpressionAttributeNames: { '#first': 'firstSeen', '#count': 'messageCount' },
        ExpressionAttributeValues: { ':time': time, ...count },
      });
      if (between) return;
      // The item changed between the steps (deleted, or a concurrent write moved the bounds): retry.
    }
    throw new Error(`device "${update.deviceId}": recordSeen kept racing with concurrent writes`);
  }

  async getDevice(deviceId: string): Promise<DeviceRecord | undefined> {
    checkDeviceId(deviceId);
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { deviceId }, ConsistentRead: true }),
    );
    return result.Item ? toRecord(result.Item) : undefined;
  }

  async listDevices(query: DeviceListQuery): Promise<Page<DeviceRecord>> {
    checkLimit(query.limit, MAX_DEVICE_PAGE);
    const { deviceType, limit } = query;
    if (deviceType !== undefined) checkTypeId(deviceType);
    const keyAttributes = deviceType === undefined ? ['deviceId'] : ['deviceId', 'deviceType', 'lastSeen'];
    const startKey =
      query.cursor === undefined
        ? undefined
        : decodeCursor(query.cursor, {
            deviceId: isDeviceId,
            ...(deviceType === undefined
              ? {}
              : {
                  deviceType: (value: unknown) => value === deviceType && isTypeId(value),
                  lastSeen: (value: unknown) => typeof value === 'string' && ISO_MS.test(value),
                }),
          });

    // One more than asked: a full extra item proves there is a next page, so the last page never
    // carries a cursor that leads to an empty page.
    const page =
      deviceType === undefined
        ? await this.client.send(
            new ScanCommand({ TableName: this.tableName, Limit: limit + 1, ExclusiveStartKey: startKey }),
          )
        : await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: INDEX_NAMES.devicesByTypeLastSeen,
              KeyConditionExpression: 'deviceType = :type',
              ExpressionAttributeValues: { ':type': deviceType },
              ScanIndexForward: false,
              Limit: limit + 1,
              ExclusiveStartKey: startKey,
            }),
          );
    const items = page.Items ?? [];
    let next: Key | undefined;
    if (items.length > limit) next = pickKey(items[limit - 1] as Item, keyAttributes);
    else if (page.LastEvaluatedKey) next = pickKey(page.LastEvaluatedKey, keyAttributes);
    const devices = items.slice(0, limit).map(toRecord);
    return next ? { items: devices, nextCursor: encodeCursor(next) } : { items: devices };
  }

  private async tryUpdate(
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>,
  ): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({ ...input, TableName: this.tableName }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
