/**
 * Reading-level no-data rules in AWS, end to end over dynalite: the enrich Lambda's batch function
 * (enrich-lambda.ts) enriches the sensor's telemetry and its bookkeeping writes the device record with
 * each watched reading's last-seen time (batch-bookkeeping.ts, DynamoDeviceStore.recordSeen); the
 * no-data Lambda's composition (no-data-dependencies.ts) reads those records, nothing else, and raises
 * environmental_sensor `humidity-silent` (600 s) while the sensor's other readings go on, then clears
 * it when humidity returns. The same for either time-series sink: neither is read.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ensureTables,
  type LocalDynamo,
  localTableNames,
  seedRegistry,
  startDynalite,
} from '../../local/dynamodb/index.js';
import { seedRegistry as seedData } from '../../registry-data/index.js';
import {
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoRegistryStore,
  documentClient,
} from '../adapters/dynamodb/index.js';
import { noDataWindow } from '../core/no-data.js';
import { compileRegistry } from '../core/registry.js';
import { InMemoryAlertStateStore } from '../ports/registry.js';
import type { KafkaEvent } from '../ports/stream.js';
import type { TableNames } from '../shared/tables.js';
import { createNoDataLambdaDependencies } from './no-data-dependencies.js';
import { LAMBDA_ENV, MemoryProducer, mskEvent, silentObservability } from './test-support.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const MINUTE = 60_000;
const SENSOR = 'env-77';

let createNoDataLambda: typeof import('./no-data.js').createNoDataLambda;
let createEnrichLambda: typeof import('./enrich.js').createEnrichLambda;
let dynalite: LocalDynamo;
let tables: TableNames;
const clock = { now: T0 };

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  // The entries' cold starts read the environment and create their clients (no call is made).
  ({ createNoDataLambda } = await import('./no-data.js'));
  ({ createEnrichLambda } = await import('./enrich.js'));
  dynalite = await startDynalite();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await dynalite.close();
});
beforeEach(async () => {
  clock.now = T0;
  tables = localTableNames(`n-${randomUUID().slice(0, 8)}`);
  await ensureTables(dynalite.client, tables);
  await seedRegistry(
    { registry: new DynamoRegistryStore({ client: documentClient(dynalite.client), tables }) },
    seedData,
  );
});

function noDataLambda() {
  const observability = silentObservability();
  const dependencies = createNoDataLambdaDependencies({
    dynamo: documentClient(dynalite.client),
    tables,
    registryRefreshMs: 60_000,
    observability,
    now: () => clock.now,
  });
  const handler = createNoDataLambda({ ...dependencies, observability });
  return () => handler({ time: new Date(clock.now).toISOString() } as ScheduledEvent);
}

/** The enrich Lambda's batch function with the real device store; the rest of its ports in memory. */
function enrichLambda() {
  const registry = compileRegistry(seedData);
  return createEnrichLambda({
    producer: new MemoryProducer(),
    registry: async () => registry,
    devices: new DynamoDeviceStore({ client: documentClient(dynalite.client), tableName: tables.devices }),
    samples: { add: async () => {} },
    alerts: { add: async () => {} },
    alertState: new InMemoryAlertStateStore(),
    stats: { flush: async () => {} },
    observability: silentObservability(),
    serviceVersion: '0.1.0-test',
    now: () => clock.now,
  });
}

/** An MSK batch of iot.raw with one telemetry message of the sensor, received at `time`. */
function sensorTelemetry(time: number, measurements: Record<string, number | null>): KafkaEvent {
  const message = {
    device_id: SENSOR,
    device_type: 'environmental_sensor',
    timestamp: new Date(time).toISOString(),
    event_type: 'telemetry',
    measurements,
  };
  const event = mskEvent('iot.raw', 0, [JSON.stringify(message)]);
  const records = Object.fromEntries(
    Object.entries(event.records).map(([partition, list]) => [
      partition,
      list.map((record) => ({ ...record, timestamp: time, key: Buffer.from(SENSOR).toString('base64') })),
    ]),
  );
  return { ...event, records };
}

const alertIdAt = (at: number) => `${SENSOR}:no-data:${noDataWindow(at)}:humidity-silent`;
const storedAlert = (alertId: string) =>
  new DynamoAlertStore({ client: documentClient(dynalite.client), tableName: tables.alerts }).get(alertId);

describe('no-data Lambda over the device records the enrich Lambda writes', () => {
  it('raises humidity-silent while the temperature goes on, and clears it when humidity returns', async () => {
    // Prepare: humidity and temperature at T0, then temperature alone every minute until T0 + 11 min.
    const enrich = enrichLambda();
    const reports = async (time: number, measurements: Record<string, number | null>) => {
      clock.now = time;
      await enrich(sensorTelemetry(time, measurements));
    };
    const run = noDataLambda();
    await reports(T0, { temperature: 21, humidity: 40 });
    for (let minute = 1; minute <= 11; minute++) await reports(T0 + minute * MINUTE, { temperature: 21 });

    // Act: 11 min of humidity silence (over 600 s) at the window's start; then humidity again.
    clock.now = T0 + 11 * MINUTE + 5_000;
    const silent = await run();
    const raisedAt = clock.now;
    await reports(T0 + 11 * MINUTE + 30_000, { temperature: 21, humidity: 41 });
    clock.now = T0 + 12 * MINUTE + 5_000;
    const back = await run();

    // Assess
    expect(silent).toMatchObject({ devices: 1, raised: 1, cleared: 0 });
    expect(await storedAlert(alertIdAt(raisedAt))).toMatchObject({
      rule_id: 'humidity-silent',
      path: 'humidity',
      value: 660,
      threshold: 600,
    });
    expect(back).toMatchObject({ devices: 1, raised: 0, cleared: 1 });
    expect((await storedAlert(alertIdAt(raisedAt))).lifecycle).toMatchObject({ state: 'cleared' });
  });

  it('keeps a humidity that arrives null (a BAD value) silent', async () => {
    // Prepare: humidity at T0, then only nulls for it next to a valid temperature.
    const enrich = enrichLambda();
    clock.now = T0;
    await enrich(sensorTelemetry(T0, { temperature: 21, humidity: 40 }));
    for (let minute = 1; minute <= 11; minute++) {
      clock.now = T0 + minute * MINUTE;
      await enrich(sensorTelemetry(clock.now, { temperature: 21, humidity: null }));
    }

    // Act
    clock.now = T0 + 11 * MINUTE + 5_000;
    const summary = await noDataLambda()();

    // Assess: the record's humidity is still T0's, the device itself was seen at the last message.
    const device = await new DynamoDeviceStore({
      client: documentClient(dynalite.client),
      tableName: tables.devices,
    }).getDevice(SENSOR);
    expect(device).toMatchObject({
      lastSeen: new Date(T0 + 11 * MINUTE).toISOString(),
      readingsSeen: { humidity: new Date(T0).toISOString() },
    });
    expect(summary).toMatchObject({ raised: 1 });
    expect(await storedAlert(alertIdAt(clock.now))).toMatchObject({ path: 'humidity', value: 660 });
  });
});
