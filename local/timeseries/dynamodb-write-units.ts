/**
 * Write units of the DynamoDB time-series sink per 1,000 messages, measured: the simulated fleet's
 * messages (every device type, registry reporting intervals, status and trends included) go through
 * the core (enrich, points) and the real sink over dynalite, which answers `ReturnConsumedCapacity:
 * TOTAL` with the units DynamoDB bills (1 WCU per started KB of the larger of the item before and after,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
 * Refused conditional writes (a latest value already as new) are billed too but dynalite reports none
 * for them: each is counted here at 1 WCU (latest items are under 1 KB, see the output).
 *
 * Usage: npx tsx local/timeseries/dynamodb-write-units.ts [-- --devices 200 --minutes 20 --batch 100]
 * The simulated span starts 10 minutes before an hour ends, so late messages into the closed hour (rollup
 * invalidations) are counted as they would be.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoTimeseriesSink,
  timeseriesDocumentClient,
} from '../../functions/adapters/dynamodb/timeseries/index.js';
import type { EnrichedMessage } from '../../functions/core/contract/messages.js';
import { processMessage } from '../../functions/core/process-message.js';
import { compileRegistry } from '../../functions/core/registry.js';
import { toTimeSeriesPoints } from '../../functions/core/timeseries.js';
import { seedRegistry } from '../../registry-data/index.js';
import { createSimulatedFleet } from '../../simulator/index.js';
import { ensureTimeseriesTables, localTimeseriesTableNames, startDynalite } from '../dynamodb/index.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '200' },
    minutes: { type: 'string', default: '20' },
    batch: { type: 'string', default: '100' },
  },
});
const devices = Number(values.devices);
const minutes = Number(values.minutes);
const batchSize = Number(values.batch);
const START = Date.parse('2026-11-23T09:50:00.000Z');
const registry = compileRegistry(seedRegistry);

// dynalite's own item-size function: the size DynamoDB bills on (attribute names plus values).
const require = createRequire(import.meta.url);
const dynaliteDb = require('dynalite/db/index.js') as { itemSize: (item: unknown) => number };
const itemBytes = (item: unknown) => dynaliteDb.itemSize(item);

const dynalite = await startDynalite();
try {
  const names = localTimeseriesTableNames('wcu');
  await ensureTimeseriesTables(dynalite.client, names);
  const client = timeseriesDocumentClient(dynalite.client);
  const tables = {
    points: names.timeseriesPoints,
    latest: names.timeseriesLatest,
    rollups: names.timeseriesRollups,
  };
  const units = new Map<string, number>();
  let staleLatest = 0;
  let clock = START;
  const sink = new DynamoTimeseriesSink({
    client,
    tables,
    now: () => clock,
    onConsumedCapacity: ({ table, units: u }) => units.set(table, (units.get(table) ?? 0) + u),
    onStaleLatest: () => {
      staleLatest++;
    },
  });

  const fleet = createSimulatedFleet({ devices, seed: 7, startTime: START, schedule: { mode: 'interval' } });
  let messages = 0;
  let points = 0;
  let batch: EnrichedMessage[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const batchPoints = batch.flatMap(toTimeSeriesPoints);
    points += batchPoints.length;
    await sink.write(batchPoints, batch);
    batch = [];
  };
  for (const sim of fleet.ticksUntil(START + minutes * 60_000)) {
    // The writer sees a message about a second after its device's clock.
    clock = sim.time + 1000;
    const outcome = processMessage(
      sim.payload,
      { receivedAt: clock, processedAt: clock },
      {
        registry,
        service: 'wcu',
        serviceVersion: '0',
      },
    );
    if (outcome.kind !== 'enriched') continue;
    batch.push(outcome.message);
    messages++;
    if (batch.length >= batchSize) await flush();
  }
  await flush();

  const per1000 = (n: number) => ((n * 1000) / messages).toFixed(0);
  const total = [...units.values()].reduce((a, b) => a + b, 0) + staleLatest;
  const sample = await dynalite.client.send(
    new GetItemCommand({
      TableName: tables.latest,
      Key: { deviceId: { S: 'breaker-00001' }, sk: { S: 'telemetry' } },
    }),
  );
  process.stdout.write(
    [
      `${messages} messages (${points} points) from ${devices} devices over ${minutes} simulated minutes, batches of ${batchSize}`,
      `points table:  ${units.get(tables.points) ?? 0} WCU (${per1000(units.get(tables.points) ?? 0)} per 1,000 messages)`,
      `latest table:  ${units.get(tables.latest) ?? 0} WCU + ${staleLatest} refused conditional updates (${per1000((units.get(tables.latest) ?? 0) + staleLatest)} per 1,000)`,
      `rollups table: ${units.get(tables.rollups) ?? 0} WCU of invalidations (${per1000(units.get(tables.rollups) ?? 0)} per 1,000)`,
      `total:         ${total} WCU = ${per1000(total)} WCU per 1,000 messages`,
      `a breaker's latest telemetry item: ${itemBytes(sample.Item ?? {})} bytes (DynamoDB item size)`,
      '',
    ].join('\n'),
  );
} finally {
  await dynalite.close();
}
