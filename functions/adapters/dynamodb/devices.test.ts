import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../ports/registry.js';
import { DynamoDeviceStore } from './devices.js';
import { encodeCursor } from './support.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

let dynamo: TestDynamo;
let store: DynamoDeviceStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tables = await dynamo.freshTables();
  store = new DynamoDeviceStore({ client: dynamo.client, tableName: tables.devices });
});

describe('recordSeen', () => {
  it('creates a device on first sight', async () => {
    await store.recordSeen({ deviceId: 'breaker-001', deviceType: 'smart_breaker', time: T0, count: 3 });

    expect(await store.getDevice('breaker-001')).toEqual({
      deviceId: 'breaker-001',
      deviceType: 'smart_breaker',
      firstSeen: '2026-03-01T12:00:00.000Z',
      lastSeen: '2026-03-01T12:00:00.000Z',
      messageCount: 3,
    });
  });

  it('adds to the count and keeps firstSeen the earliest and lastSeen the newest, in any order', async () => {
    const seen = (offset: number, count: number) =>
      store.recordSeen({ deviceId: 'meter-1', deviceType: 'smart_meter', time: T0 + offset, count });

    await seen(0, 1);
    await seen(60_000, 2);
    await seen(-30_000, 4); // late, older than the first
    await seen(30_000, 8); // late, in between

    expect(await store.getDevice('meter-1')).toMatchObject({
      firstSeen: '2026-03-01T11:59:30.000Z',
      lastSeen: '2026-03-01T12:01:00.000Z',
      messageCount: 15,
    });
  });

  it('counts every one of many concurrent updates', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.recordSeen({
          deviceId: 'busy',
          deviceType: 'smart_meter',
          time: T0 + (i % 7) * 1000,
          count: 1,
        }),
      ),
    );

    expect(await store.getDevice('busy')).toMatchObject({
      messageCount: 20,
      firstSeen: '2026-03-01T12:00:00.000Z',
      lastSeen: '2026-03-01T12:00:06.000Z',
    });
  });

  it('keeps the online flag of the newest status only', async () => {
    await store.recordSeen({ deviceId: 'd1', deviceType: 'smart_meter', time: T0, count: 1, online: true });
    await store.recordSeen({
      deviceId: 'd1',
      deviceType: 'smart_meter',
      time: T0 - 1000,
      count: 1,
      online: false,
    });

    expect((await store.getDevice('d1'))?.online).toBe(true);
  });

  // Issue 15: the watched readings' last-seen times (the no-data evaluator's per-reading input).
  describe('readings seen', () => {
    const seen = (time: number, readingsSeen: Record<string, number>, count = 1) =>
      store.recordSeen({ deviceId: 'env-1', deviceType: 'environmental_sensor', time, count, readingsSeen });
    const iso = (offset: number) => new Date(T0 + offset).toISOString();

    it('records each reading with the device, and a newer batch moves each one forward', async () => {
      await seen(T0, { humidity: T0, 'voltage.phase_a': T0 });
      await seen(T0 + 60_000, { humidity: T0 + 60_000 });

      expect(await store.getDevice('env-1')).toEqual({
        deviceId: 'env-1',
        deviceType: 'environmental_sensor',
        firstSeen: iso(0),
        lastSeen: iso(60_000),
        messageCount: 2,
        readingsSeen: { humidity: iso(60_000), 'voltage.phase_a': iso(0) },
      });
    });

    it('never moves a reading back: an older batch only adds a reading newer than the one stored', async () => {
      await seen(T0 + 60_000, { humidity: T0 + 60_000, pressure: T0 });

      // Late and older than the record: its humidity is older, its pressure newer than stored.
      await seen(T0 + 30_000, { humidity: T0 + 30_000, pressure: T0 + 30_000, battery: T0 + 20_000 });

      expect(await store.getDevice('env-1')).toMatchObject({
        lastSeen: iso(60_000),
        messageCount: 2,
        readingsSeen: { humidity: iso(60_000), pressure: iso(30_000), battery: iso(20_000) },
      });
    });

    it('moves the device forward from a newest batch that carries a reading older than the one stored', async () => {
      await seen(T0 + 30_000, { humidity: T0 + 30_000 });

      // The newest batch of the device, but its humidity came in a message older than the stored one.
      await seen(T0 + 60_000, { humidity: T0 + 10_000, pressure: T0 + 60_000 }, 2);

      expect(await store.getDevice('env-1')).toMatchObject({
        lastSeen: iso(60_000),
        messageCount: 3,
        readingsSeen: { humidity: iso(30_000), pressure: iso(60_000) },
      });
    });

    it('keeps the newest of each reading over concurrent batches in any order', async () => {
      const offsets = [5, 1, 6, 0, 3, 2, 4];
      await Promise.all(
        offsets.map((i) =>
          seen(T0 + 10_000 + i * 1000, { humidity: T0 + i * 1000, pressure: T0 + (6 - i) * 1000 }),
        ),
      );

      expect(await store.getDevice('env-1')).toMatchObject({
        lastSeen: iso(16_000),
        messageCount: 7,
        readingsSeen: { humidity: iso(6000), pressure: iso(6000) },
      });
    });

    it('refuses a reading that is no measurement path or is newer than the batch', async () => {
      await expect(seen(T0, { 'seen:x': T0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(seen(T0, { humidity: T0 + 1 })).rejects.toBeInstanceOf(ValidationError);
      expect(await store.getDevice('env-1')).toBeUndefined();
    });
  });

  it('validates ids before building a key', async () => {
    await expect(
      store.recordSeen({ deviceId: 'bad id', deviceType: 'smart_meter', time: T0, count: 1 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.recordSeen({ deviceId: 'ok', deviceType: 'Smart-Meter', time: T0, count: 1 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(store.getDevice('')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('listDevices', () => {
  beforeEach(async () => {
    for (let i = 0; i < 7; i++) {
      await store.recordSeen({
        deviceId: `breaker-${i}`,
        deviceType: 'smart_breaker',
        time: T0 + i * 1000,
        count: 1,
      });
    }
    await store.recordSeen({ deviceId: 'breaker-v2-0', deviceType: 'smart_breaker_v2', time: T0, count: 1 });
    await store.recordSeen({ deviceId: 'meter-0', deviceType: 'smart_meter', time: T0, count: 1 });
  });

  it('pages through one exact type, newest first, with an opaque cursor', async () => {
    const ids: string[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listDevices({
        deviceType: 'smart_breaker',
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      ids.push(...page.items.map((d) => d.deviceId));
      pages.push(page.items.length);
      cursor = page.nextCursor;
    } while (cursor);

    expect(pages).toEqual([3, 3, 1]);
    expect(ids).toEqual([
      'breaker-6',
      'breaker-5',
      'breaker-4',
      'breaker-3',
      'breaker-2',
      'breaker-1',
      'breaker-0',
    ]);
  });

  it('leaves the cursor out when the last page is exactly full', async () => {
    const first = await store.listDevices({ deviceType: 'smart_breaker', limit: 4 });
    const second = await store.listDevices({
      deviceType: 'smart_breaker',
      limit: 3,
      cursor: first.nextCursor,
    });

    expect(second.items).toHaveLength(3);
    expect(second.nextCursor).toBeUndefined();
  });

  it('pages through all devices without a type', async () => {
    const ids = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listDevices({ limit: 4, ...(cursor ? { cursor } : {}) });
      for (const device of page.items) ids.add(device.deviceId);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);

    expect(ids.size).toBe(9);
    expect(pages).toBe(3);
  });

  it('refuses a tampered cursor or one from another type', async () => {
    const page = await store.listDevices({ deviceType: 'smart_breaker', limit: 2 });
    const forged = encodeCursor({
      deviceId: 'x',
      deviceType: 'smart_meter',
      lastSeen: '2026-03-01T12:00:00.000Z',
    });

    await expect(
      store.listDevices({ deviceType: 'smart_meter', limit: 2, cursor: page.nextCursor }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.listDevices({ deviceType: 'smart_breaker', limit: 2, cursor: forged }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(store.listDevices({ limit: 2, cursor: 'garbage!' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses a limit outside 1..1000', async () => {
    await expect(store.listDevices({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.listDevices({ limit: 1001 })).rejects.toBeInstanceOf(ValidationError);
  });
});
