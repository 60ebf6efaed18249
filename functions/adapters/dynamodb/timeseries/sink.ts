/**
 * The DynamoDB time-series sink: a batch of points -> the points, latest and rollups tables
 * (item layouts, idempotency and write units: README.md in this folder).
 *
 * 1. Points: one UpdateItem per (device, message time), `SET m:<measure> = if_not_exists(...)` and
 *    `ADD suspect`. UpdateItem rather than BatchWriteItem because a PutRequest replaces the whole item:
 *    two messages of one device at the same millisecond (telemetry and status, say) must merge, and a
 *    measure already stored must keep its first value, as DuckDB keeps the first point of a key. The
 *    write units are the same (each item is billed on its own in a batch too); only round trips differ,
 *    so calls run concurrently (WRITE_CONCURRENCY). Throttling is retried by the SDK (standard mode,
 *    backoff); a call that still fails fails the batch, which the event source retries: harmless, since
 *    every write here is idempotent.
 * 2. Rollups: each (device, hour) the batch wrote into that is already closed gets `ADD gen 1` on its
 *    rollup item, after the points are stored, so a rollup computed without them is no longer taken as
 *    valid (rollup.ts fences its Put on `gen`). On every write, not only new points: a retried batch
 *    whose first attempt stored the points but died before this step still invalidates.
 * 3. Latest: the batch is coalesced to one update per (device, message kind), newest point of each
 *    measure, each measure guarded by `attribute_not_exists(m) OR m.t < :t`. A failed condition means
 *    some measure is already as new: the item is read and only the newer measures are written again.
 * A replay's `rewrite` (issue 16), which replaces points rather than keeping the first: rewrite.ts.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { EnrichedMessage } from '../../../core/contract/messages.js';
import type { TimeSeriesPoint } from '../../../core/timeseries.js';
import type { MessagePointKey, TimeseriesSink } from '../../../ports/timeseries.js';
import { forEachLimited, isConditionalCheckFailed } from '../support.js';
import {
  EXPIRES_AT,
  expiresAtSeconds,
  GENERATION,
  HOUR_MS,
  hourStart,
  measureAttribute,
  PK,
  SK,
  SUSPECT,
  type TimeseriesTableNamesOf,
  timeKey,
} from './layout.js';
import { type RewriteTarget, rewriteMessagePoints } from './rewrite.js';
import {
  type ConsumedCapacity,
  checkPoint,
  chunks,
  isKeyTime,
  type LatestCandidate,
  latestEntry,
  MEASURES_PER_UPDATE,
  retentionLookup,
  WRITE_CONCURRENCY,
} from './writes.js';

export { type ConsumedCapacity, MEASURES_PER_UPDATE, WRITE_CONCURRENCY } from './writes.js';

/** Read-and-retry rounds of a latest update whose condition keeps failing (each round makes progress). */
const LATEST_ATTEMPTS = 5;

export interface DynamoTimeseriesSinkOptions {
  /** A document client from `timeseriesDocumentClient` (layout.ts). */
  readonly client: DynamoDBDocumentClient;
  readonly tables: TimeseriesTableNamesOf;
  readonly now?: () => number;
  /** When given, every write asks for `ReturnConsumedCapacity: TOTAL` and reports it here. */
  readonly onConsumedCapacity?: (capacity: ConsumedCapacity) => void;
  /** Told of each latest update refused because the item was already as new (not an error). */
  readonly onStaleLatest?: () => void;
  /**
   * Told of points not stored because their time is before 1970 or past the key range (a device clock
   * gone wrong; their messages stay in the enriched stream). Without it they would fail every retry.
   */
  readonly onUnstorableTime?: (points: readonly TimeSeriesPoint[]) => void;
}

const latestTime = (stored: unknown): number | undefined =>
  Array.isArray(stored) && typeof stored[1] === 'number' ? stored[1] : undefined;

export class DynamoTimeseriesSink implements TimeseriesSink {
  private readonly client: DynamoDBDocumentClient;
  private readonly tables: TimeseriesTableNamesOf;
  private readonly now: () => number;

  constructor(private readonly options: DynamoTimeseriesSinkOptions) {
    this.client = options.client;
    this.tables = options.tables;
    this.now = options.now ?? Date.now;
  }

