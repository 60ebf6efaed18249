import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDeviceStore, documentClient } from '../../functions/adapters/dynamodb/index.js';
import { TABLES } from '../../functions/shared/tables.js';
import { startDynalite } from './dynalite.js';
import { ensureTables } from './ensure-tables.js';
import { localTableNames } from './table-names.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Every cleanup runs, also after one that failed: a server that would not close keeps no directory.
  const failures: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error) => failures.push(error));
  if (failures.length > 0) throw new AggregateError(failures, 'cleanup failed');
});

const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'iot-dynalite-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

describe('startDynalite', () => {
  it('listens on a free port of 127.0.0.1', async () => {
    const local = await startDynalite();
    cleanups.push(() => local.close());

    expect(local.port).toBeGreaterThan(0);
    expect(local.endpoint).toBe(`http://127.0.0.1:${local.port}`);
    expect((await local.client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });

  it('runs two servers side by side', async () => {
    const [a, b] = await Promise.all([startDynalite(), startDynalite()]);
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );

    expect(a.port).not.toBe(b.port);
  });
});

describe('ensureTables', () => {
  it('creates every declared table with its keys and indexes, and is idempotent', async () => {
    const local = await startDynalite();
    cleanups.push(() => local.close());
    const names = localTableNames('it');

    const first = await ensureTables(local.client, names);
    const second = await ensureTables(local.client, names);

    expect(first.sort()).toEqual(Object.values(names).sort());
    expect(second).toEqual([]);
    const alerts = await local.client.send(new DescribeTableCommand({ TableName: names.alerts }));
    expect(alerts.Table?.KeySchema).toEqual([
      { AttributeName: 'deviceId', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(alerts.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(
      TABLES.alerts.globalSecondaryIndexes.map((index) => index.indexName).sort(),
    );
  });

  it('creates only the missing tables', async () => {
    const local = await startDynalite();
    cleanups.push(() => local.close());
    const names = localTableNames('partial');
    await ensureTables(local.client, names);

    const other = await ensureTables(local.client, { ...names, devices: 'partial-devices-2' });

    expect(other).toEqual(['partial-devices-2']);
  });
});

describe('persistence', () => {
  it('keeps tables and items after a restart on the same data directory', async () => {
    const dataDir = await tempDir();
    const names = localTableNames();
    const first = await startDynalite({ dataDir });
    await ensureTables(first.client, names);
    const seen = {
      deviceId: 'meter-7',
      deviceType: 'smart_meter',
      time: Date.parse('2026-01-01T00:00:00Z'),
      count: 5,
    };
    await new DynamoDeviceStore({
      client: documentClient(first.client),
      tableName: names.devices,
    }).recordSeen(seen);
    await first.close();

    const second = await startDynalite({ dataDir });
    cleanups.push(() => second.close());
    const device = await new DynamoDeviceStore({
      client: documentClient(second.client),
      tableName: names.devices,
    }).getDevice('meter-7');

    expect(device).toMatchObject({ deviceId: 'meter-7', messageCount: 5 });
    expect(await ensureTables(second.client, names)).toEqual([]);
  });

  it('refuses a data directory another store holds, saying so, and opens it once that one is closed', async () => {
    const dataDir = await tempDir();
    const first = await startDynalite({ dataDir });

    await expect(startDynalite({ dataDir })).rejects.toThrow(
      `${dataDir} is in use by another process (LevelDB's lock)`,
    );

    await first.close();
    const second = await startDynalite({ dataDir });
    cleanups.push(() => second.close());
    expect((await second.client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });
});

describe('compaction', () => {
  const directoryBytes = async (dir: string) => {
    let total = 0;
    for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
    return total;
  };

  it('drops deleted items from the LevelDB files and keeps the live ones', async () => {
    // Prepare: 2,000 items of 8 KB written, then deleted (the inspector's samples go this way all the
    // time), and 10 that stay.
    const dataDir = await tempDir();
    const local = await startDynalite({ dataDir, compactEveryMs: 0 });
    cleanups.push(() => local.close());
    const names = localTableNames('compact');
    await ensureTables(local.client, names);
    const client = documentClient(local.client);
    const write = (requests: Record<string, unknown>[]) =>
      client.send(new BatchWriteCommand({ RequestItems: { [names.devices]: requests } }));
    // Random, so LevelDB's compression cannot shrink it.
    const padding = randomBytes(6_000).toString('base64');
    const batches = Array.from({ length: 80 }, (_, batch) =>
      Array.from({ length: 25 }, (_, i) => `churn-${batch * 25 + i}`),
    );
    // Deleted long after they were written, as a device's oldest samples are: by then LevelDB has
    // moved them out of its memtable into table files.
    for (const ids of batches)
      await write(ids.map((deviceId) => ({ PutRequest: { Item: { deviceId, padding } } })));
    for (const ids of batches) await write(ids.map((deviceId) => ({ DeleteRequest: { Key: { deviceId } } })));
    await write(Array.from({ length: 10 }, (_, i) => ({ PutRequest: { Item: { deviceId: `kept-${i}` } } })));
    const before = await directoryBytes(dataDir);

    // Act
    await local.compact();

    // Assess: the 16 MB written and deleted are gone from the files; the live items are still there.
    const after = await directoryBytes(dataDir);
    expect(before).toBeGreaterThan(8_000_000);
    expect(after).toBeLessThan(before / 4);
    const kept = await client.send(new GetCommand({ TableName: names.devices, Key: { deviceId: 'kept-9' } }));
    expect(kept.Item).toEqual({ deviceId: 'kept-9' });
  });
});
