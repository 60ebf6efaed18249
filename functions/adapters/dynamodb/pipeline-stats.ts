/**
 * Measured pipeline statistics in DynamoDB, for `/api/stats` in AWS (locally, `local/stats.ts` counts
 * in memory). One item per minute:
 *
 *   { day: 'YYYY-MM-DD', minute: 'YYYY-MM-DDTHH:MMZ', raw, enriched, dlq, alerts,
 *     'type.{typeId}': n, 'quality.{GOOD|SUSPECT|BAD}': n, 'reason.{REASON}': n,
 *     'latency.le_{ms}': n, 'latency.over': n, lastMessageAt: epoch ms, expiresAt: epoch s }
 *
 * Writers (the bridge and enrich Lambdas) collect a batch's counts in a `StatsBatch` and `flush` them:
 * ONE UpdateItem with `ADD` per minute bucket per batch, never one per message. `ADD` is atomic, so
 * concurrent invocations never lose a count; counters are flat top-level attributes because `ADD`
 * cannot create a nested map path. Counts follow delivery (at least once): a redelivered batch
 * counts again, as in local mode.
 *
 * The reader sums the window's buckets: `totals` are the window's totals (an all-time total would
 * need a second write per batch to one hot item), `lastMessageTime` is the newest within the window.
 * `devicesSeen` comes from the devices table (devices whose lastSeen falls in the window), through
 * `devicesSeenFromDevicesTable`. Latency (device timestamp to points written, telemetry only) is a
 * histogram per minute, counted by the time-series writer; `latency()` reports the upper bound of the
 * bucket that holds each percentile (a measured figure at the buckets' resolution, not an estimate).
 *
 * One partition per day takes every update: with one update per batch per minute that is far below
 * DynamoDB's 1,000 writes/s per partition at any realistic invocation rate.
 */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TYPE_ID_PATTERN } from '../../core/contract/identifiers.js';
import type { StatsSnapshot } from '../../handlers/api.js';
import type { EnrichOutcomeSummary } from '../../handlers/enrich.js';
import { INDEX_NAMES, TTL_ATTRIBUTES } from '../../shared/tables.js';
import type { Item } from './support.js';

const MINUTE_MS = 60_000;
const VERDICTS = ['GOOD', 'SUSPECT', 'BAD'] as const;
export type Verdict = (typeof VERDICTS)[number];
const REASON_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
/** More distinct types or reasons than this in one minute are counted under `other`. */
const MAX_KEYS_PER_GROUP = 64;
export const MAX_STATS_WINDOW_MINUTES = 1440;
/** Upper bounds (ms) of the latency histogram's buckets; slower ones fall in `over`. */
export const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;
const latencyAttribute = (index: number) =>
  index < LATENCY_BUCKETS_MS.length ? `latency.le_${LATENCY_BUCKETS_MS[index]}` : 'latency.over';

export interface MinuteCounts {
  raw: number;
  enriched: number;
  dlq: number;
  alerts: number;
  byDeviceType: Map<string, number>;
  quality: Record<Verdict, number>;
  dlqReasons: Map<string, number>;
  /** Counts per latency bucket (LATENCY_BUCKETS_MS, then `over`). */
  latency: number[];
  lastMessageAt?: number;
}

const emptyCounts = (): MinuteCounts => ({
  raw: 0,
  enriched: 0,
  dlq: 0,
  alerts: 0,
  byDeviceType: new Map(),
  quality: { GOOD: 0, SUSPECT: 0, BAD: 0 },
  dlqReasons: new Map(),
  latency: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
});

const minuteOf = (time: number) => Math.floor(time / MINUTE_MS);
const dayKey = (minute: number) => new Date(minute * MINUTE_MS).toISOString().slice(0, 10);
const minuteKey = (minute: number) => `${new Date(minute * MINUTE_MS).toISOString().slice(0, 16)}Z`;

function bump(map: Map<string, number>, key: string, by: number): void {
  const known = map.has(key) || map.size < MAX_KEYS_PER_GROUP;
  const name = known ? key : 'other';
  map.set(name, (map.get(name) ?? 0) + by);
}

/** The counts of an enrich batch's outcomes (the post-batch bookkeeping's stats port). */
export function statsBatchOf(outcomes: readonly EnrichOutcomeSummary[]): StatsBatch {
  const batch = new StatsBatch();
  for (const outcome of outcomes) {
    if (outcome.kind === 'enriched')
      batch.enriched(outcome.time, outcome.deviceType, outcome.verdict, outcome.alerts);
    else batch.deadLetter(outcome.time, outcome.reason ?? 'UNKNOWN');
  }
  return batch;
}

/** One batch's counts, grouped by minute: what `flush` writes. */
export class StatsBatch {
  readonly minutes = new Map<number, MinuteCounts>();

  private at(time: number): MinuteCounts {
    const minute = minuteOf(time);
    let counts = this.minutes.get(minute);
    if (!counts) {
      counts = emptyCounts();
      this.minutes.set(minute, counts);
    }
    return counts;
  }

