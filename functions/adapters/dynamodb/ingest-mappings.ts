/**
 * Ingest mappings in DynamoDB (issue 14), one item per mapping, laid out like device types:
 *
 *   { mappingId, version, definition: IngestMapping, updatedAt }
 *
 * `version` is duplicated at the top level so every replace is conditional on the version read
 * (optimistic concurrency) and every create on `attribute_not_exists(mappingId)`. A definition is
 * stored only once it compiles (contract, segment names), so enrichment never meets a broken one.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { SLUG_PATTERN } from '../../core/contract/identifiers.js';
import { IngestMapping, type IngestMappingInput } from '../../core/contract/ingest-mapping.js';
import { RegistryError } from '../../core/errors.js';
import { compileMappings } from '../../core/ingest-mapping.js';
import type { IngestMappingRecord, IngestMappingStore } from '../../ports/ingest-mappings.js';
import { ConflictError, NotFoundError, ValidationError, type VersionCheck } from '../../ports/registry.js';
import { type Item, isConditionalCheckFailed, scanAll, withoutUndefined } from './support.js';

export interface IngestMappingStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch ms; injectable for tests. */
  readonly now?: () => number;
}

const StoredMapping = z.object({
  mappingId: z.string(),
  version: z.number().int(),
  definition: IngestMapping,
  updatedAt: z.string(),
});

export function checkMappingId(mappingId: string): void {
  if (!SLUG_PATTERN.test(mappingId)) {
    throw new ValidationError('invalid ingest mapping id', [
      `mappingId: lower-case letters, digits, - and _, 1-64 characters`,
    ]);
  }
}

function validateInput(input: IngestMappingInput): IngestMapping {
  const parsed = IngestMapping.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      'invalid ingest mapping',
      parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
    );
  }
  try {
    compileMappings([parsed.data]);
  } catch (error) {
    if (error instanceof RegistryError) throw new ValidationError('invalid ingest mapping', [error.message]);
    throw error;
  }
  return parsed.data;
}

function toRecord(item: Item): IngestMappingRecord {
  const parsed = StoredMapping.safeParse(item);
  if (!parsed.success) {
    throw new Error(
      `stored ingest mapping "${String(item.mappingId)}" is malformed: ${parsed.error.message}`,
    );
  }
  const { definition, version, updatedAt } = parsed.data;
  return { mapping: { ...definition, version }, updatedAt };
}

const toItem = (record: IngestMappingRecord): Item =>
  withoutUndefined({
    mappingId: record.mapping.mappingId,
    version: record.mapping.version,
    definition: record.mapping,
    updatedAt: record.updatedAt,
  });

export class DynamoIngestMappingStore implements IngestMappingStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: IngestMappingStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
  }

  async listIngestMappings(): Promise<IngestMappingRecord[]> {
    const records = (await scanAll(this.client, this.tableName)).map(toRecord);
    return records.sort((a, b) => a.mapping.mappingId.localeCompare(b.mapping.mappingId));
  }

  async getIngestMapping(mappingId: string): Promise<IngestMappingRecord | undefined> {
    checkMappingId(mappingId);
    const item = await this.read(mappingId);
    return item ? toRecord(item) : undefined;
  }

  async putIngestMapping(input: IngestMappingInput, check: VersionCheck = {}): Promise<IngestMappingRecord> {
    const valid = validateInput(input);
    const mappingId = valid.mappingId;
    const currentItem = await this.read(mappingId);
    const currentVersion = currentItem ? toRecord(currentItem).mapping.version : undefined;
    if (check.expectedVersion !== undefined && check.expectedVersion !== currentVersion) {
      throw new ConflictError(
        currentVersion === undefined
          ? `ingest mapping "${mappingId}" does not exist, expected version ${check.expectedVersion}`
          : `ingest mapping "${mappingId}" is at version ${currentVersion}, not ${check.expectedVersion}`,
        'version_mismatch',
      );
    }
    const record: IngestMappingRecord = {
      mapping: { ...valid, version: (currentVersion ?? 0) + 1 },
      updatedAt: new Date(this.now()).toISOString(),
    };
    await this.write(
      record,
      currentVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(mappingId)' }
        : {
            ConditionExpression: '#version = :version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': currentVersion },
          },
      `ingest mapping "${mappingId}" was changed concurrently`,
      'version_mismatch',
    );
    return record;
  }

  async createIngestMapping(input: IngestMappingInput): Promise<IngestMappingRecord> {
    const valid = validateInput(input);
    const record: IngestMappingRecord = { mapping: valid, updatedAt: new Date(this.now()).toISOString() };
    await this.write(
      record,
      { ConditionExpression: 'attribute_not_exists(mappingId)' },
      `ingest mapping "${valid.mappingId}" already exists`,
      'already_exists',
    );
    return record;
  }

  async deleteIngestMapping(mappingId: string): Promise<void> {
    checkMappingId(mappingId);
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { mappingId },
          ConditionExpression: 'attribute_exists(mappingId)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new NotFoundError('ingestMapping', mappingId);
      throw error;
    }
  }

  private async write(
    record: IngestMappingRecord,
    condition: Pick<
      ConstructorParameters<typeof PutCommand>[0],
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
    conflict: string,
    reason: 'version_mismatch' | 'already_exists',
  ): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: toItem(record), ...condition }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new ConflictError(conflict, reason);
      throw error;
    }
  }

  private async read(mappingId: string): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { mappingId }, ConsistentRead: true }),
    );
    return result.Item;
  }
}
