/**
 * Devices seen, in DynamoDB: `{ deviceId, deviceType, firstSeen, lastSeen, messageCount, online?,
 * "seen:{path}"? }`, times as ISO 8601 UTC with milliseconds (fixed width, so they sort as strings).
 * The GSI `byTypeLastSeen` (deviceType, lastSeen, projecting every attribute) lists the devices of one
 * type, most recently seen first.
 *
 * `recordSeen` is one conditional UpdateItem per batch and device (no read first). Messages can arrive
 * out of order, and an update expression has no min/max, so:
 *  1. newest so far: `SET lastSeen = :t, firstSeen = if_not_exists(firstSeen, :t) ADD messageCount`,
 *     on condition `attribute_not_exists(lastSeen) OR lastSeen <= :t`;
 *  2. otherwise, older than the first seen: `SET firstSeen = :t ADD messageCount`, on `firstSeen > :t`;
 *  3. otherwise: `ADD messageCount` only.
 * Each step is atomic and only one applies, so the count is added exactly once per call.
 *
 * Issue 15: the watched readings' times (`seen:{path}`, one top-level attribute per reading: a nested
 * map could not be created and written in the same update) ride on step 1, each guarded in its
 * condition (`attribute_not_exists(seen:p) OR seen:p <= :p`), so the usual batch (newer than the
 * record in every way) stays one UpdateItem and no reading's time moves back. When that condition
 * fails (an out-of-order batch: older than the record, or carrying a reading older than the one
 * stored), the device fields take steps 1-3 as before and each reading then gets its own conditional
 * update (`SET seen:p = :p` on `seen:p < :p`): exact, and paid only by out-of-order batches.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isDeviceId, isTypeId, MEASUREMENT_PATH_PATTERN } from '../../core/contract/identifiers.js';
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

type UpdateInput = Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>;

export interface DeviceStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

export const MAX_DEVICE_PAGE = 1000;
/** The attribute prefix of a watched reading's last-seen time: `seen:{path}`. */
export const READING_SEEN_PREFIX = 'seen:';
/**
 * Readings guarded inside step 1; more go through their own updates. Each adds about 50 characters to
 * the condition, and an expression may be 4 KB at most:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-expression-parameters
 */
const MAX_READINGS_IN_STEP_ONE = 48;
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
  const readingsSeen: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(READING_SEEN_PREFIX) && typeof value === 'string' && ISO_MS.test(value))
      readingsSeen[name.slice(READING_SEEN_PREFIX.length)] = value;
  }
  return {
    ...rest,
    ...(online === undefined ? {} : { online }),
    ...(Object.keys(readingsSeen).length > 0 ? { readingsSeen } : {}),
  };
}

const isoTime = (time: number, field: string): string => {
  if (!Number.isFinite(time) || time < 0 || time > MAX_TIME_MS) {
    throw new ValidationError('invalid time', [`${field}: epoch milliseconds`]);
  }
  return new Date(time).toISOString();
};

/** A watched reading's time, checked: a measurement path, and no later than the batch's newest message. */
function readingsOf(update: SeenUpdate): [path: string, time: string][] {
  return Object.entries(update.readingsSeen ?? {}).map(([path, time]) => {
    if (!MEASUREMENT_PATH_PATTERN.test(path)) {
      throw new ValidationError('invalid reading path', ['readingsSeen: keys are measurement paths']);
    }
    if (time > update.time) {
      throw new ValidationError('invalid reading time', ['readingsSeen: times are at most `time`']);
    }
    return [path, isoTime(time, `readingsSeen.${path}`)];
  });
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
    const time = isoTime(update.time, 'time');
    if (!Number.isInteger(update.count) || update.count < 0) {
      throw new ValidationError('invalid count', ['count: a non-negative integer']);
    }
    const readings = readingsOf(update);
    const inStepOne = readings.slice(0, MAX_READINGS_IN_STEP_ONE);
    if (inStepOne.length > 0 && (await this.tryUpdate(this.newestUpdate(update, time, inStepOne)))) {
      await this.raiseReadings(update.deviceId, readings.slice(MAX_READINGS_IN_STEP_ONE));
      return;
    }
    await this.recordDeviceSeen(update, time);
    await this.raiseReadings(update.deviceId, readings);
  }

  /** Step 1: the batch is the newest seen; with `readings`, each of them is too. */
  private newestUpdate(update: SeenUpdate, time: string, readings: readonly [string, string][]): UpdateInput {
    const names: Record<string, string> = {
      '#type': 'deviceType',
      '#last': 'lastSeen',
      '#first': 'firstSeen',
      '#count': 'messageCount',
    };
    const values: Record<string, unknown> = {
      ':type': update.deviceType,
      ':time': time,
      ':count': update.count,
    };
    const sets = ['#type = :type', '#last = :time', '#first = if_not_exists(#first, :time)'];
    const conditions = ['(attribute_not_exists(#last) OR #last <= :time)'];
    if (update.online !== undefined) {
      names['#online'] = 'online';
      values[':online'] = update.online;
      sets.push('#online = :online');
    }
    readings.forEach(([path, seen], i) => {
      names[`#r${i}`] = `${READING_SEEN_PREFIX}${path}`;
      values[`:r${i}`] = seen;
      sets.push(`#r${i} = :r${i}`);
      conditions.push(`(attribute_not_exists(#r${i}) OR #r${i} <= :r${i})`);
    });
    return {
      Key: { deviceId: update.deviceId },
      UpdateExpression: `SET ${sets.join(', ')} ADD #count :count`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /** Steps 1-3 of the header for the device's own fields: the count is added exactly once. */
  private async recordDeviceSeen(update: SeenUpdate, time: string): Promise<void> {
    const key = { deviceId: update.deviceId };
    const count = { ':count': update.count };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.tryUpdate(this.newestUpdate(update, time, []))) return;
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

  /**
   * Moves each reading's time forward, never back: one conditional update per reading (a failed
   * condition means a time as new or newer is stored). Only on an existing record: a reading alone
   * would make a record with no type or times.
   */
  private async raiseReadings(deviceId: string, readings: readonly [string, string][]): Promise<void> {
    for (const [path, seen] of readings) {
      await this.tryUpdate({
        Key: { deviceId },
        UpdateExpression: 'SET #reading = :seen',
        ConditionExpression:
          'attribute_exists(#last) AND (attribute_not_exists(#reading) OR #reading < :seen)',
        ExpressionAttributeNames: { '#reading': `${READING_SEEN_PREFIX}${path}`, '#last': 'lastSeen' },
        ExpressionAttributeValues: { ':seen': seen },
      });
    }
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

  private async tryUpdate(input: UpdateInput): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({ ...input, TableName: this.tableName }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
