/**
 * Hourly rollups of the DynamoDB sink: (count, sum, min, max) of every numeric measure of a device in
 * one hour, one item per (device, hour), COMPUTED FROM THE HOUR'S POINTS and written whole. An
 * incremental `ADD` would count a redelivered batch twice (dynalite has no transactions to fence it,
 * and DynamoDB has no min/max update), so the job recomputes instead, and a recomputation is
 * idempotent.
 *
 * Fencing late data: the writer does `ADD gen 1` on an hour's rollup after storing points into it once
 * the hour is closed (sink.ts). `rollupHour` reads `gen` first (strongly consistent), then the points,
 * and puts the aggregates with `rolledGen = gen` on condition that `gen` has not moved. A point written
 * while it computed either moves `gen` before the Put (the condition fails and it starts over) or after
 * it (`rolledGen < gen`: readers ignore the rollup, the next run recomputes it). Readers use a rollup only
 * while `rolledGen = gen` (query.ts), so a rollup never hides a point.
 *
 * Which devices: `devicesSeenSince` Scans the devices table for `lastSeen >= since` (see its comment).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { DEVICE_ID_PATTERN } from '../../../core/contract/identifiers.js';
import { forEachLimited, isConditionalCheckFailed } from '../support.js';
import {
  COMPUTED_AT,
  EXPIRES_AT,
  GENERATION,
  HOUR_MS,
  hourStart,
  isExpired,
  isMeasureAttribute,
  PK,
  ROLLED_GENERATION,
  SK,
  type TimeseriesTableNamesOf,
  timeKey,
} from './layout.js';
import { isValidRollup, type RollupStats } from './query.js';

/** Pages of one device-hour's points read at most (1 MB each: far above any device's hour). */
const MAX_POINT_PAGES = 100;
/** Attempts of one hour whose `gen` keeps moving while it is computed. */
const ROLLUP_ATTEMPTS = 3;
/** Device-hours rolled up concurrently. */
const ROLLUP_CONCURRENCY = 8;
/** Closed hours recomputed on every run: the last one, and the one before for its stragglers. */
export const ROLLUP_HOURS = 2;
/** How far back a run looks for rollups invalidated by late data. */
export const REPAIR_HOURS = 7 * 24;

export interface RollupOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tables: Pick<TimeseriesTableNamesOf, 'points' | 'rollups'>;
  /** The devices table (`lastSeen`), for `rollupDevicesSeen`. */
  readonly devicesTable?: string;
  readonly now?: () => number;
}

export type RollupOutcome = 'written' | 'unchanged' | 'empty';

export interface RollupRunSummary {
  readonly devices: number;
  readonly written: number;
  readonly unchanged: number;
  readonly failed: { readonly deviceId: string; readonly hour: number; readonly error: string }[];
}

export class DynamoTimeseriesRollups {
  private readonly client: DynamoDBDocumentClient;
  private readonly tables: RollupOptions['tables'];
  private readonly now: () => number;

  constructor(private readonly options: RollupOptions) {
    this.client = options.client;
    this.tables = options.tables;
    this.now = options.now ?? Date.now;
  }

  /**
   * One run of the scheduled job: the devices seen in the last ROLLUP_HOURS + 1 hours (the devices
   * table), each rolled up by `rollupClosedHours`.
   */
  async rollupDevicesSeen(): Promise<RollupRunSummary> {
    if (!this.options.devicesTable) throw new Error('rollupDevicesSeen needs the devices table');
    const since = this.now() - (ROLLUP_HOURS + 1) * HOUR_MS;
    return this.rollupClosedHours(await devicesSeenSince(this.client, this.options.devicesTable, since));
  }

