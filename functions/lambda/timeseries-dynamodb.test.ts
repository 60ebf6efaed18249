/**
 * The Lambda entries on the DynamoDB time-series sink, over dynalite: the writer stores an MSK batch
 * (and reports its write units), the API reads it back, the scheduled rollup rolls up the devices seen.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ensureTables,
  ensureTimeseriesTables,
  type LocalDynamo,
  localTableNames,
  localTimeseriesTableNames,
  startDynalite,
} from '../../local/dynamodb/index.js';
import { seedRegistry } from '../../registry-data/index.js';
import {
  DynamoTimeseriesQuery,
  DynamoTimeseriesSink,
  timeseriesDocumentClient,
} from '../adapters/dynamodb/timeseries/index.js';
import { compileRegistry } from '../core/registry.js';
import { createEnrichHandler } from '../handlers/enrich.js';
import type { TableNames } from '../shared/tables.js';
import { LAMBDA_ENV, MemoryProducer, mskEvent, mskRawEvent, silentObservability } from './test-support.js';

const HOUR = 3_600_000;
let createTimeseriesWriterLambda: typeof import('./timeseries-writer.js').createTimeseriesWriterLambda;
let createTimeseriesRollupLambda: typeof import('./timeseries-rollup.js').createTimeseriesRollupLambda;
let dynalite: LocalDynamo;
let tables: { points: string; latest: string; rollups: string };
let registryTables: TableNames;

beforeAll(async () => {
  for (const [name, value] of Object.entries({ ...LAMBDA_ENV, TIMESERIES_SINK: 'dynamodb' }))
    vi.stubEnv(name, value);
  ({ createTimeseriesWriterLambda } = await import('./timeseries-writer.js'));
  ({ createTimeseriesRollupLambda } = await import('./timeseries-rollup.js'));
  dynalite = await startDynalite();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await dynalite.close();
});
beforeEach(async () => {
  const prefix = `l-${randomUUID().slice(0, 8)}`;
  const names = localTimeseriesTableNames(prefix);
  registryTables = localTableNames(prefix);
  await ensureTimeseriesTables(dynalite.client, names);
  await ensureTables(dynalite.client, registryTables);
  tables = {
    points: names.timeseriesPoints,
    latest: names.timeseriesLatest,
    rollups: names.timeseriesRollups,
  };
});

/** The enriched records the enrich stage produces from the MSK fixture (two environmental sensors). */
async function enrichedValues(): Promise<string[]> {
  const producer = new MemoryProducer();
  await createEnrichHandler({
    producer,
    registry: () => compileRegistry(seedRegistry),
    service: 'test',
    serviceVersion: 'test',
  })(mskRawEvent());
  return producer.values('iot.enriched');
}

describe('time-series Lambdas on the DynamoDB sink', () => {
  it('the writer stores a batch the query adapter reads back, and reports its write units', async () => {
    const client = timeseriesDocumentClient(dynalite.client);
    let units = 0;
    const sink = new DynamoTimeseriesSink({
      client,
      tables,
      onConsumedCapacity: (c) => {
        units += c.units;
      },
    });
    const handler = createTimeseriesWriterLambda({
      sink,
      takeWriteUnits: () => units,
      stats: { flush: async () => {} },
      observability: silentObservability(),
    });
    const values = await enrichedValues();

    const response = await handler(mskEvent('iot.enriched', 0, values));

    expect(response).toEqual({ batchItemFailures: [] });
    const latest = await new DynamoTimeseriesQuery({ client, tables }).latest('env-00001');
    expect(latest.map((v) => v.measure)).toContain('temperature');
    // Two messages: one point item and one latest item each (plus rollup invalidations of closed hours).
    expect(units).toBeGreaterThanOrEqual(4);
  });

  it('the scheduled rollup rolls up the last closed hour of every device seen', async () => {
    const client = timeseriesDocumentClient(dynalite.client);
    const now = Date.parse('2026-11-23T10:05:00.000Z');
    const hour = Date.parse('2026-11-23T09:00:00.000Z');
    const sink = new DynamoTimeseriesSink({ client, tables, now: () => now });
    await sink.write([
      {
        deviceId: 'env-1',
        deviceType: 'environmental_sensor',
        measure: 'temperature',
        kind: 'telemetry',
        time: hour + 10 * 60_000,
        value: 21,
        valueType: 'DOUBLE',
        quality: 'GOOD',
      },
    ]);
    await client.send(
      new PutCommand({
        TableName: registryTables.devices,
        Item: {
          deviceId: 'env-1',
          deviceType: 'environmental_sensor',
          lastSeen: new Date(hour + HOUR).toISOString(),
        },
      }),
    );
    const handler = createTimeseriesRollupLambda({
      client,
      tables: { points: tables.points, rollups: tables.rollups, devices: registryTables.devices },
      observability: silentObservability(),
      now: () => now,
    });

    const summary = await handler({ time: new Date(now).toISOString() } as ScheduledEvent);

    expect(summary).toEqual({ devices: 1, written: 1, unchanged: 1, failed: [] });
  });
});
