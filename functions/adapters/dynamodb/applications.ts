/**
 * Applications in DynamoDB: one table, three item kinds (the PK prefixes cannot collide: a uuid
 * never starts with `name#` or `type#`):
 *
 *   record      { applicationId: uuid, kind: 'application', revision, ...Application }
 *   name claim  { applicationId: 'name#{normalised name}', kind: 'nameClaim', owner: uuid, claimedAt }
 *   type index  { applicationId: 'type#{typeId}#{uuid}', kind: 'typeIndex', owner: uuid,
 *                 indexDeviceType: typeId, indexStatusApplication: '{status}#{uuid}' }
 *
 * A list attribute cannot be an index key, so each (device type, application) pair gets its own
 * type-index item, and only those carry the `byDeviceType` GSI keys (sparse index). A query on the
 * exact type id (with `begins_with(sort, 'active#')` for active ones) yields candidate ids; the records
 * are then read and re-checked, so a stale index item can never leak an application: the record is
 * the only source of truth.
 *
 * No transactions (dynalite has none), so multi-item changes are ordered to fail safe:
 * - Unique names (case-insensitive): the name claim is written first with `attribute_not_exists`;
 *   only its owner may then write a record with that name. It is released when the create fails and
 *   after a rename or delete. A claim left behind by a crash (its owner's record is gone or no longer
 *   has that name) is taken over once it is older than `claimGraceMs`, with a conditional write.
 * - The record is written before its index items and deleted before them: readers re-check the
 *   record, so a crash leaves at worst a missing index item (the application is absent from type
 *   queries until its next update) or an orphan one (ignored).
 * - Records carry a `revision`; every update is conditional on the revision it read, so two
 *   concurrent PATCHes never silently lose one (`ConflictError`, `version_mismatch`).
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { Application } from '../../core/contract/registry.js';
import {
  type ApplicationFilter,
  type ApplicationInput,
  type ApplicationPatch,
  type ApplicationStore,
  type ApplicationSummary,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '../../ports/registry.js';
import { INDEX_NAMES } from '../../shared/tables.js';
import { checkTypeId } from './device-types.js';
import { batchGet, batchWrite, type Item, isConditionalCheckFailed } from './support.js';

export interface ApplicationStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch ms; injectable for tests. */
  readonly now?: () => number;
  /** Age after which an orphaned name claim may be taken over. Default 60 s. */
  readonly claimGraceMs?: number;
}

const ApplicationSummarySchema = Application.omit({ contactEmail: true });
const APPLICATION_FIELDS = Object.keys(Application.shape) as (keyof Application)[];
const PUBLIC_FIELDS = APPLICATION_FIELDS.filter((field) => field !== 'contactEmail');

/** `#f0, #f1, ...` for the public fields: list reads never fetch `contactEmail` at all. */
const PUBLIC_PROJECTION = {
  expression: PUBLIC_FIELDS.map((_, i) => `#f${i}`).join(', '),
  names: Object.fromEntries(PUBLIC_FIELDS.map((field, i) => [`#f${i}`, field])),
};

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RecordMeta = z.object({ revision: z.number().int().min(1) });
const Claim = z.object({ owner: z.string(), claimedAt: z.number() });

export function checkApplicationId(applicationId: string): void {
  if (!UUID_PATTERN.test(applicationId)) {
    throw new ValidationError('invalid application id', ['applicationId: a uuid']);
  }
}

/** The uniqueness key of a name: Unicode-normalised, trimmed, inner spaces collapsed, lower case. */
export const normaliseName = (name: string): string =>
  name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

const nameClaimKey = (name: string) => ({ applicationId: `name#${normaliseName(name)}` });
const typeIndexKey = (typeId: string, applicationId: string) => ({
  applicationId: `type#${typeId}#${applicationId}`,
});

const byName = (a: { name: string; applicationId: string }, b: { name: string; applicationId: string }) =>
  a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || (a.applicationId < b.applicationId ? -1 : 1);

