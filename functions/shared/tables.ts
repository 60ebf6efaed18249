/**
 * DynamoDB table declarations shared by the CDK stack and the local runtime (dynalite): keys, indexes
 * and TTL attributes as plain data. The CDK constructs and the local `CreateTable` inputs are both
 * generated from here, so the two cannot drift. No CDK import: this module also ships in the Lambdas.
 *
 * Key design, one line per table (item layouts are documented in `functions/adapters/dynamodb/`):
 * - deviceTypes: one item per type, PK `typeId`; the alert rules live on the same item (`alertRules`).
 * - applications: one table, three item kinds told apart by the PK prefix and `kind`:
 *   the record (PK = the application's uuid), a name claim per application (PK `name#{lower-case name}`,
 *   the case-insensitive uniqueness guard) and one type-index item per (device type, application)
 *   (PK `type#{typeId}#{uuid}`). Only type-index items carry the `byDeviceType` GSI keys (a sparse
 *   index): partition = the exact typeId, sort = `{status}#{uuid}`, so "active applications of exactly
 *   this type" is one Query with `begins_with(sort, 'active#')` and never a substring match.
 * - devices: PK `deviceId`; GSI `byTypeLastSeen` (deviceType, lastSeen) lists a type's devices, most
 *   recently seen first.
 * - messages: inspector samples; PK `stage`, SK `{ISO time}#{id}`; sparse GSI `byDevice` on
 *   `{deviceId}#{stage}`; TTL on `expiresAt` (epoch seconds).
 * - alerts: PK `deviceId`, SK `{raisedAt ISO}#{alertId}`; GSI `byRaisedAt` on a constant partition for
 *   the newest alerts overall, GSI `bySeverity`; TTL on `expiresAt`.
 * - notifications (issue 15, see the block below TABLES' entries): channels and their deliveries.
 * - ingestMappings (issue 14): one item per mapping, PK `mappingId`; versioned like device types.
 * - pipelineStats: measured per-minute counters for `/api/stats` in AWS; PK `day` (`YYYY-MM-DD`), SK
 *   `minute` (`YYYY-MM-DDTHH:MMZ`), so a window of up to a day is at most two Queries; TTL on
 *   `expiresAt`.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

/** Mirrors CDK's `ProjectionType`: `ALL`, `KEYS_ONLY` or `INCLUDE` with the listed attributes. */
export type IndexProjection =
  | { readonly type: 'ALL' }
  | { readonly type: 'KEYS_ONLY' }
  | { readonly type: 'INCLUDE'; readonly nonKeyAttributes: readonly string[] };

export interface GlobalSecondaryIndexDeclaration {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly projection: IndexProjection;
}

export interface TableDeclaration {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes?: readonly GlobalSecondaryIndexDeclaration[];
  /** Epoch-seconds number attribute that DynamoDB TTL deletes on; readers also filter on it. */
  readonly timeToLiveAttribute?: string;
  /**
   * A DynamoDB stream of new item images (AWS only: dynalite has none, the local runtime reads the
   * topic instead). The alerts table's feeds the notifier (issue 15).
   */
  readonly stream?: 'NEW_IMAGE';
}

/** TTL attribute names (epoch seconds). dynalite has no TTL: readers filter expired items out. */
export const TTL_ATTRIBUTES = {
  messages: 'expiresAt',
  alerts: 'expiresAt',
  pipelineStats: 'expiresAt',
  notifications: 'expiresAt',
  // Data operations (issue 16).
  operations: 'expiresAt',
} as const;

export const INDEX_NAMES = {
  applicationsByDeviceType: 'byDeviceType',
  devicesByTypeLastSeen: 'byTypeLastSeen',
  messagesByDevice: 'byDevice',
  alertsByRaisedAt: 'byRaisedAt',
  alertsBySeverity: 'bySeverity',
} as const;

