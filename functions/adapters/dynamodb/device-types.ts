/**
 * Device types in DynamoDB. One item per type, alert rules on the same item (one read serves the API's
 * full definition and the enrichment cache; the rules are small and always used with their type):
 *
 *   { typeId, version, definition: DeviceType, alertRules: AlertRule[], updatedAt }
 *
 * `version` is duplicated at the top level so writes can be conditional on it: every replace is
 * `version = :read` (optimistic concurrency), every create `attribute_not_exists(typeId)`.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isTypeId } from '../../core/contract/identifiers.js';
import { AlertRule, DeviceType } from '../../core/contract/registry.js';
import {
  ConflictError,
  type DeviceTypeInput,
  type DeviceTypeRecord,
  type DeviceTypeStore,
  NotFoundError,
  ValidationError,
  type VersionCheck,
} from '../../ports/registry.js';
import { type Item, isConditionalCheckFailed, scanAll, withoutUndefined } from './support.js';

export interface DeviceTypeStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch ms; injectable for tests. */
  readonly now?: () => number;
}

const AlertRules = z.array(AlertRule);

const StoredDeviceType = z.object({
  typeId: z.string(),
  version: z.number().int(),
  definition: DeviceType,
  alertRules: AlertRules,
  updatedAt: z.string(),
});

export function checkTypeId(typeId: string): void {
  if (!isTypeId(typeId)) {
    throw new ValidationError('invalid device type id', [`typeId: lower snake case, 2-64 characters`]);
  }
}

const issuesOf = (error: z.ZodError, prefix: string): string[] =>
  error.issues.map((issue) => `${[prefix, ...issue.path.map(String)].join('.')}: ${issue.message}`);

function validateInput(input: DeviceTypeInput): { deviceType: DeviceType; alertRules?: AlertRule[] } {
  const deviceType = DeviceType.safeParse(input.deviceType);
  const alertRules = input.alertRules === undefined ? undefined : AlertRules.safeParse(input.alertRules);
  const details = [
    ...(deviceType.success ? [] : issuesOf(deviceType.error, 'deviceType')),
    ...(alertRules === undefined || alertRules.success ? [] : issuesOf(alertRules.error, 'alertRules')),
  ];
  if (!deviceType.success || (alertRules !== undefined && !alertRules.success)) {
    throw new ValidationError('invalid device type', details);
  }
  const ruleIds = new Set<string>();
  for (const rule of alertRules?.data ?? []) {
    if (ruleIds.has(rule.ruleId))
      throw new ValidationError('duplicate rule id', [`alertRules: ${rule.ruleId}`]);
    ruleIds.add(rule.ruleId);
  }
  return alertRules === undefined
    ? { deviceType: deviceType.data }
    : { deviceType: deviceType.data, alertRules: alertRules.data };
}

function toRecord(item: Item): DeviceTypeRecord {
  const parsed = StoredDeviceType.safeParse(item);
  if (!parsed.success) {
    throw new Error(`stored device type "${String(item.typeId)}" is malformed: ${parsed.error.message}`);
  }
  const { definition, alertRules, version, updatedAt } = parsed.data;
  return { deviceType: { ...definition, version }, alertRules, updatedAt };
}

export class DynamoDeviceTypeStore implements DeviceTypeStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: DeviceTypeStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
  }

  async listDeviceTypes(): Promise<DeviceTypeRecord[]> {
    const records = (await scanAll(this.client, this.tableName)).map(toRecord);
    return records.sort((a, b) => (a.deviceType.typeId < b.deviceType.typeId ? -1 : 1));
  }

  async getDeviceType(typeId: string): Promise<DeviceTypeRecord | undefined> {
    checkTypeId(typeId);
    const item = await this.read(typeId);
    return item ? toRecord(item) : undefined;
  }

  async putDeviceType(input: DeviceTypeInput, check: VersionCheck = {}): Promise<DeviceTypeRecord> {
    const valid = validateInput(input);
    const typeId = valid.deviceType.typeId;
    const currentItem = await this.read(typeId);
    const current = currentItem ? toRecord(currentItem) : undefined;
    const currentVersion = current?.deviceType.version;
    if (check.expectedVersion !== undefined && check.expectedVersion !== currentVersion) {
      throw new ConflictError(
        currentVersion === undefined
          ? `device type "${typeId}" does not exist, expected version ${check.expectedVersion}`
          : `device type "${typeId}" is at version ${currentVersion}, not ${check.expectedVersion}`,
        'version_mismatch',
      );
    }
    const record: DeviceTypeRecord = {
      deviceType: { ...valid.deviceType, version: (currentVersion ?? 0) + 1 },
      // Left out, the rules stay: a definition edit must not silently drop the type's alerting.
      alertRules: valid.alertRules ?? current?.alertRules ?? [],
      updatedAt: new Date(this.now()).toISOString(),
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ...(currentVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(typeId)' }
            : {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': currentVersion },
              }),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`device type "${typeId}" was changed concurrently`, 'version_mismatch');
      }
      throw error;
    }
    return record;
  }

  async createDeviceType(input: DeviceTypeInput): Promise<DeviceTypeRecord> {
    const valid = validateInput(input);
    const record: DeviceTypeRecord = {
      deviceType: valid.deviceType,
      alertRules: valid.alertRules ?? [],
      updatedAt: new Date(this.now()).toISOString(),
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(record),
          ConditionExpression: 'attribute_not_exists(typeId)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`device type "${valid.deviceType.typeId}" already exists`, 'already_exists');
      }
      throw error;
    }
    return record;
  }

  async deleteDeviceType(typeId: string, check: VersionCheck = {}): Promise<void> {
    checkTypeId(typeId);
    const current = await this.read(typeId);
    if (!current) throw new NotFoundError('deviceType', typeId);
    const version = toRecord(current).deviceType.version;
    if (check.expectedVersion !== undefined && check.expectedVersion !== version) {
      throw new ConflictError(
        `device type "${typeId}" is at version ${version}, not ${check.expectedVersion}`,
        'version_mismatch',
      );
    }
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { typeId },
          ConditionExpression: '#version = :version',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':version': version },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`device type "${typeId}" was changed concurrently`, 'version_mismatch');
      }
      throw error;
    }
  }

  private async read(typeId: string): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { typeId }, ConsistentRead: true }),
    );
    return result.Item;
  }
}

function toItem(record: DeviceTypeRecord): Item {
  return withoutUndefined({
    typeId: record.deviceType.typeId,
    version: record.deviceType.version,
    definition: record.deviceType,
    alertRules: record.alertRules,
    updatedAt: record.updatedAt,
  });
}
