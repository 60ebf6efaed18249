/**
 * Issue 15: what a device record costs with the watched readings' last-seen times on it, measured on
 * dynalite (`npx tsx scripts/device-record-size.ts`): the record's size (dynalite's DynamoDB item size)
 * and the UpdateItems `recordSeen` sends, in order and out of order, with the write units of those that
 * succeed (ReturnConsumedCapacity; a failed condition is billed too in AWS, dynalite reports nothing).
 */
import { createRequire } from 'node:module';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDeviceStore, documentClient } from '../functions/adapters/dynamodb/index.js';
import { ensureTables, localTableNames, startDynalite } from '../local/dynamodb/index.js';

// dynalite's own item size: attribute names plus values, as DynamoDB counts them.
const dynaliteDb = createRequire(import.meta.url)('dynalite/db/index.js') as {
  itemSize(item: unknown): number;
};
const T = Date.parse('2026-12-06T10:00:00.000Z');
const CASES: [string, Record<string, number> | undefined][] = [
  ['no watched reading', undefined],
  ['humidity watched', { humidity: T + 60_000 }],
  ['3 watched readings', { humidity: T + 60_000, 'voltage.phase_a': T + 60_000, temperature: T + 60_000 }],
];

const dynalite = await startDynalite();
try {
  const tables = localTableNames('record-size');
  await ensureTables(dynalite.client, tables);
  const client = documentClient(dynalite.client);
  // Each UpdateItem's outcome: its write units, or -1 for a failed condition.
  const updates: number[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (!('UpdateExpression' in input)) return next(args);
      input.ReturnConsumedCapacity = 'TOTAL';
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } })
          .ConsumedCapacity;
        updates.push(consumed?.CapacityUnits ?? Number.NaN);
        return result;
      } catch (error) {
        updates.push(-1);
        throw error;
      }
    },
    { step: 'initialize' },
  );
  const store = new DynamoDeviceStore({ client, tableName: tables.devices });
  const itemSize = async (deviceId: string) => {
    const { Item } = await dynalite.client.send(
      new GetItemCommand({ TableName: tables.devices, Key: { deviceId: { S: deviceId } } }),
    );
    return dynaliteDb.itemSize(Item);
  };
  const report = (label: string, size?: number) => {
    const failed = updates.filter((units) => units < 0).length;
    const units = updates.filter((u) => u >= 0).join('+');
    console.log(
      `${label}: ${size === undefined ? '' : `record ${size} bytes; `}UpdateItems ${updates.length} ` +
        `(failed conditions ${failed}), write units of the successful ones ${units}`,
    );
    updates.length = 0;
  };

  for (const [i, [label, readingsSeen]] of CASES.entries()) {
    const device = { deviceId: `env-${i}`, deviceType: 'environmental_sensor', count: 1 };
    await store.recordSeen({ ...device, time: T });
    updates.length = 0;
    await store.recordSeen({ ...device, time: T + 60_000, ...(readingsSeen ? { readingsSeen } : {}) });
    report(`in order, ${label}`, await itemSize(device.deviceId));
  }
  for (const [i, [label, readingsSeen]] of CASES.slice(0, 2).entries()) {
    // Older than the record (and its humidity older than the stored one).
    const older = readingsSeen ? { readingsSeen: { humidity: T + 30_000 } } : {};
    await store.recordSeen({
      deviceId: `env-${i}`,
      deviceType: 'environmental_sensor',
      count: 1,
      time: T + 30_000,
      ...older,
    });
    report(`out of order, ${label}`);
  }
} finally {
  await dynalite.close();
}
