import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../ports/registry.js';
import type { TableNames } from '../../shared/tables.js';
import { DynamoMessageSampleStore } from './message-samples.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

let dynamo: TestDynamo;
let tables: TableNames;
let now: number;
let store: DynamoMessageSampleStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  tables = await dynamo.freshTables();
  now = T0;
  store = new DynamoMessageSampleStore({
    client: dynamo.client,
    tableName: tables.messages,
    ttlSeconds: 60,
    now: () => now,
  });
});

describe('message samples', () => {
  it('returns the newest first, up to the limit, exactly as written', async () => {
    for (let i = 0; i < 5; i++) {
      await store.add('raw', {
        id: `m${i}`,
        time: T0 + i * 1000,
        deviceId: 'dev-1',
        body: { n: i, '': 'odd key' },
      });
    }

    const recent = await store.recent('raw', { limit: 3 });

    expect(recent.map((s) => s.id)).toEqual(['m4', 'm3', 'm2']);
    expect(recent[0]).toEqual({
      stage: 'raw',
      id: 'm4',
      time: '2026-03-01T12:00:04.000Z',
      deviceId: 'dev-1',
      body: { n: 4, '': 'odd key' },
    });
  });

  it('keeps stages apart and filters by device', async () => {
    await store.add('raw', { id: 'a', time: T0, deviceId: 'dev-1', body: 1 });
    await store.add('raw', { id: 'b', time: T0 + 1, deviceId: 'dev-2', body: 2 });
    await store.add('dlq', { id: 'c', time: T0 + 2, body: { reason: 'INVALID_JSON' } });

    expect((await store.recent('raw', { limit: 10 })).map((s) => s.id)).toEqual(['b', 'a']);
    expect((await store.recent('raw', { deviceId: 'dev-1', limit: 10 })).map((s) => s.id)).toEqual(['a']);
    expect(await store.recent('dlq', { limit: 10 })).toEqual([
      { stage: 'dlq', id: 'c', time: '2026-03-01T12:00:00.002Z', body: { reason: 'INVALID_JSON' } },
    ]);
  });

  it('leaves expired samples out, and the sweep deletes them', async () => {
    await store.add('enriched', { id: 'old', time: T0, deviceId: 'dev-1', body: {} });
    now += 45_000;
    await store.add('enriched', { id: 'new', time: T0 + 45_000, deviceId: 'dev-1', body: {} });
    now += 30_000; // 'old' expired at +60 s, 'new' expires at +105 s

    expect((await store.recent('enriched', { limit: 10 })).map((s) => s.id)).toEqual(['new']);
    expect((await store.recent('enriched', { deviceId: 'dev-1', limit: 10 })).map((s) => s.id)).toEqual([
      'new',
    ]);
    expect(await store.sweepExpired()).toBe(1);
    expect((await dynamo.client.send(new ScanCommand({ TableName: tables.messages }))).Items).toHaveLength(1);
  });

  it('fills the limit past expired items', async () => {
    for (let i = 0; i < 4; i++) await store.add('raw', { id: `fresh${i}`, time: T0 - 1000 * i, body: i });
    now += 120_000;
    for (let i = 0; i < 2; i++) await store.add('raw', { id: `late${i}`, time: T0 + 1000 * i, body: i });
    // Newer message times, but their samples were written later: expiry follows the write time.

    expect((await store.recent('raw', { limit: 5 })).map((s) => s.id)).toEqual(['late1', 'late0']);
  });

  it('writes the same (time, id) once', async () => {
    await store.add('raw', { id: 'same', time: T0, body: 1 });
    await store.add('raw', { id: 'same', time: T0, body: 1 });

    expect(await store.recent('raw', { limit: 10 })).toHaveLength(1);
  });

  it('replaces a body too large to keep by a placeholder', async () => {
    const small = new DynamoMessageSampleStore({
      client: dynamo.client,
      tableName: tables.messages,
      maxBodyBytes: 100,
    });

    await small.add('raw', { id: 'big', time: T0, body: { text: 'x'.repeat(500) } });

    expect((await small.recent('raw', { limit: 1 }))[0]).toMatchObject({
      truncated: true,
      body: { truncated: true, sizeBytes: 511 },
    });
  });

  it('validates stage, id, device and limit', async () => {
    await expect(store.add('nope' as 'raw', { id: 'a', time: T0, body: 1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.add('raw', { id: 'a b', time: T0, body: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.add('raw', { id: 'a', time: T0, deviceId: 'a/b', body: 1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.recent('raw', { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('message samples bounded per device (issue 14)', () => {
  it('keeps only the newest of a device, in each stage, leaving other devices alone', async () => {
    // Prepare: at most 5 per device and stage, trimmed at every add.
    const bounded = new DynamoMessageSampleStore({
      client: dynamo.client,
      tableName: tables.messages,
      keepPerDevice: 5,
      trimEvery: 1,
      now: () => now,
    });
    await bounded.add('enriched', { id: 'other', time: T0, deviceId: 'dev-2', body: 0 });
    await bounded.add('dlq', { id: 'letter', time: T0, deviceId: 'dev-1', body: 0 });

    // Act: 12 flagged samples of dev-1, out of time order.
    for (const i of [3, 0, 11, 7, 1, 9, 2, 10, 4, 8, 6, 5]) {
      await bounded.add('enriched', { id: `m${i}`, time: T0 + i * 1000, deviceId: 'dev-1', body: i });
    }

    // Assess
    const kept = await bounded.recent('enriched', { deviceId: 'dev-1', limit: 50 });
    expect(kept.map((s) => s.id)).toEqual(['m11', 'm10', 'm9', 'm8', 'm7']);
    expect((await bounded.recent('enriched', { deviceId: 'dev-2', limit: 50 })).map((s) => s.id)).toEqual([
      'other',
    ]);
    expect((await bounded.recent('dlq', { deviceId: 'dev-1', limit: 50 })).map((s) => s.id)).toEqual([
      'letter',
    ]);
  });

  it('trims once every `trimEvery` adds, so the bound overshoots by less than that', async () => {
    const bounded = new DynamoMessageSampleStore({
      client: dynamo.client,
      tableName: tables.messages,
      keepPerDevice: 3,
      trimEvery: 4,
      now: () => now,
    });
    const sizes: number[] = [];
    for (let i = 0; i < 12; i++) {
      await bounded.add('dlq', { id: `d${i}`, time: T0 + i, deviceId: 'dev-1', body: i });
      sizes.push((await bounded.recent('dlq', { deviceId: 'dev-1', limit: 50 })).length);
    }

    expect(Math.max(...sizes)).toBeLessThan(3 + 4);
    expect(sizes.at(-1)).toBe(3);
  });
});