  /**
   * Stores the points, resolving once all three tables have them. `messages` give each device's
   * retention (`device_metadata.retention_days`); a device without one gets DEFAULT_RETENTION_DAYS.
   * BAD points are never stored (the core does not make them; a stray one is dropped here too).
   */
  async write(points: readonly TimeSeriesPoint[], messages: readonly EnrichedMessage[] = []): Promise<void> {
    points.forEach(checkPoint);
    const unstorable = points.filter((p) => !isKeyTime(p.time));
    if (unstorable.length > 0) this.options.onUnstorableTime?.(unstorable);
    const stored = points.filter(
      (p) => (p.quality === 'GOOD' || p.quality === 'SUSPECT') && isKeyTime(p.time),
    );
    if (stored.length === 0) return;
    const retentionOf = retentionLookup(messages);

    // Points, grouped per item (device, time), each measure once: a batch may hold a message twice, and
    // one update expression cannot set an attribute twice (DynamoDB refuses overlapping paths).
    const items = new Map<string, Map<string, TimeSeriesPoint>>();
    for (const point of stored) {
      const key = `${point.deviceId}\u0000${point.time}`;
      let group = items.get(key);
      if (!group) {
        group = new Map();
        items.set(key, group);
      }
      if (!group.has(point.measure)) group.set(point.measure, point);
    }
    const pointUpdates = [...items.values()].flatMap((group) =>
      chunks([...group.values()], MEASURES_PER_UPDATE).map((part) =>
        this.pointUpdate(part, retentionOf((part[0] as TimeSeriesPoint).deviceId)),
      ),
    );
    await forEachLimited(pointUpdates, WRITE_CONCURRENCY, (input) => this.update(input));

    // Then, with the points stored: invalidate closed hours' rollups, and move latest values forward.
    const closedBefore = hourStart(this.now());
    const hours = new Map<string, { deviceId: string; hour: number }>();
    for (const point of stored) {
      const hour = hourStart(point.time);
      if (hour < closedBefore)
        hours.set(`${point.deviceId}\u0000${hour}`, { deviceId: point.deviceId, hour });
    }
    const invalidations = [...hours.values()].map(({ deviceId, hour }) =>
      this.invalidation(deviceId, hour, retentionOf(deviceId)),
    );
    await Promise.all([
      forEachLimited(invalidations, WRITE_CONCURRENCY, (input) => this.update(input)),
      forEachLimited([...this.latestCandidates(stored)], WRITE_CONCURRENCY, ([key, candidates]) => {
        const [deviceId, kind] = key.split('\u0000') as [string, string];
        return this.advanceLatest(deviceId, kind, candidates);
      }),
    ]);
  }

  /**
   * A replay's rewrite (issue 16): the stored points of each message key (device, kind, time) become
   * exactly `points`, rollups of the hours touched are invalidated and latest values follow
   * (rewrite.ts). `messages` give the devices' retention, as in `write`.
   */
  rewrite(
    points: readonly TimeSeriesPoint[],
    keys: readonly MessagePointKey[],
    messages: readonly EnrichedMessage[] = [],
  ): Promise<void> {
    const target: RewriteTarget = {
      client: this.client,
      tables: this.tables,
      now: this.now,
      update: (input) => this.update(input),
      invalidation: (deviceId, hour, retentionDays) => this.invalidation(deviceId, hour, retentionDays),
      ...(this.options.onUnstorableTime ? { onUnstorableTime: this.options.onUnstorableTime } : {}),
    };
    return rewriteMessagePoints(target, points, keys, messages);
  }