export const TABLES = {
  deviceTypes: {
    partitionKey: { name: 'typeId', type: 'S' },
  },
  applications: {
    partitionKey: { name: 'applicationId', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: INDEX_NAMES.applicationsByDeviceType,
        partitionKey: { name: 'indexDeviceType', type: 'S' },
        sortKey: { name: 'indexStatusApplication', type: 'S' },
        // The records are the truth: a query returns ids, then the records are read and re-checked.
        projection: { type: 'KEYS_ONLY' },
      },
    ],
  },
  devices: {
    partitionKey: { name: 'deviceId', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: INDEX_NAMES.devicesByTypeLastSeen,
        partitionKey: { name: 'deviceType', type: 'S' },
        sortKey: { name: 'lastSeen', type: 'S' },
        projection: { type: 'ALL' },
      },
    ],
  },
  messages: {
    partitionKey: { name: 'stage', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: INDEX_NAMES.messagesByDevice,
        partitionKey: { name: 'deviceStage', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
        projection: { type: 'ALL' },
      },
    ],
    timeToLiveAttribute: TTL_ATTRIBUTES.messages,
  },
  alerts: {
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalSecondaryIndexes: [
      {
        indexName: INDEX_NAMES.alertsByRaisedAt,
        partitionKey: { name: 'feed', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
        projection: { type: 'ALL' },
      },
      {
        indexName: INDEX_NAMES.alertsBySeverity,
        partitionKey: { name: 'severity', type: 'S' },
        sortKey: { name: 'sk', type: 'S' },
        projection: { type: 'ALL' },
      },
    ],
    timeToLiveAttribute: TTL_ATTRIBUTES.alerts,
    // Notifications (issue 15): the notifier Lambda reads alert INSERTs from this stream.
    stream: 'NEW_IMAGE',
  },
  pipelineStats: {
    partitionKey: { name: 'day', type: 'S' },
    sortKey: { name: 'minute', type: 'S' },
    timeToLiveAttribute: TTL_ATTRIBUTES.pipelineStats,
  },
  // ----- notification channels (issue 15) -------------------------------------------------------
  // Two item kinds, no index (functions/adapters/dynamodb/notification-channels.ts):
  //   channel  { pk: 'channel', sk: channelId, body (JSON, secret included), updatedAt }: a handful of
  //            items in one partition, so listing them is one Query, never a Scan;
  //   delivery { pk: 'delivery#{channelId}', sk: '{event time ISO}#{alertId}', body, expiresAt }: newest
  //            first is a backwards Query; TTL bounds the record (readers filter expired ones).
  notifications: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    timeToLiveAttribute: TTL_ATTRIBUTES.notifications,
  },
  // Ingest mappings (issue 14).
  ingestMappings: {
    partitionKey: { name: 'mappingId', type: 'S' },
  },
  // ----- data operations (issue 16) -------------------------------------------------------------
  // Two item kinds, no index (functions/adapters/dynamodb/operations.ts):
  //   operation   { pk: 'op#{id}', state, body (the progress as JSON), expiresAt }: redrive and replay
  //               progress (`state` also top-level, so a local start-up finds the running ones);
  //   replay lock { pk: 'replay-lock#{deviceType}', replayId, state, leaseUntil }: one replay per type,
  //               claimed with a conditional put. Locally (dynalite) the same table, created like the others.
  operations: {
    partitionKey: { name: 'pk', type: 'S' },
    timeToLiveAttribute: TTL_ATTRIBUTES.operations,
  },
} as const satisfies Record<string, TableDeclaration>;

export type TableKey = keyof typeof TABLES;

/** Physical table names, injected from configuration (CDK generates them in AWS). */
export type TableNames = Readonly<Record<TableKey, string>>;

/** Environment variables that carry the physical table names into the Lambdas. */
export const TABLE_NAME_ENV: Readonly<Record<TableKey, string>> = {
  deviceTypes: 'DEVICE_TYPES_TABLE',
  applications: 'APPLICATIONS_TABLE',
  devices: 'DEVICES_TABLE',
  messages: 'MESSAGES_TABLE',
  alerts: 'ALERTS_TABLE',
  pipelineStats: 'PIPELINE_STATS_TABLE',
  notifications: 'NOTIFICATIONS_TABLE',
  // Ingest mappings (issue 14).
  ingestMappings: 'INGEST_MAPPINGS_TABLE',
  // Data operations (issue 16).
  operations: 'OPERATIONS_TABLE',
};