  /**
   * Recomputes the rollup of one closed hour from its points. `unchanged` when the rollup is already
   * valid (nothing written since it was computed), `empty` when the hour has no points and no rollup.
   */
  async rollupHour(deviceId: string, hour: number): Promise<RollupOutcome> {
    if (!DEVICE_ID_PATTERN.test(deviceId)) throw new RangeError('deviceId is not a valid device id');
    if (hourStart(hour) !== hour) throw new RangeError(`hour must start an hour, got ${hour}`);
    if (hour + HOUR_MS > this.now())
      throw new RangeError(`hour ${new Date(hour).toISOString()} is not closed`);
    const key = { [PK]: deviceId, [SK]: timeKey(hour) };
    for (let attempt = 1; attempt <= ROLLUP_ATTEMPTS; attempt++) {
      const { Item: current } = await this.client.send(
        new GetCommand({
          TableName: this.tables.rollups,
          Key: key,
          ConsistentRead: true,
          ProjectionExpression: '#gen, #rolled, #exp',
          ExpressionAttributeNames: { '#gen': GENERATION, '#rolled': ROLLED_GENERATION, '#exp': EXPIRES_AT },
        }),
      );
      if (current && isValidRollup(current)) return 'unchanged';
      const generation = typeof current?.[GENERATION] === 'number' ? (current[GENERATION] as number) : 0;

      const { measures, expiresAt } = await this.aggregate(deviceId, hour);
      if (!current && measures.size === 0) return 'empty';
      const item: Record<string, unknown> = {
        ...key,
        [GENERATION]: generation,
        [ROLLED_GENERATION]: generation,
        [COMPUTED_AT]: this.now(),
      };
      const expires = expiresAt ?? current?.[EXPIRES_AT];
      if (typeof expires === 'number') item[EXPIRES_AT] = expires;
      for (const [attribute, stats] of measures) item[attribute] = stats;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tables.rollups,
            Item: item,
            ...(current
              ? {
                  ConditionExpression: '#gen = :gen',
                  ExpressionAttributeNames: { '#gen': GENERATION },
                  ExpressionAttributeValues: { ':gen': generation },
                }
              : {
                  ConditionExpression: 'attribute_not_exists(#sk)',
                  ExpressionAttributeNames: { '#sk': SK },
                }),
          }),
        );
        return 'written';
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // A point arrived while computing: start over with the new generation.
      }
    }
    throw new Error(`the rollup of ${deviceId} at ${new Date(hour).toISOString()} kept being invalidated`);
  }

  /**
   * The scheduled job's work for `deviceIds`: the `hours` hours closed last, plus every hour within
   * `repairHours` whose rollup was invalidated by late data (a Query of the device's rollups, filtered).
   * A failing device-hour is reported in the summary and does not stop the others.
   */
  async rollupClosedHours(
    deviceIds: readonly string[],
    options: { readonly hours?: number; readonly repairHours?: number } = {},
  ): Promise<RollupRunSummary> {
    const hours = options.hours ?? ROLLUP_HOURS;
    const repairHours = options.repairHours ?? REPAIR_HOURS;
    const lastClosed = hourStart(this.now()) - HOUR_MS;
    const work: { deviceId: string; hour: number }[] = [];
    await forEachLimited(deviceIds, ROLLUP_CONCURRENCY, async (deviceId) => {
      const wanted = new Set<number>();
      for (let i = 0; i < hours; i++) wanted.add(lastClosed - i * HOUR_MS);
      for (const hour of await this.invalidatedHours(
        deviceId,
        lastClosed - repairHours * HOUR_MS,
        lastClosed,
      ))
        wanted.add(hour);
      for (const hour of wanted) work.push({ deviceId, hour });
    });
    let written = 0;
    let unchanged = 0;
    const failed: { deviceId: string; hour: number; error: string }[] = [];
    await forEachLimited(work, ROLLUP_CONCURRENCY, async ({ deviceId, hour }) => {
      try {
        const outcome = await this.rollupHour(deviceId, hour);
        if (outcome === 'written') written++;
        else unchanged++;
      } catch (error) {
        failed.push({ deviceId, hour, error: error instanceof Error ? error.message : String(error) });
      }
    });
    return { devices: deviceIds.length, written, unchanged, failed };
  }

  /** Hours in [from, to] whose rollup item exists but is not valid (late data, or a placeholder). */
  private async invalidatedHours(deviceId: string, from: number, to: number): Promise<number[]> {
    const hours: number[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tables.rollups,
          KeyConditionExpression: '#pk = :device AND #sk BETWEEN :from AND :to',
          FilterExpression: 'attribute_not_exists(#rolled) OR #rolled <> #gen',
          ProjectionExpression: '#sk',
          ExpressionAttributeNames: {
            '#pk': PK,
            '#sk': SK,
            '#rolled': ROLLED_GENERATION,
            '#gen': GENERATION,
          },
          ExpressionAttributeValues: {
            ':device': deviceId,
            ':from': timeKey(Math.max(0, from)),
            ':to': timeKey(to),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) hours.push(Number(item[SK]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return hours;
  }

  /** The hour's numeric measures aggregated, and the latest expiry among its points. */
  private async aggregate(
    deviceId: string,
    hour: number,
  ): Promise<{ measures: Map<string, RollupStats>; expiresAt: number | undefined }> {
    const now = this.now();
    const measures = new Map<string, { n: number; sum: number; min: number; max: number }>();
    let expiresAt: number | undefined;
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < MAX_POINT_PAGES; page++) {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tables.points,
          KeyConditionExpression: '#pk = :device AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: {
            ':device': deviceId,
            ':from': timeKey(hour),
            ':to': timeKey(hour + HOUR_MS - 1),
          },
          // Strongly consistent: every point written before `gen` was read is seen.
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of output.Items ?? []) {
        if (isExpired(item, now)) continue;
        const itemExpiry = item[EXPIRES_AT];
        if (typeof itemExpiry === 'number' && (expiresAt === undefined || itemExpiry > expiresAt))
          expiresAt = itemExpiry;
        for (const [name, value] of Object.entries(item)) {
          if (!isMeasureAttribute(name) || typeof value !== 'number') continue;
          const stats = measures.get(name);
          if (!stats) measures.set(name, { n: 1, sum: value, min: value, max: value });
          else {
            stats.n++;
            stats.sum += value;
            if (value < stats.min) stats.min = value;
            if (value > stats.max) stats.max = value;
          }
        }
      }
      startKey = output.LastEvaluatedKey;
      if (!startKey) return { measures, expiresAt };
    }
    throw new Error(
      `the points of ${deviceId} at ${new Date(hour).toISOString()} exceed ${MAX_POINT_PAGES} pages`,
    );
  }
}

/**
 * Devices whose `lastSeen` (ISO 8601, see adapters/dynamodb/devices.ts) is at or after `since`.
 *
 * A Scan of the devices table with a filter, not the `byTypeLastSeen` index: the index is partitioned
 * by device type, so it would need the registry's type list (another table and grant) and one Query per
 * type. The Scan reads each device item once an hour (~200 bytes: 10,000 devices are about 2 MB, 250
 * read units), which is small next to the job's own reads (an hour of one device's points is tens of
 * KB), and it needs only the devices table.
 */
export async function devicesSeenSince(
  client: DynamoDBDocumentClient,
  devicesTable: string,
  since: number,
): Promise<string[]> {
  const devices: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: devicesTable,
        FilterExpression: '#last >= :since',
        ProjectionExpression: '#id',
        ExpressionAttributeNames: { '#last': 'lastSeen', '#id': 'deviceId' },
        ExpressionAttributeValues: { ':since': new Date(since).toISOString() },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const id = item.deviceId;
      if (typeof id === 'string' && DEVICE_ID_PATTERN.test(id)) devices.push(id);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return devices;
}
