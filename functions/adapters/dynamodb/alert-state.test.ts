import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedRegistry } from '../../../registry-data/index.js';
import type { Alert } from '../../core/contract/messages.js';
import { compileRegistry } from '../../core/registry.js';
import { createEnrichHandler } from '../../handlers/enrich.js';
import { AlertStateConflict } from '../../ports/registry.js';
import type { KafkaEvent, StreamProducer, StreamRecord } from '../../ports/stream.js';
import { INDEX_NAMES } from '../../shared/tables.js';
import { DynamoAlertStateStore } from './alert-state.js';
import { DynamoAlertStore } from './alerts.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

// The v1 rules only: the stateful kinds (issue 15) are covered by functions/core/alert-rules.test.ts and
// would add their own events to these runs (a jump of 25 °C in a second is a fast rise).
const registry = compileRegistry({
  ...seedRegistry,
  alertRules: seedRegistry.alertRules.map((set) => ({
    ...set,
    rules: set.rules.filter((rule) => !('kind' in rule)),
  })),
});
const NOW = Date.parse('2026-11-23T12:00:01.000Z');
const DEVICE = 'env-00001';

class MemoryProducer implements StreamProducer {
  readonly alerts: Alert[] = [];
  async send(topic: string, records: readonly StreamRecord[]) {
    if (topic !== 'iot.alerts') return;
    for (const r of records) this.alerts.push(JSON.parse(Buffer.from(r.value).toString('utf8')) as Alert);
  }
}

/** One environmental reading per offset; `temperature` above 40 °C matches temperature-high. */
function batch(readings: [offset: number, temperature: number | undefined][]): KafkaEvent {
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/iot-cloud/abc',
    bootstrapServers: 'b-1.example:9098',
    records: {
      'iot.raw-0': readings.map(([offset, temperature]) => ({
        topic: 'iot.raw',
        partition: 0,
        offset,
        timestamp: NOW - 1000,
        timestampType: 'CREATE_TIME',
        key: Buffer.from(DEVICE).toString('base64'),
        value: Buffer.from(
          JSON.stringify({
            device_id: DEVICE,
            device_type: 'environmental_sensor',
            message_id: `m${offset}`,
            timestamp: new Date(NOW - 60_000 + offset * 1000).toISOString(),
            event_type: 'telemetry',
            // Without temperature the message says nothing about the temperature rules.
            measurements: temperature === undefined ? { humidity: 40 } : { temperature, humidity: 40 },
          }),
        ).toString('base64'),
        headers: [],
      })),
    },
  };
}

let dynamo: TestDynamo;
let state: DynamoAlertStateStore;
let alerts: DynamoAlertStore;
let alertsTable: string;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tables = await dynamo.freshTables();
  alertsTable = tables.alerts;
  state = new DynamoAlertStateStore({ client: dynamo.client, tableName: tables.alerts });
  alerts = new DynamoAlertStore({ client: dynamo.client, tableName: tables.alerts, now: () => NOW });
});

/** The enrich handler over the DynamoDB state store, storing what it produces as the Lambda does. */
function enrich() {
  const producer = new MemoryProducer();
  const handler = createEnrichHandler({
    producer,
    registry: () => registry,
    service: 'enrich',
    serviceVersion: 'test',
    now: () => NOW,
    alertState: state,
  });
  return {
    producer,
    run: async (event: KafkaEvent) => {
      const before = producer.alerts.length;
      await handler(event);
      const raised = producer.alerts.slice(before);
      await alerts.add(raised);
      return raised.map((a) => a.alert_id);
    },
  };
}