  private pointUpdate(points: readonly TimeSeriesPoint[], retentionDays: number): UpdateCommandInput {
    const first = points[0] as TimeSeriesPoint;
    const names: Record<string, string> = { '#exp': EXPIRES_AT };
    const values: Record<string, unknown> = { ':exp': expiresAtSeconds(first.time, retentionDays) };
    const sets = ['#exp = :exp'];
    const suspect = new Set<string>();
    points.forEach((point, i) => {
      names[`#m${i}`] = measureAttribute(point.measure);
      values[`:v${i}`] = point.value;
      sets.push(`#m${i} = if_not_exists(#m${i}, :v${i})`);
      if (point.quality === 'SUSPECT') suspect.add(point.measure);
    });
    let expression = `SET ${sets.join(', ')}`;
    if (suspect.size > 0) {
      names['#suspect'] = SUSPECT;
      values[':suspect'] = suspect;
      expression += ' ADD #suspect :suspect';
    }
    return {
      TableName: this.tables.points,
      Key: { [PK]: first.deviceId, [SK]: timeKey(first.time) },
      UpdateExpression: expression,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /** `ADD gen 1` on the hour's rollup (creating a placeholder when there is none yet). */
  private invalidation(deviceId: string, hour: number, retentionDays: number): UpdateCommandInput {
    return {
      TableName: this.tables.rollups,
      Key: { [PK]: deviceId, [SK]: timeKey(hour) },
      UpdateExpression: 'ADD #gen :one SET #exp = if_not_exists(#exp, :exp)',
      ExpressionAttributeNames: { '#gen': GENERATION, '#exp': EXPIRES_AT },
      ExpressionAttributeValues: { ':one': 1, ':exp': expiresAtSeconds(hour + HOUR_MS, retentionDays) },
    };
  }

  /** The newest point of each measure, per (device, kind); on a tie the first in the batch wins. */
  private latestCandidates(points: readonly TimeSeriesPoint[]): Map<string, Map<string, LatestCandidate>> {
    const byItem = new Map<string, Map<string, LatestCandidate>>();
    for (const p of points) {
      const key = `${p.deviceId}\u0000${p.kind}`;
      let measures = byItem.get(key);
      if (!measures) {
        measures = new Map();
        byItem.set(key, measures);
      }
      const known = measures.get(p.measure);
      if (!known || p.time > known.time)
        measures.set(p.measure, { measure: p.measure, value: p.value, time: p.time, quality: p.quality });
    }
    return byItem;
  }

  /**
   * Writes the candidates that are newer than what the item holds. Optimistic first: one conditional
   * update; when it fails, the item is read and only the measures still newer are written again.
   */
  private async advanceLatest(
    deviceId: string,
    kind: string,
    candidates: ReadonlyMap<string, LatestCandidate>,
  ): Promise<void> {
    const key = { [PK]: deviceId, [SK]: kind };
    for (const part of chunks([...candidates.values()], MEASURES_PER_UPDATE)) {
      let pending = part;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > LATEST_ATTEMPTS) {
          throw new Error(
            `latest values of ${deviceId} (${kind}) kept changing under ${LATEST_ATTEMPTS} attempts`,
          );
        }
        try {
          await this.update(this.latestUpdate(key, pending));
          break;
        } catch (error) {
          if (!isConditionalCheckFailed(error)) throw error;
          this.options.onStaleLatest?.();
        }
        const { Item } = await this.client.send(
          new GetCommand({
            TableName: this.tables.latest,
            Key: key,
            ConsistentRead: true,
            // Whole entries: a projected list element comes back as a one-element list.
            ProjectionExpression: pending.map((_, i) => `#m${i}`).join(', '),
            ExpressionAttributeNames: Object.fromEntries(
              pending.map((c, i) => [`#m${i}`, measureAttribute(c.measure)]),
            ),
          }),
        );
        pending = pending.filter((c) => {
          const stored = latestTime(Item?.[measureAttribute(c.measure)]);
          return stored === undefined || stored < c.time;
        });
      }
    }
  }

  private latestUpdate(
    key: Record<string, string>,
    candidates: readonly LatestCandidate[],
  ): UpdateCommandInput {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const conditions: string[] = [];
    candidates.forEach((c, i) => {
      names[`#m${i}`] = measureAttribute(c.measure);
      values[`:v${i}`] = latestEntry(c);
      values[`:t${i}`] = c.time;
      sets.push(`#m${i} = :v${i}`);
      conditions.push(`(attribute_not_exists(#m${i}) OR #m${i}[1] < :t${i})`);
    });
    return {
      TableName: this.tables.latest,
      Key: key,
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  private async update(input: UpdateCommandInput): Promise<void> {
    const report = this.options.onConsumedCapacity;
    const output = await this.client.send(
      new UpdateCommand(report ? { ...input, ReturnConsumedCapacity: 'TOTAL' } : input),
    );
    if (report && output.ConsumedCapacity?.CapacityUnits !== undefined)
      report({ table: input.TableName as string, units: output.ConsumedCapacity.CapacityUnits });
  }
}