  /** Messages that reached `iot.raw`; `receivedAt` moves the last message time. */
  raw(time: number, count: number, receivedAt?: number): this {
    const counts = this.at(time);
    counts.raw += count;
    if (receivedAt !== undefined) counts.lastMessageAt = Math.max(counts.lastMessageAt ?? 0, receivedAt);
    return this;
  }

  /** An enriched message of `deviceType` with its quality verdict and the alerts it raised. */
  enriched(time: number, deviceType: string | undefined, verdict: Verdict | undefined, alerts: number): this {
    const counts = this.at(time);
    counts.enriched++;
    counts.alerts += alerts;
    if (deviceType !== undefined)
      bump(counts.byDeviceType, TYPE_ID_PATTERN.test(deviceType) ? deviceType : 'other', 1);
    if (verdict !== undefined) counts.quality[verdict]++;
    return this;
  }

  /** A dead-lettered message and why. */
  deadLetter(time: number, reason: string): this {
    const counts = this.at(time);
    counts.dlq++;
    bump(counts.dlqReasons, REASON_PATTERN.test(reason) ? reason : 'OTHER', 1);
    return this;
  }

  /** A telemetry message's points were written `ms` after its device timestamp. */
  latency(time: number, ms: number): this {
    const counts = this.at(time);
    const index = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
    const bucket = index < 0 ? LATENCY_BUCKETS_MS.length : index;
    counts.latency[bucket] = (counts.latency[bucket] ?? 0) + 1;
    return this;
  }

  get isEmpty(): boolean {
    return this.minutes.size === 0;
  }
}

export interface PipelineStatsStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long minute buckets are kept. Default 8 days (a week of history plus a day's margin). */
  readonly retentionSeconds?: number;
  readonly now?: () => number;
}

