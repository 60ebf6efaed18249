/**
 * The no-data Lambda's composition (no-data-dependencies.ts) on each time-series sink: a reading-level
 * rule (environmental_sensor `humidity-silent`, 600 s) raises while the sensor's other readings go on,
 * and clears when the reading returns.
 * - DynamoDB sink: registry, devices, alerts and the sink's tables on dynalite; the points are written
 *   by the sink's own writer, as the time-series writer Lambda writes them.
 * - Timestream: the registry tables on dynalite, Timestream's Query mocked with aws-sdk-client-mock
 *   (what the other Timestream tests use: no Timestream runs here), answering in the service's shape.
 */
import { randomUUID } from 'node:crypto';
import {
  QueryCommand,
  type QueryCommandOutput,
  TimestreamQueryClient,
} from '@aws-sdk/client-timestream-query';
import type { ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ensureTables,
  ensureTimeseriesTables,
  type LocalDynamo,
  localTableNames,
  localTimeseriesTableNames,
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
import { DynamoTimeseriesSink, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import { NO_DATA_WINDOW_MS, noDataWindow } from '../core/no-data.js';
import type { TimeSeriesPoint } from '../core/timeseries.js';
import type { TableNames } from '../shared/tables.js';
import { createNoDataLambdaDependencies, type NoDataReadingsOptions } from './no-data-dependencies.js';
import { LAMBDA_ENV, silentObservability } from './test-support.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const MINUTE = 60_000;
const SENSOR = 'env-77';
const timestream = mockClient(TimestreamQueryClient);

let createNoDataLambda: typeof import('./no-data.js').createNoDataLambda;
let dynalite: LocalDynamo;
let tables: TableNames;
let latestTable: string;
let sink: DynamoTimeseriesSink;
const clock = { now: T0 };

beforeAll(async () => {
  for (const [name, value] of Object.entries({ ...LAMBDA_ENV, TIMESERIES_SINK: 'dynamodb' }))
    vi.stubEnv(name, value);
  // The entry's cold start reads the environment and creates its clients (no call is made).
  ({ createNoDataLambda } = await import('./no-data.js'));
  dynalite = await startDynalite();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  timestream.restore();
  await dynalite.close();
});
beforeEach(async () => {
  timestream.reset();
  clock.now = T0;
  const prefix = `n-${randomUUID().slice(0, 8)}`;
  tables = localTableNames(prefix);
  const timeseriesTables = localTimeseriesTableNames(prefix);
  await ensureTables(dynalite.client, tables);
  await ensureTimeseriesTables(dynalite.client, timeseriesTables);
  const dynamo = documentClient(dynalite.client);
  await seedRegistry({ registry: new DynamoRegistryStore({ client: dynamo, tables }) }, seedData);
  latestTable = timeseriesTables.timeseriesLatest;
  sink = new DynamoTimeseriesSink({
    client: timeseriesDocumentClient(dynalite.client),
    tables: {
      points: timeseriesTables.timeseriesPoints,
      latest: timeseriesTables.timeseriesLatest,
      rollups: timeseriesTables.timeseriesRollups,
    },
    now: () => clock.now,
  });
});

function noDataLambda(readings: NoDataReadingsOptions) {
  const observability = silentObservability();
  const dependencies = createNoDataLambdaDependencies({
    dynamo: documentClient(dynalite.client),
    tables,
    readings,
    registryRefreshMs: 60_000,
    observability,
    now: () => clock.now,
  });
  const handler = createNoDataLambda({ ...dependencies, observability });
  return () => handler({ time: new Date(clock.now).toISOString() } as ScheduledEvent);
}

/** One telemetry message of the sensor at `time`: its device record and the given readings' points. */
async function sensorReports(time: number, readings: Record<string, number>) {
  const devices = new DynamoDeviceStore({
    client: documentClient(dynalite.client),
    tableName: tables.devices,
  });
  await devices.recordSeen({ deviceId: SENSOR, deviceType: 'environmental_sensor', time, count: 1 });
  const points = Object.entries(readings).map(
    ([measure, value]): TimeSeriesPoint => ({
      deviceId: SENSOR,
      deviceType: 'environmental_sensor',
      measure,
      kind: 'telemetry',
      time,
      value,
      valueType: 'DOUBLE',
      quality: 'GOOD',
    }),
  );
  await sink.write(points, []);
}

const alertIdAt = (at: number) => `${SENSOR}:no-data:${noDataWindow(at)}:humidity-silent`;
const storedAlert = (alertId: string) =>
  new DynamoAlertStore({ client: documentClient(dynalite.client), tableName: tables.alerts }).get(alertId);

describe('no-data Lambda on the DynamoDB sink', () => {
  it('raises humidity-silent while the temperature goes on, and clears when humidity returns', async () => {
    // Prepare: humidity and temperature at T0, then temperature alone until T0 + 11 min.
    const run = noDataLambda({
      sink: 'dynamodb',
      client: timeseriesDocumentClient(dynalite.client),
      latestTable,
    });
    await sensorReports(T0, { temperature: 21, humidity: 40 });
    for (let minute = 1; minute <= 11; minute++)
      await sensorReports(T0 + minute * MINUTE, { temperature: 21 });

    // Act: 11 min of humidity silence (over 600 s) at the window's start; then humidity again.
    clock.now = T0 + 11 * MINUTE + 5_000;
    const silent = await run();
    const raisedAt = clock.now;
    await sensorReports(T0 + 11 * MINUTE + 30_000, { temperature: 21, humidity: 41 });
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
});

/** A Timestream Query page in the service's shape: the readingsSeen columns, one row per device. */
function seenPage(rows: [string, number | null][]): Partial<QueryCommandOutput> {
  return {
    QueryId: 'q-1',
    ColumnInfo: [
      { Name: 'device_id', Type: { ScalarType: 'VARCHAR' } },
      { Name: 'seen_0', Type: { ScalarType: 'BIGINT' } },
    ],
    Rows: rows.map(([device, seen]) => ({
      Data: [{ ScalarValue: device }, seen === null ? { NullValue: true } : { ScalarValue: String(seen) }],
    })),
  } as Partial<QueryCommandOutput>;
}

describe('no-data Lambda on Timestream', () => {
  const readings: NoDataReadingsOptions = {
    sink: 'timestream',
    client: new TimestreamQueryClient({ region: 'eu-west-1' }),
    database: 'iot-cloud-dev',
    table: 'telemetry',
  };

  it('asks once per type with reading-level rules, raises a silent humidity and clears it', async () => {
    // Prepare: the sensor and a second one report every minute; the first one's humidity stopped at T0.
    await sensorReports(T0 + 11 * MINUTE, {});
    const devices = new DynamoDeviceStore({
      client: documentClient(dynalite.client),
      tableName: tables.devices,
    });
    await devices.recordSeen({ deviceId: 'env-78', deviceType: 'environmental_sensor', time: T0, count: 1 });
    await devices.recordSeen({
      deviceId: 'env-78',
      deviceType: 'environmental_sensor',
      time: T0 + 11 * MINUTE,
      count: 1,
    });
    timestream
      .on(QueryCommand)
      .resolvesOnce(
        seenPage([
          [SENSOR, T0],
          ['env-78', T0 + 11 * MINUTE],
        ]),
      )
      .resolves(
        seenPage([
          [SENSOR, T0 + 11 * MINUTE + 30_000],
          ['env-78', T0 + 11 * MINUTE],
        ]),
      );
    const run = noDataLambda(readings);

    // Act
    clock.now = T0 + 11 * MINUTE + 5_000;
    const silent = await run();
    const raisedAt = clock.now;
    clock.now = T0 + 12 * MINUTE + 5_000;
    const back = await run();

    // Assess: one query a run (smart_meter's rule is device-level: no query for it), bounded by the
    // look-back: the window's start less 600 s and one window.
    const sql = timestream.commandCalls(QueryCommand).map((call) => call.args[0].input.QueryString ?? '');
    const windowStart = noDataWindow(raisedAt) * NO_DATA_WINDOW_MS;
    expect(sql).toHaveLength(2);
    expect(sql[0]).toContain(`WHERE device_type = 'environmental_sensor'`);
    expect(sql[0]).toContain(`time >= from_milliseconds(${windowStart - 600_000 - NO_DATA_WINDOW_MS})`);
    expect(sql[0]).toContain('"humidity"');
    expect(silent).toMatchObject({ devices: 2, raised: 1, cleared: 0 });
    expect(await storedAlert(alertIdAt(raisedAt))).toMatchObject({ path: 'humidity', value: 660 });
    expect(back).toMatchObject({ devices: 2, raised: 0, cleared: 1 });
  });

  it('takes a reading missing from the look-back for silent since it began', async () => {
    // Prepare: the sensor reports on; its humidity appears in no record of the look-back.
    await sensorReports(T0, {});
    await sensorReports(T0 + 30 * MINUTE, {});
    timestream.on(QueryCommand).resolves(seenPage([]));
    const run = noDataLambda(readings);

    // Act
    clock.now = T0 + 30 * MINUTE + 5_000;
    const summary = await run();

    // Assess: silent for the look-back at least (600 s + one window), not since the last message.
    expect(summary).toMatchObject({ raised: 1 });
    expect(await storedAlert(alertIdAt(clock.now))).toMatchObject({ path: 'humidity', value: 660 });
  });
});
