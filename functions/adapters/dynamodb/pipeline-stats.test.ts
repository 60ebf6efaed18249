import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TableNames } from '../../shared/tables.js';
import { DynamoDeviceStore } from './devices.js';
import { DynamoPipelineStatsStore, devicesSeenFromDevicesTable, StatsBatch } from './pipeline-stats.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

const NOW = Date.parse('2026-11-23T12:30:20.000Z');
const MINUTE = 60_000;

let dynamo: TestDynamo;
let tables: TableNames;
let store: DynamoPipelineStatsStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  tables = await dynamo.freshTables();
  store = new DynamoPipelineStatsStore({
    client: dynamo.client,
    tableName: tables.pipelineStats,
    now: () => NOW,
  });
});

describe('pipeline stats in DynamoDB', () => {
  it('adds up batches from concurrent writers into per-minute counters', async () => {
    // Prepare: the bridge and two enrich invocations, in the current minute and the one before
    const bridge = new StatsBatch().raw(NOW, 5, NOW - 100).raw(NOW - MINUTE, 2, NOW - MINUTE);
    const enrichA = new StatsBatch()
      .enriched(NOW, 'smart_meter', 'GOOD', 1)
      .enriched(NOW, 'smart_meter', 'SUSPECT', 0)
      .deadLetter(NOW, 'INVALID_JSON');
    const enrichB = new StatsBatch()
      .enriched(NOW, 'smart_breaker', 'GOOD', 2)
      .deadLetter(NOW, 'INVALID_JSON');

    // Act
    await Promise.all([store.flush(bridge), store.flush(enrichA), store.flush(enrichB)]);
    const snapshot = await store.snapshot(15);

    // Assess
    expect(snapshot.totals).toEqual({ raw: 7, enriched: 3, dlq: 2, alerts: 3 });
    expect(snapshot.byDeviceType).toEqual({ smart_meter: 2, smart_breaker: 1 });
    expect(snapshot.quality).toEqual({ GOOD: 2, SUSPECT: 1, BAD: 0 });
    expect(snapshot.dlqReasons).toEqual({ INVALID_JSON: 2 });
    expect(snapshot.perMinute.slice(-2)).toEqual([
      { minute: '2026-11-23T12:29:00.000Z', raw: 2, enriched: 0, dlq: 0, alerts: 0 },
      { minute: '2026-11-23T12:30:00.000Z', raw: 5, enriched: 3, dlq: 2, alerts: 3 },
    ]);
    expect(snapshot.lastMessageTime).toBe(new Date(NOW - 100).toISOString());
  });

  it('writes one UpdateItem per minute bucket per batch, however many messages it holds', async () => {
    const batch = new StatsBatch();
    for (let i = 0; i < 500; i++) batch.enriched(NOW, 'smart_meter', 'GOOD', 0);
    batch.raw(NOW - MINUTE, 1);
    const updates: unknown[] = [];
    const counting = new DynamoPipelineStatsStore({
      client: {
        send: async (command: unknown) => {
          updates.push(command);
          return dynamo.client.send(command as UpdateCommand);
        },
      } as unknown as typeof dynamo.client,
      tableName: tables.pipelineStats,
      now: () => NOW,
    });

    await counting.flush(batch);

    expect(updates).toHaveLength(2);
    expect(updates.every((u) => u instanceof UpdateCommand)).toBe(true);
    expect((await store.snapshot(5)).totals.enriched).toBe(500);
  });

  it('returns a full window of zeros, one row per minute, when nothing was counted', async () => {
    const snapshot = await store.snapshot(15);

    expect(snapshot.perMinute).toHaveLength(15);
    expect(snapshot.perMinute[0]?.minute).toBe('2026-11-23T12:16:00.000Z');
    expect(snapshot.totals).toEqual({ raw: 0, enriched: 0, dlq: 0, alerts: 0 });
    expect(snapshot.lastMessageTime).toBeNull();
  });

  it('leaves out minutes before the window and reads a window that spans midnight', async () => {
    const justAfterMidnight = Date.parse('2026-11-24T00:05:00.000Z');
    const late = new DynamoPipelineStatsStore({
      client: dynamo.client,
      tableName: tables.pipelineStats,
      now: () => justAfterMidnight,
    });
    await late.flush(new StatsBatch().raw(Date.parse('2026-11-23T23:58:10.000Z'), 4));
    await late.flush(new StatsBatch().raw(Date.parse('2026-11-24T00:04:10.000Z'), 1));
    await late.flush(new StatsBatch().raw(Date.parse('2026-11-23T23:40:00.000Z'), 100));

    const snapshot = await late.snapshot(10);

    expect(snapshot.totals.raw).toBe(5);
  });

  it('counts unknown reasons and types under catch-all names rather than trusting them as attribute names', async () => {
    await store.flush(
      new StatsBatch().deadLetter(NOW, 'bad reason; DROP').enriched(NOW, 'Not A Type', 'BAD', 0),
    );

    const snapshot = await store.snapshot(1);

    expect(snapshot.dlqReasons).toEqual({ OTHER: 1 });
    expect(snapshot.byDeviceType).toEqual({ other: 1 });
    expect(snapshot.quality.BAD).toBe(1);
  });

  it('reports latency percentiles as the upper bound of the histogram bucket that holds them', async () => {
    const batch = new StatsBatch();
    for (const ms of [30, 80, 80, 400, 70_000]) batch.latency(NOW, ms);
    await store.flush(batch);
    await store.flush(new StatsBatch().latency(NOW - 20 * MINUTE, 5));

    expect(await store.latency(15)).toEqual({ p50: 100, p99: 60_000, samples: 5 });
    expect(await store.latency(1)).toEqual({ p50: 100, p99: 60_000, samples: 5 });
  });

  it('reports no latency without samples', async () => {
    expect(await store.latency(15)).toEqual({ p50: null, p99: null, samples: 0 });
  });

  it('refuses a window outside 1 to 1440 minutes', async () => {
    await expect(store.snapshot(0)).rejects.toThrow(RangeError);
    await expect(store.snapshot(1441)).rejects.toThrow(RangeError);
  });

  it('sets the TTL attribute on every bucket', async () => {
    await store.flush(new StatsBatch().raw(NOW, 1));

    const page = await dynamo.client.send(new ScanCommand({ TableName: tables.pipelineStats }));
    expect(page.Items?.[0]?.expiresAt).toBe(
      Math.floor(Date.parse('2026-11-23T12:30:00.000Z') / 1000) + 8 * 24 * 3600,
    );
  });

  it('counts the devices seen in the window from the devices table', async () => {
    const devices = new DynamoDeviceStore({ client: dynamo.client, tableName: tables.devices });
    await devices.recordSeen({
      deviceId: 'meter-1',
      deviceType: 'smart_meter',
      time: NOW - 2 * MINUTE,
      count: 1,
    });
    await devices.recordSeen({
      deviceId: 'meter-2',
      deviceType: 'smart_meter',
      time: NOW - 30 * MINUTE,
      count: 1,
    });
    await devices.recordSeen({ deviceId: 'breaker-1', deviceType: 'smart_breaker', time: NOW, count: 1 });
    const devicesSeen = devicesSeenFromDevicesTable({
      client: dynamo.client,
      tableName: tables.devices,
      deviceTypes: async () => ['smart_meter', 'smart_breaker', 'environmental_sensor'],
    });

    const snapshot = await store.snapshot(15, devicesSeen);

    expect(snapshot.devicesSeen).toBe(2);
  });
});