export class DynamoPipelineStatsStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(options: PipelineStatsStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = options.retentionSeconds ?? 8 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  /** Writes a batch's counts: one UpdateItem (ADD) per minute bucket. */
  async flush(batch: StatsBatch): Promise<void> {
    await Promise.all([...batch.minutes].map(([minute, counts]) => this.addMinute(minute, counts)));
  }

  private async addMinute(minute: number, counts: MinuteCounts): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const adds: string[] = [];
    let n = 0;
    const add = (attribute: string, value: number) => {
      if (value === 0) return;
      n++;
      names[`#a${n}`] = attribute;
      values[`:a${n}`] = value;
      adds.push(`#a${n} :a${n}`);
    };
    add('raw', counts.raw);
    add('enriched', counts.enriched);
    add('dlq', counts.dlq);
    add('alerts', counts.alerts);
    for (const [type, count] of counts.byDeviceType) add(`type.${type}`, count);
    for (const verdict of VERDICTS) add(`quality.${verdict}`, counts.quality[verdict]);
    for (const [reason, count] of counts.dlqReasons) add(`reason.${reason}`, count);
    counts.latency.forEach((count, index) => {
      add(latencyAttribute(index), count);
    });
    if (adds.length === 0 && counts.lastMessageAt === undefined) return;

    const sets = ['#expiresAt = :expiresAt'];
    names['#expiresAt'] = TTL_ATTRIBUTES.pipelineStats;
    values[':expiresAt'] = Math.floor((minute * MINUTE_MS) / 1000) + this.retentionSeconds;
    if (counts.lastMessageAt !== undefined) {
      // No max() in update expressions: concurrent batches of the same minute may leave a value a few
      // seconds older than the newest; the minute itself is exact.
      sets.push('#last = :last');
      names['#last'] = 'lastMessageAt';
      values[':last'] = counts.lastMessageAt;
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { day: dayKey(minute), minute: minuteKey(minute) },
        UpdateExpression: `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** The window's figures in the API's `StatsSnapshot` shape (without `pipeline`). */
  async snapshot(
    windowMinutes: number,
    devicesSeen?: (since: number) => Promise<number>,
  ): Promise<StatsSnapshot> {
    checkWindow(windowMinutes);
    const { first, last, items } = await this.readWindow(windowMinutes);
    const byMinute = new Map(items.map((item) => [String(item.minute), item]));

    const totals = { raw: 0, enriched: 0, dlq: 0, alerts: 0 };
    const byDeviceType: Record<string, number> = {};
    const quality = { GOOD: 0, SUSPECT: 0, BAD: 0 };
    const dlqReasons: Record<string, number> = {};
    const perMinute: StatsSnapshot['perMinute'][number][] = [];
    let lastMessageAt: number | undefined;
    for (let minute = first; minute <= last; minute++) {
      const item = byMinute.get(minuteKey(minute));
      const row = {
        minute: new Date(minute * MINUTE_MS).toISOString(),
        raw: numberOf(item?.raw),
        enriched: numberOf(item?.enriched),
        dlq: numberOf(item?.dlq),
        alerts: numberOf(item?.alerts),
      };
      perMinute.push(row);
      totals.raw += row.raw;
      totals.enriched += row.enriched;
      totals.dlq += row.dlq;
      totals.alerts += row.alerts;
      if (!item) continue;
      for (const [attribute, value] of Object.entries(item)) {
        const count = numberOf(value);
        if (attribute.startsWith('type.')) {
          const type = attribute.slice(5);
          byDeviceType[type] = (byDeviceType[type] ?? 0) + count;
        } else if (attribute.startsWith('quality.')) {
          const verdict = attribute.slice(8);
          if ((VERDICTS as readonly string[]).includes(verdict)) quality[verdict as Verdict] += count;
        } else if (attribute.startsWith('reason.')) {
          const reason = attribute.slice(7);
          dlqReasons[reason] = (dlqReasons[reason] ?? 0) + count;
        }
      }
      if (typeof item.lastMessageAt === 'number')
        lastMessageAt = Math.max(lastMessageAt ?? 0, item.lastMessageAt);
    }
    return {
      windowMinutes,
      totals,
      byDeviceType,
      quality,
      perMinute,
      devicesSeen: devicesSeen ? await devicesSeen(first * MINUTE_MS) : 0,
      lastMessageTime: lastMessageAt === undefined ? null : new Date(lastMessageAt).toISOString(),
      dlqReasons,
    };
  }

  /**
   * Device timestamp to points written, for telemetry written in the window: p50 and p99 as the upper
   * bound (ms) of the histogram bucket holding them; a percentile beyond the last bound is reported as
   * that bound (60 s, read "at least a minute"); null without samples.
   */
  async latency(windowMinutes: number): Promise<{ p50: number | null; p99: number | null; samples: number }> {
    checkWindow(windowMinutes);
    const { items } = await this.readWindow(windowMinutes);
    const counts: number[] = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    for (const item of items) {
      for (let i = 0; i < counts.length; i++)
        counts[i] = (counts[i] ?? 0) + numberOf(item[latencyAttribute(i)]);
    }
    const samples = counts.reduce((a, b) => a + b, 0);
    const percentile = (q: number): number | null => {
      if (samples === 0) return null;
      const rank = Math.ceil(q * samples);
      let seen = 0;
      for (let i = 0; i < counts.length; i++) {
        seen += counts[i] ?? 0;
        if (seen >= rank) return LATENCY_BUCKETS_MS[Math.min(i, LATENCY_BUCKETS_MS.length - 1)] ?? null;
      }
      return null;
    };
    return { p50: percentile(0.5), p99: percentile(0.99), samples };
  }

  private async readWindow(windowMinutes: number): Promise<{ first: number; last: number; items: Item[] }> {
    const last = minuteOf(this.now());
    const first = last - windowMinutes + 1;
    const days = [...new Set([dayKey(first), dayKey(last)])];
    const items = await Promise.all(days.map((day) => this.queryDay(day, minuteKey(first), minuteKey(last))));
    return { first, last, items: items.flat() };
  }

  private async queryDay(day: string, from: string, to: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#day = :day AND #minute BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#day': 'day', '#minute': 'minute' },
          ExpressionAttributeValues: { ':day': day, ':from': from, ':to': to },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function checkWindow(windowMinutes: number): void {
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > MAX_STATS_WINDOW_MINUTES) {
    throw new RangeError(`windowMinutes must be an integer from 1 to ${MAX_STATS_WINDOW_MINUTES}`);
  }
}

const numberOf = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;

export interface DevicesSeenOptions {
  readonly client: DynamoDBDocumentClient;
  /** The devices table (GSI `byTypeLastSeen`). */
  readonly tableName: string;
  /** The registered device types (every device's type is one of them). */
  readonly deviceTypes: () => Promise<readonly string[]>;
}

/**
 * Devices whose `lastSeen` is at or after `since`: one COUNT Query per device type on the
 * `byTypeLastSeen` index (keys only are read, nothing is returned).
 */
export function devicesSeenFromDevicesTable(options: DevicesSeenOptions): (since: number) => Promise<number> {
  return async (since) => {
    const types = (await options.deviceTypes()).filter((type) => TYPE_ID_PATTERN.test(type));
    const sinceIso = new Date(since).toISOString();
    const counts = await Promise.all(
      types.map(async (type) => {
        let count = 0;
        let startKey: Item | undefined;
        do {
          const page = await options.client.send(
            new QueryCommand({
              TableName: options.tableName,
              IndexName: INDEX_NAMES.devicesByTypeLastSeen,
              KeyConditionExpression: '#type = :type AND #last >= :since',
              ExpressionAttributeNames: { '#type': 'deviceType', '#last': 'lastSeen' },
              ExpressionAttributeValues: { ':type': type, ':since': sinceIso },
              Select: 'COUNT',
              ExclusiveStartKey: startKey,
            }),
          );
          count += page.Count ?? 0;
          startKey = page.LastEvaluatedKey;
        } while (startKey);
        return count;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  };
}
