/**
 * The DynamoDB time-series sink over dynalite: what the port's contract test (local/timeseries/
 * contract.test.ts) cannot see from outside: rollups really answer closed hours, late data fences a
 * rollup being computed, latest updates skip only the measures already newer, TTL and expiry.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureTimeseriesTables,
  type LocalDynamo,
  localTimeseriesTableNames,
  startDynalite,
} from '../../../../local/dynamodb/index.js';
import type { EnrichedMessage } from '../../../core/contract/messages.js';
import type { TimeSeriesPoint } from '../../../core/timeseries.js';
import { timeKey, timeseriesDocumentClient } from './layout.js';
import { DynamoTimeseriesQuery } from './query.js';
import { DynamoTimeseriesRollups, devicesSeenSince } from './rollup.js';
import { type ConsumedCapacity, DynamoTimeseriesSink } from './sink.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const H0 = Date.parse('2026-11-23T08:00:00.000Z');
let now = H0 + 2 * HOUR;

function point(overrides: Partial<TimeSeriesPoint> = {}): TimeSeriesPoint {
  return {
    deviceId: 'env-1',
    deviceType: 'environmental_sensor',
    measure: 'temperature',
    kind: 'telemetry',
    time: H0,
    value: 20,
    valueType: 'DOUBLE',
    quality: 'GOOD',
    ...overrides,
  };
}

const retention = (deviceId: string, days: number) =>
  ({ device_id: deviceId, device_metadata: { retention_days: days } }) as unknown as EnrichedMessage;

let dynalite: LocalDynamo;
let client: DynamoDBDocumentClient;
let tables: { points: string; latest: string; rollups: string };
let sink: DynamoTimeseriesSink;
let query: DynamoTimeseriesQuery;
let rollups: DynamoTimeseriesRollups;
const capacity: ConsumedCapacity[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
  client = timeseriesDocumentClient(dynalite.client);
});
afterAll(async () => {
  await dynalite.close();
});
beforeEach(async () => {
  now = H0 + 2 * HOUR;
  const names = localTimeseriesTableNames(`u-${randomUUID().slice(0, 8)}`);
  await ensureTimeseriesTables(dynalite.client, names);
  tables = {
    points: names.timeseriesPoints,
    latest: names.timeseriesLatest,
    rollups: names.timeseriesRollups,
  };
  capacity.length = 0;
  sink = new DynamoTimeseriesSink({
    client,
    tables,
    now: () => now,
    onConsumedCapacity: (c) => capacity.push(c),
  });
  query = new DynamoTimeseriesQuery({ client, tables, now: () => now });
  rollups = new DynamoTimeseriesRollups({ client, tables, now: () => now });
});

const getRollup = async (hour: number) =>
  (
    await client.send(
      new GetCommand({ TableName: tables.rollups, Key: { deviceId: 'env-1', sk: timeKey(hour) } }),
    )
  ).Item;

const hourly = () =>
  query.buckets({
    deviceId: 'env-1',
    measure: 'temperature',
    from: H0,
    to: H0 + HOUR,
    bucketMs: HOUR,
    limit: 10,
  });

describe('DynamoTimeseriesSink', () => {
  it('stores one item per device and time, with every reading of it and a TTL from the retention', async () => {
    await sink.write(
      [
        point(),
        point({ measure: 'humidity', value: 40, quality: 'SUSPECT' }),
        point({ measure: 'status.online', kind: 'status', value: true, valueType: 'BOOLEAN' }),
      ],
      [retention('env-1', 90)],
    );

    const { Item } = await client.send(
      new GetCommand({ TableName: tables.points, Key: { deviceId: 'env-1', sk: timeKey(H0) } }),
    );

    expect(Item).toEqual({
      deviceId: 'env-1',
      sk: '001795420800000',
      expiresAt: (H0 + 90 * 86_400_000) / 1000,
      'm:temperature': 20,
      'm:humidity': 40,
      'm:status.online': true,
      suspect: new Set(['humidity']),
    });
  });

  it('keeps the first value of a (device, measure, time) and merges the other measures of the same time', async () => {
    await sink.write([point({ value: 20 })]);

    await sink.write([point({ value: 99 }), point({ measure: 'humidity', value: 40 })]);

    const series = await query.series({
      deviceId: 'env-1',
      measure: 'temperature',
      from: H0,
      to: H0 + 1,
      limit: 5,
    });
    const latest = await query.latest('env-1');
    expect(series).toEqual([{ time: H0, value: 20, quality: 'GOOD' }]);
    expect(latest.map((v) => [v.measure, v.value])).toEqual([
      ['humidity', 40],
      ['temperature', 20],
    ]);
  });

  it('moves the newer measures of a latest item forward and leaves the ones already newer', async () => {
    await sink.write([
      point({ time: H0 + 2 * MINUTE, value: 22 }),
      point({ measure: 'humidity', time: H0, value: 40 }),
    ]);

    // One batch: temperature older than stored (refused), humidity newer (taken).
    await sink.write([
      point({ time: H0 + MINUTE, value: 21 }),
      point({ measure: 'humidity', time: H0 + MINUTE, value: 41 }),
    ]);

    expect((await query.latest('env-1')).map((v) => [v.measure, v.value, v.time])).toEqual([
      ['humidity', 41, H0 + MINUTE],
      ['temperature', 22, H0 + 2 * MINUTE],
    ]);
  });

  it('costs one write unit per point item and per latest item for a small message', async () => {
    await sink.write([
      point(),
      point({ measure: 'humidity', value: 40 }),
      point({ measure: 'pressure', value: 1000 }),
    ]);

    const byTable = (name: string) =>
      capacity.filter((c) => c.table === name).reduce((s, c) => s + c.units, 0);
    expect(byTable(tables.points)).toBe(1);
    expect(byTable(tables.latest)).toBe(1);
    // The point's hour (H0) is closed at H0 + 2h: its rollup is invalidated (one more unit).
    expect(byTable(tables.rollups)).toBe(1);
  });

  it('stores a batch that holds the same points twice once', async () => {
    const points = [point(), point({ measure: 'humidity', value: 40 })];

    await sink.write([...points, ...points]);

    expect(await query.count()).toBe(2);
  });

  it('reports a point stamped before 1970 instead of failing the batch, and stores the others', async () => {
    const unstorable: TimeSeriesPoint[] = [];
    const reporting = new DynamoTimeseriesSink({
      client,
      tables,
      onUnstorableTime: (p) => unstorable.push(...p),
    });
    const old = point({ time: Date.parse('1969-12-31T23:00:00.000Z') });

    await reporting.write([old, point()]);

    expect(unstorable).toEqual([old]);
    expect(await query.count()).toBe(1);
  });

  it('drops a BAD point rather than storing it', async () => {
    await sink.write([point({ quality: 'BAD' as never })]);

    expect(await query.count()).toBe(0);
  });
});

describe('DynamoTimeseriesQuery', () => {
  it('answers a closed hour from its rollup once computed', async () => {
    await sink.write([point({ time: H0, value: 10 }), point({ time: H0 + MINUTE, value: 30 })]);
    expect(await rollups.rollupHour('env-1', H0)).toBe('written');

    // The points are gone (as if expired), the rollup still answers the hour.
    for (const t of [H0, H0 + MINUTE])
      await client.send(
        new DeleteCommand({ TableName: tables.points, Key: { deviceId: 'env-1', sk: timeKey(t) } }),
      );

    expect(await hourly()).toEqual([{ time: H0, avg: 20, min: 10, max: 30, count: 2 }]);
  });

  it('leaves out points past their TTL that are still stored', async () => {
    await sink.write([point({ time: H0, value: 10 })], [retention('env-1', 1)]);
    now = H0 + 2 * 86_400_000;

    expect(
      await query.series({ deviceId: 'env-1', measure: 'temperature', from: H0, to: now, limit: 5 }),
    ).toEqual([]);
  });

  it('refuses a measure that is not a measure name', async () => {
    await expect(
      query.series({ deviceId: 'env-1', measure: 'm:x', from: H0, to: H0 + 1, limit: 1 }),
    ).rejects.toThrow(/measure is not a valid identifier/);
  });
});

describe('DynamoTimeseriesRollups', () => {
  it('leaves a valid rollup alone on the next run', async () => {
    await sink.write([point({ time: H0, value: 10 })]);
    await rollups.rollupHour('env-1', H0);

    expect(await rollups.rollupHour('env-1', H0)).toBe('unchanged');
  });

  it('stops using a rollup once a late point is written into its hour, until recomputed', async () => {
    await sink.write([point({ time: H0, value: 10 })]);
    await rollups.rollupHour('env-1', H0);

    await sink.write([point({ time: H0 + 30 * MINUTE, value: 30 })]);
    const invalidated = await getRollup(H0);
    const summary = await rollups.rollupClosedHours(['env-1'], { hours: 1 });

    expect(invalidated?.gen).toBeGreaterThan(invalidated?.rolledGen as number);
    expect(summary).toMatchObject({ written: 1, failed: [] });
    expect(await getRollup(H0)).toMatchObject({ 'm:temperature': { n: 2, sum: 40, min: 10, max: 30 } });
  });

  it('starts over when a point arrives while it computes (the Put is fenced on gen)', async () => {
    await sink.write([point({ time: H0, value: 10 })]);
    // A client that lets a late write land between the rollup's read of `gen` and its Put.
    let raced = false;
    const racing = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { input: { TableName?: string } }) => {
          if (!raced && command instanceof PutCommand) {
            raced = true;
            await sink.write([point({ time: H0 + 30 * MINUTE, value: 30 })]);
          }
          return target.send(command as never);
        };
      },
    });
    const fenced = new DynamoTimeseriesRollups({ client: racing, tables, now: () => now });

    expect(await fenced.rollupHour('env-1', H0)).toBe('written');

    expect(raced).toBe(true);
    expect(await getRollup(H0)).toMatchObject({ 'm:temperature': { n: 2, sum: 40 } });
    expect(await hourly()).toEqual([{ time: H0, avg: 20, min: 10, max: 30, count: 2 }]);
  });

  it('refuses to roll up an hour that is not closed', async () => {
    await expect(rollups.rollupHour('env-1', H0 + 2 * HOUR)).rejects.toThrow(/not closed/);
  });

  it('finds the devices seen since a time in the devices table', async () => {
    const devicesTable = `u-devices-${randomUUID().slice(0, 8)}`;
    const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
    const { createTableInput, TABLES } = await import('../../../shared/tables.js');
    await dynalite.client.send(new CreateTableCommand(createTableInput(devicesTable, TABLES.devices)));
    for (const [deviceId, lastSeen] of [
      ['env-1', H0 + HOUR],
      ['env-2', H0 - 5 * HOUR],
    ] as const)
      await client.send(
        new PutCommand({
          TableName: devicesTable,
          Item: { deviceId, deviceType: 'environmental_sensor', lastSeen: new Date(lastSeen).toISOString() },
        }),
      );

    expect(await devicesSeenSince(client, devicesTable, H0)).toEqual(['env-1']);
  });
});

describe('DynamoTimeseriesSink.rewrite (a replay, issue 16)', () => {
  const telemetryAt = (time: number) => ({ deviceId: 'env-1', kind: 'telemetry' as const, time });
  const pointItem = async (time: number) =>
    (
      await client.send(
        new GetCommand({
          TableName: tables.points,
          Key: { deviceId: 'env-1', sk: timeKey(time) },
          ConsistentRead: true,
        }),
      )
    ).Item;
  const allItems = async (table: string) =>
    (await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];

  it('replaces a changed value and verdict, removes a reading the new definition drops, and keeps another kind of the same time', async () => {
    await sink.write([
      point({ value: 20 }),
      point({ measure: 'humidity', value: 40, quality: 'SUSPECT' }),
      point({ measure: 'status.online', kind: 'status', value: true, valueType: 'BOOLEAN' }),
    ]);

    await sink.rewrite([point({ value: 21, quality: 'SUSPECT' })], [telemetryAt(H0)]);

    expect(await pointItem(H0)).toEqual({
      deviceId: 'env-1',
      sk: timeKey(H0),
      expiresAt: (H0 + 30 * 86_400_000) / 1000,
      'm:temperature': 21,
      'm:status.online': true,
      suspect: new Set(['temperature']),
    });
    expect(await query.count()).toBe(2);
  });

  it('clears a verdict no longer SUSPECT and stores a reading the old definition had judged BAD', async () => {
    await sink.write([point({ value: 20, quality: 'SUSPECT' })]);

    await sink.rewrite([point({ value: 20 }), point({ measure: 'humidity', value: 55 })], [telemetryAt(H0)]);

    const item = await pointItem(H0);
    expect(item).toMatchObject({ 'm:temperature': 20, 'm:humidity': 55 });
    expect(item?.suspect).toBeUndefined();
  });

  it('writes no point when a second identical rewrite arrives, and leaves every point as it was', async () => {
    await sink.write([point({ value: 20 }), point({ measure: 'humidity', value: 40 })]);
    const rewrite = () =>
      sink.rewrite([point({ value: 25, quality: 'SUSPECT' })], [telemetryAt(H0), telemetryAt(H0 + MINUTE)]);
    await rewrite();
    const points = await allItems(tables.points);
    const latest = await allItems(tables.latest);
    capacity.length = 0;

    await rewrite();

    expect(capacity.filter((c) => c.table === tables.points)).toEqual([]);
    expect(capacity.filter((c) => c.table === tables.latest)).toEqual([]);
    expect(await allItems(tables.points)).toEqual(points);
    expect(await allItems(tables.latest)).toEqual(latest);
  });

  it('keeps the hourly aggregates exact: the rewritten hour is recomputed from its points, each point once', async () => {
    await sink.write([
      point({ time: H0, value: 20 }),
      point({ time: H0 + MINUTE, value: 22 }),
      point({ time: H0 + 2 * MINUTE, value: 24 }),
    ]);
    await rollups.rollupHour('env-1', H0);

    await sink.rewrite([point({ time: H0 + MINUTE, value: 30 })], [telemetryAt(H0 + MINUTE)]);
    const beforeJob = await hourly();
    await rollups.rollupHour('env-1', H0);
    await sink.rewrite([point({ time: H0 + MINUTE, value: 30 })], [telemetryAt(H0 + MINUTE)]);
    await sink.rewrite([], [telemetryAt(H0 + 2 * MINUTE)]);
    await rollups.rollupHour('env-1', H0);

    expect(beforeJob).toEqual([{ time: H0, avg: 74 / 3, min: 20, max: 30, count: 3 }]);
    expect(await getRollup(H0)).toMatchObject({ 'm:temperature': { n: 2, sum: 50, min: 20, max: 30 } });
    expect(await hourly()).toEqual([{ time: H0, avg: 25, min: 20, max: 30, count: 2 }]);
  });

  it('replaces the latest value of the rewritten time, and falls back to the newest stored before it when dropped', async () => {
    await sink.write([point({ time: H0, value: 20 }), point({ time: H0 + MINUTE, value: 22 })]);

    await sink.rewrite(
      [point({ time: H0 + MINUTE, value: 23, quality: 'SUSPECT' })],
      [telemetryAt(H0 + MINUTE)],
    );
    const replaced = await query.latest('env-1');
    await sink.rewrite([], [telemetryAt(H0 + MINUTE)]);
    const fallenBack = await query.latest('env-1');
    await sink.rewrite([], [telemetryAt(H0)]);

    expect(replaced).toEqual([{ measure: 'temperature', value: 23, time: H0 + MINUTE, quality: 'SUSPECT' }]);
    expect(fallenBack).toEqual([{ measure: 'temperature', value: 20, time: H0, quality: 'GOOD' }]);
    expect(await query.latest('env-1')).toEqual([]);
    expect(await query.count()).toBe(0);
  });

  it('leaves a newer latest value alone when an older time is rewritten', async () => {
    await sink.write([point({ time: H0, value: 20 }), point({ time: H0 + MINUTE, value: 22 })]);

    await sink.rewrite([point({ time: H0, value: 21 })], [telemetryAt(H0)]);

    expect((await query.latest('env-1')).map((v) => [v.value, v.time])).toEqual([[22, H0 + MINUTE]]);
    expect(
      await query.series({ deviceId: 'env-1', measure: 'temperature', from: H0, to: H0 + HOUR, limit: 5 }),
    ).toEqual([
      { time: H0, value: 21, quality: 'GOOD' },
      { time: H0 + MINUTE, value: 22, quality: 'GOOD' },
    ]);
  });

  it('refuses a message key with an invalid device id before any request', async () => {
    await expect(sink.rewrite([], [{ deviceId: 'bad id', kind: 'telemetry', time: H0 }])).rejects.toThrow(
      /messages\[0\]\.deviceId/,
    );
  });
});
