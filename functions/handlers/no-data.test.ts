/**
 * The no-data evaluator over DynamoDB (dynalite): devices' last-seen records, the alert condition
 * state and the alert store, as the Lambda and the local timer run it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { DynamoAlertStateStore } from '../adapters/dynamodb/alert-state.js';
import { DynamoAlertStore } from '../adapters/dynamodb/alerts.js';
import { DynamoDeviceStore } from '../adapters/dynamodb/devices.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import type { Alert } from '../core/contract/messages.js';
import { compileRegistry } from '../core/registry.js';
import { createNoDataHandler } from './no-data.js';

const registry = compileRegistry(seedRegistry);
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const MINUTE = 60_000;

let dynamo: TestDynamo;
let devices: DynamoDeviceStore;
let alerts: DynamoAlertStore;
let state: DynamoAlertStateStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tables = await dynamo.freshTables();
  devices = new DynamoDeviceStore({ client: dynamo.client, tableName: tables.devices });
  alerts = new DynamoAlertStore({ client: dynamo.client, tableName: tables.alerts, now: () => T0 });
  state = new DynamoAlertStateStore({ client: dynamo.client, tableName: tables.alerts });
});

function evaluator(at: { now: number }, published: Alert[]) {
  return createNoDataHandler({
    registry: () => registry,
    devices,
    alertState: state,
    alerts,
    publish: async (events) => {
      published.push(...events);
    },
    now: () => at.now,
  });
}

describe('no-data evaluator', () => {
  it('raises for a silent meter, repeats nothing in the same window, and clears once it reports', async () => {
    // Prepare: two meters seen at T0; one keeps reporting.
    await devices.recordSeen({ deviceId: 'meter-quiet', deviceType: 'smart_meter', time: T0, count: 1 });
    await devices.recordSeen({ deviceId: 'meter-busy', deviceType: 'smart_meter', time: T0, count: 1 });
    const clock = { now: T0 + 4 * MINUTE + 5000 };
    await devices.recordSeen({
      deviceId: 'meter-busy',
      deviceType: 'smart_meter',
      time: clock.now - 30_000,
      count: 1,
    });
    const published: Alert[] = [];
    const run = evaluator(clock, published);

    // Act
    const first = await run();
    clock.now += 20_000; // the same window
    const again = await run();
    await devices.recordSeen({
      deviceId: 'meter-quiet',
      deviceType: 'smart_meter',
      time: clock.now,
      count: 1,
    });
    clock.now += MINUTE;
    const back = await run();

    // Assess
    expect(first).toMatchObject({ devices: 2, raised: 1, cleared: 0 });
    expect(again).toMatchObject({ raised: 0, cleared: 0 });
    expect(back).toMatchObject({ raised: 0, cleared: 1 });
    expect(published.map((a) => [a.device_id, a.rule_id, a.transition])).toEqual([
      ['meter-quiet', 'meter-silent', 'raised'],
      ['meter-quiet', 'meter-silent', 'cleared'],
    ]);
    const raise = published[0] as Alert;
    expect((await alerts.get(raise.alert_id)).lifecycle).toMatchObject({
      state: 'cleared',
      cleared_by: 'condition',
    });
  });

  it('stops early when its signal is aborted, storing and publishing what it decided so far', async () => {
    // Two silent meters; the stop comes while the first is decided.
    for (const deviceId of ['meter-a', 'meter-b']) {
      await devices.recordSeen({ deviceId, deviceType: 'smart_meter', time: T0, count: 1 });
    }
    const stopping = new AbortController();
    const published: Alert[] = [];
    const run = createNoDataHandler({
      registry: () => registry,
      devices,
      alertState: {
        load: (ids) => state.load(ids),
        save: async (deviceId, states) => {
          await state.save(deviceId, states);
          stopping.abort();
        },
      },
      alerts,
      publish: async (events) => {
        published.push(...events);
      },
      now: () => T0 + 10 * MINUTE,
    });

    const summary = await run(stopping.signal);

    expect(summary).toMatchObject({ devices: 1, raised: 1 });
    expect(published).toHaveLength(1);
    expect((await alerts.get((published[0] as Alert).alert_id)).lifecycle).toMatchObject({ state: 'active' });
  });
});