describe('edge-triggered alerts over DynamoDB (dynalite)', () => {
  it('raises an onset once and suppresses its continuations, across batches', async () => {
    const { run } = enrich();

    const first = await run(
      batch([
        [0, 45],
        [1, 46],
        [2, 47],
      ]),
    );
    const second = await run(
      batch([
        [3, 48],
        [4, 49],
      ]),
    );

    expect(first).toEqual(['m0:temperature-high']);
    expect(second).toEqual([]);
    expect((await alerts.recent({ limit: 50 })).map((a) => a.alert_id)).toEqual(['m0:temperature-high']);
    // The reading time the onset was decided on is kept: an older reading sent later is stale.
    expect((await state.load([DEVICE]))[DEVICE]?.['temperature-high']).toMatchObject({
      newest: NOW - 60_000,
    });
  });

  it('clears when a message shows the reading no longer matching, and raises a later match again', async () => {
    const { run } = enrich();

    const raised = [
      ...(await run(batch([[0, 45]]))),
      // Absent reading: says nothing, the condition stays active.
      ...(await run(
        batch([
          [1, undefined],
          [2, 46],
        ]),
      )),
      ...(await run(
        batch([
          [3, 20],
          [4, 21],
        ]),
      )),
      ...(await run(
        batch([
          [5, 50],
          [6, 51],
        ]),
      )),
    ];

    expect(raised).toEqual(['m0:temperature-high', 'm0:temperature-high:cleared', 'm5:temperature-high']);
  });

  it('re-raises the same alert id when the onset is redelivered after its state was saved', async () => {
    // The first delivery saved the state; its alerts are then "lost" (a crash before producing).
    await enrich().run(
      batch([
        [0, 45],
        [1, 46],
      ]),
    );

    const redelivered = await enrich().run(
      batch([
        [0, 45],
        [1, 46],
      ]),
    );
    const next = await enrich().run(batch([[2, 47]]));

    expect(redelivered).toEqual(['m0:temperature-high']);
    expect(next).toEqual([]);
    expect((await alerts.recent({ limit: 50 })).map((a) => a.alert_id)).toEqual(['m0:temperature-high']);
  });

  it('keeps state items out of every alert query and both feeds', async () => {
    const { run } = enrich();
    await run(
      batch([
        [0, 45],
        [1, 20],
        [2, 45],
      ]),
    );

    const byDevice = await alerts.recent({ deviceId: DEVICE, limit: 50 });
    const bySeverity = await alerts.recent({ severity: 'high', limit: 50 });
    const all = await alerts.recent({ limit: 50 });
    const feed = await dynamo.client.send(
      new QueryCommand({
        TableName: alertsTable,
        IndexName: INDEX_NAMES.alertsByRaisedAt,
        KeyConditionExpression: 'feed = :all',
        ExpressionAttributeValues: { ':all': 'all' },
      }),
    );
    const items = await dynamo.client.send(new ScanCommand({ TableName: alertsTable }));

    // Newest first: the second raise, the clear (stored as its own record, contract), the first raise.
    const expected = ['m2:temperature-high', 'm0:temperature-high:cleared', 'm0:temperature-high'];
    expect(byDevice.map((a) => a.alert_id)).toEqual(expected);
    expect(bySeverity.map((a) => a.alert_id)).toEqual(expected);
    expect(all.map((a) => a.alert_id)).toEqual(expected);
    expect(feed.Items?.every((item) => !String(item.sk).startsWith('state#'))).toBe(true);
    const stateItems = (items.Items ?? []).filter((item) => String(item.sk).startsWith('state#'));
    expect(stateItems.map((item) => item.sk)).toEqual(['state#temperature-high']);
    expect(stateItems[0]).not.toHaveProperty('feed');
    expect(stateItems[0]).not.toHaveProperty('severity');
  });

  it('refuses a write from a consumer that decided on a stale version', async () => {
    await state.save(DEVICE, {
      'temperature-high': { active: true, alertId: 'a', onsets: ['a'], version: 1 },
    });

    await expect(
      state.save(DEVICE, { 'temperature-high': { active: true, alertId: 'b', onsets: ['b'], version: 1 } }),
    ).rejects.toBeInstanceOf(AlertStateConflict);
    expect((await state.load([DEVICE]))[DEVICE]?.['temperature-high']).toMatchObject({ alertId: 'a' });
  });

  it('decides again from the store when another consumer changed a device meanwhile', async () => {
    // Another instance raised the onset; this one's decision (from a stale read) conflicts, reloads and
    // finds the condition active: a continuation, not a second alert.
    await enrich().run(batch([[0, 45]]));
    const stale = { load: state.load.bind(state), save: state.save.bind(state) };
    let firstLoad = true;
    const producer = new MemoryProducer();
    const racing = createEnrichHandler({
      producer,
      registry: () => registry,
      service: 'enrich',
      serviceVersion: 'test',
      now: () => NOW,
      alertState: {
        load: async (ids) => {
          if (!firstLoad) return stale.load(ids);
          firstLoad = false;
          return { [DEVICE]: {} };
        },
        save: stale.save,
      },
    });

    await racing(batch([[1, 46]]));

    expect(firstLoad).toBe(false);
    expect(producer.alerts).toEqual([]);
    expect((await state.load([DEVICE]))[DEVICE]?.['temperature-high']).toMatchObject({
      alertId: 'm0:temperature-high',
      version: 1,
    });
  });
});