const TABLE_NAME_PATTERN = /^[a-zA-Z0-9_.-]{3,255}$/;

function toProjection(
  projection: IndexProjection,
): NonNullable<NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number]['Projection']> {
  if (projection.type === 'INCLUDE') {
    return { ProjectionType: 'INCLUDE', NonKeyAttributes: [...projection.nonKeyAttributes] };
  }
  return { ProjectionType: projection.type };
}

/**
 * The `CreateTableCommand` input for a declaration (on-demand billing). TTL is not part of
 * CreateTable: AWS enables it separately (CDK `timeToLiveAttribute`), dynalite has none.
 */
export function createTableInput(name: string, declaration: TableDeclaration): CreateTableCommandInput {
  if (!TABLE_NAME_PATTERN.test(name)) {
    throw new Error(`invalid table name "${name}": use 3-255 characters of a-z, A-Z, 0-9, _, - and .`);
  }
  const attributes = new Map<string, AttributeType>();
  const define = (key: KeyAttribute): void => {
    const known = attributes.get(key.name);
    if (known !== undefined && known !== key.type) {
      throw new Error(
        `table "${name}": attribute "${key.name}" is declared as both ${known} and ${key.type}`,
      );
    }
    attributes.set(key.name, key.type);
  };
  const keySchema = (partitionKey: KeyAttribute, sortKey?: KeyAttribute) => {
    define(partitionKey);
    if (sortKey) define(sortKey);
    return [
      { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
      ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
    ];
  };

  const input: CreateTableCommandInput = {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keySchema(declaration.partitionKey, declaration.sortKey),
  };
  const indexes = declaration.globalSecondaryIndexes ?? [];
  if (indexes.length > 0) {
    input.GlobalSecondaryIndexes = indexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: toProjection(index.projection),
    }));
  }
  input.AttributeDefinitions = [...attributes].map(([AttributeName, AttributeType]) => ({
    AttributeName,
    AttributeType,
  }));
  return input;
}

/**
 * The DynamoDB time-series sink (the default sink in AWS, `--timeseries dynamodb` locally over
 * dynalite). Separate from TABLES: these tables exist only in an environment whose sink is `dynamodb`.
 * Item layouts and the idempotency argument are documented in `functions/adapters/dynamodb/timeseries/`.
 * - timeseriesPoints: one item per (device, message time): PK `deviceId`, SK `sk` (epoch ms zero-padded
 *   to 15 digits, so a range of time is a `BETWEEN`); the readings as `m:<measure>` attributes, merged
 *   with `if_not_exists` (the first value of a (device, measure, time) stays, re-writing changes
 *   nothing); TTL on `expiresAt` from the device type's `retentionDays`.
 * - timeseriesLatest: the newest value of each measure of a device: PK `deviceId`, SK `sk` = the message
 *   kind (one item per device and kind); a write is conditional on each measure being newer than what
 *   the item holds, so an old or redelivered point never wins.
 * - timeseriesRollups: hourly aggregates (count, sum, min, max) per device and hour, all measures in one
 *   item: PK `deviceId`, SK `sk` (the hour's start); computed from the hour's points and written whole
 *   (recomputing is idempotent), fenced by a generation the writer bumps on late data; TTL on `expiresAt`.
 */
export const TIMESERIES_TABLES = {
  timeseriesPoints: {
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    timeToLiveAttribute: 'expiresAt',
  },
  timeseriesLatest: {
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
  },
  timeseriesRollups: {
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    timeToLiveAttribute: 'expiresAt',
  },
} as const satisfies Record<string, TableDeclaration>;

export type TimeseriesTableKey = keyof typeof TIMESERIES_TABLES;

export type TimeseriesTableNames = Readonly<Record<TimeseriesTableKey, string>>;

/** Environment variables that carry the time-series tables' physical names into the Lambdas. */
export const TIMESERIES_TABLE_NAME_ENV: Readonly<Record<TimeseriesTableKey, string>> = {
  timeseriesPoints: 'TIMESERIES_POINTS_TABLE',
  timeseriesLatest: 'TIMESERIES_LATEST_TABLE',
  timeseriesRollups: 'TIMESERIES_ROLLUPS_TABLE',
};