function parseApplication(item: Item): Application {
  const fields = Object.fromEntries(APPLICATION_FIELDS.filter((f) => f in item).map((f) => [f, item[f]]));
  const parsed = Application.safeParse(fields);
  if (!parsed.success) {
    throw new Error(
      `stored application "${String(item.applicationId)}" is malformed: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}

function parseSummary(item: Item): ApplicationSummary {
  const fields = Object.fromEntries(PUBLIC_FIELDS.filter((f) => f in item).map((f) => [f, item[f]]));
  const parsed = ApplicationSummarySchema.safeParse(fields);
  if (!parsed.success) {
    throw new Error(
      `stored application "${String(item.applicationId)}" is malformed: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}

function validate(candidate: unknown): Application {
  const parsed = Application.safeParse(candidate);
  if (!parsed.success) {
    throw new ValidationError(
      'invalid application',
      parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
    );
  }
  // Duplicates would make two identical index items; keep the first occurrence.
  return { ...parsed.data, deviceTypes: [...new Set(parsed.data.deviceTypes)] };
}

export class DynamoApplicationStore implements ApplicationStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;
  private readonly claimGraceMs: number;

  constructor(options: ApplicationStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.claimGraceMs = options.claimGraceMs ?? 60_000;
  }

  async listApplications(filter: ApplicationFilter = {}): Promise<ApplicationSummary[]> {
    if (filter.deviceType !== undefined) {
      checkTypeId(filter.deviceType);
      return this.byDeviceType(filter.deviceType, filter.status);
    }
    const summaries: ApplicationSummary[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ProjectionExpression: PUBLIC_PROJECTION.expression,
          FilterExpression:
            filter.status === undefined ? '#kind = :kind' : '#kind = :kind AND #status = :status',
          ExpressionAttributeNames: {
            ...PUBLIC_PROJECTION.names,
            '#kind': 'kind',
            ...(filter.status === undefined ? {} : { '#status': 'status' }),
          },
          ExpressionAttributeValues: {
            ':kind': 'application',
            ...(filter.status === undefined ? {} : { ':status': filter.status }),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) summaries.push(parseSummary(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return summaries.sort(byName);
  }

  async getApplication(applicationId: string): Promise<Application | undefined> {
    checkApplicationId(applicationId);
    const item = await this.readRecord(applicationId);
    return item ? parseApplication(item) : undefined;
  }

  async activeApplicationsFor(typeId: string): Promise<ApplicationSummary[]> {
    checkTypeId(typeId);
    return this.byDeviceType(typeId, 'active');
  }

  async createApplication(input: ApplicationInput): Promise<Application> {
    const time = new Date(this.now()).toISOString();
    const application = validate({
      ...input,
      applicationId: input.applicationId ?? randomUUID(),
      status: input.status ?? 'active',
      createdAt: input.createdAt ?? time,
      updatedAt: input.updatedAt ?? time,
    });
    const id = application.applicationId;
    const claimed = await this.claimName(application.name, id);
    const release = () => (claimed ? this.releaseName(application.name, id) : Promise.resolve());
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toRecordItem(application, 1),
          ConditionExpression: 'attribute_not_exists(applicationId)',
        }),
      );
    } catch (error) {
      await release();
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(`application "${id}" already exists`, 'already_exists');
      }
      throw error;
    }
    try {
      await this.writeIndex(application, []);
    } catch (error) {
      // Best-effort undo, so a failed create can be retried as a whole.
      await this.deleteRecord(id, 1).catch(() => undefined);
      await release();
      throw error;
    }
    return application;
  }

  async updateApplication(applicationId: string, patch: ApplicationPatch): Promise<Application> {
    checkApplicationId(applicationId);
    const item = await this.readRecord(applicationId);
    if (!item) throw new NotFoundError('application', applicationId);
    const current = parseApplication(item);
    const { revision } = RecordMeta.parse(item);

    // Only the fields present in the patch change; `undefined` means "left out", not "remove".
    const changes = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const next = validate({
      ...current,
      ...changes,
      applicationId,
      createdAt: current.createdAt,
      updatedAt: new Date(Math.max(this.now(), Date.parse(current.updatedAt))).toISOString(),
    });
    const renamed = normaliseName(next.name) !== normaliseName(current.name);
    const claimed = renamed && (await this.claimName(next.name, applicationId));
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toRecordItem(next, revision + 1),
          ConditionExpression: 'revision = :revision',
          ExpressionAttributeValues: { ':revision': revision },
        }),
      );
    } catch (error) {
      if (claimed) await this.releaseName(next.name, applicationId);
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(
          `application "${applicationId}" was changed concurrently`,
          'version_mismatch',
        );
      }
      throw error;
    }
    await this.writeIndex(next, current.deviceTypes);
    if (renamed) await this.releaseName(current.name, applicationId);
    return next;
  }

  async deleteApplication(applicationId: string): Promise<void> {
    checkApplicationId(applicationId);
    const item = await this.readRecord(applicationId);
    if (!item) throw new NotFoundError('application', applicationId);
    const current = parseApplication(item);
    const { revision } = RecordMeta.parse(item);
    try {
      await this.deleteRecord(applicationId, revision);
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new ConflictError(
          `application "${applicationId}" was changed concurrently`,
          'version_mismatch',
        );
      }
      throw error;
    }
    await batchWrite(
      this.client,
      this.tableName,
      current.deviceTypes.map((typeId) => ({ DeleteRequest: { Key: typeIndexKey(typeId, applicationId) } })),
    );
    await this.releaseName(current.name, applicationId);
  }

  // -------------------------------------------------------------------------------------------------

  private async byDeviceType(
    typeId: string,
    status: Application['status'] | undefined,
  ): Promise<ApplicationSummary[]> {
    const ids = new Set<string>();
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX_NAMES.applicationsByDeviceType,
          KeyConditionExpression:
            status === undefined
              ? 'indexDeviceType = :typeId'
              : 'indexDeviceType = :typeId AND begins_with(indexStatusApplication, :status)',
          ExpressionAttributeValues: {
            ':typeId': typeId,
            ...(status === undefined ? {} : { ':status': `${status}#` }),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const sort = item.indexStatusApplication;
        if (typeof sort !== 'string') continue;
        const id = sort.slice(sort.indexOf('#') + 1);
        if (UUID_PATTERN.test(id)) ids.add(id);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const records = await batchGet(
      this.client,
      this.tableName,
      [...ids].map((applicationId) => ({ applicationId })),
      PUBLIC_PROJECTION,
    );
    return records
      .map(parseSummary)
      .filter((app) => app.deviceTypes.includes(typeId) && (status === undefined || app.status === status))
      .sort(byName);
  }

  private async readRecord(applicationId: string): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { applicationId }, ConsistentRead: true }),
    );
    return result.Item?.kind === 'application' ? result.Item : undefined;
  }

  private deleteRecord(applicationId: string, revision: number): Promise<unknown> {
    return this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { applicationId },
        ConditionExpression: 'revision = :revision',
        ExpressionAttributeValues: { ':revision': revision },
      }),
    );
  }

  /** Puts an index item for every current type (status may have changed) and deletes the dropped ones. */
  private async writeIndex(application: Application, previousTypes: readonly string[]): Promise<void> {
    const id = application.applicationId;
    const dropped = previousTypes.filter((typeId) => !application.deviceTypes.includes(typeId));
    await batchWrite(this.client, this.tableName, [
      ...application.deviceTypes.map((typeId) => ({
        PutRequest: {
          Item: {
            ...typeIndexKey(typeId, id),
            kind: 'typeIndex',
            owner: id,
            indexDeviceType: typeId,
            indexStatusApplication: `${application.status}#${id}`,
          },
        },
      })),
      ...dropped.map((typeId) => ({ DeleteRequest: { Key: typeIndexKey(typeId, id) } })),
    ]);
  }

  /** Claims the name for `owner`: true when newly claimed, false when `owner` already held it. */
  private async claimName(name: string, owner: string): Promise<boolean> {
    const key = nameClaimKey(name);
    const duplicate = () =>
      new ConflictError(
        `an application named "${name}" already exists (names ignore letter case)`,
        'duplicate_name',
      );
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, kind: 'nameClaim', owner, claimedAt: this.now() },
            ConditionExpression: 'attribute_not_exists(applicationId)',
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const found = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      if (!found.Item) continue; // released in between: try again
      const claim = Claim.parse(found.Item);
      if (claim.owner === owner) return false; // a retried create or update of the same application
      if (this.now() - claim.claimedAt < this.claimGraceMs) throw duplicate();
      const ownerItem = UUID_PATTERN.test(claim.owner) ? await this.readRecord(claim.owner) : undefined;
      if (ownerItem && normaliseName(parseApplication(ownerItem).name) === normaliseName(name))
        throw duplicate();
      // An orphan left by a crash: take it over, unless someone else changed it meanwhile.
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, kind: 'nameClaim', owner, claimedAt: this.now() },
            ConditionExpression: '#owner = :owner AND claimedAt = :claimedAt',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': claim.owner, ':claimedAt': claim.claimedAt },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionalCheckFailed(error)) throw duplicate();
        throw error;
      }
    }
    throw duplicate();
  }

  /** Deletes the claim if `owner` still holds it; a claim someone else holds is left alone. */
  private async releaseName(name: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: nameClaimKey(name),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

function toRecordItem(application: Application, revision: number): Item {
  const item: Item = { kind: 'application', revision };
  for (const field of APPLICATION_FIELDS) {
    if (application[field] !== undefined) item[field] = application[field];
  }
  return item;
}
