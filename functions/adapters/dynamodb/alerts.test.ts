import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../core/contract/messages.js';
import { ValidationError } from '../../ports/registry.js';
import { DynamoAlertStore } from './alerts.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const alert = (n: number, overrides: Partial<Alert> = {}): Alert => ({
  alert_id: `msg-${n}:overcurrent`,
  device_id: 'breaker-001',
  device_type: 'smart_breaker',
  rule_id: 'overcurrent',
  rule_name: 'Overcurrent',
  path: 'current',
  operator: 'gt',
  value: 120,
  threshold: 100,
  unit: 'A',
  severity: 'high',
  triggered_at: iso(T0 + n * 1000),
  raised_at: iso(T0 + n * 1000 + 20),
  message_id: `msg-${n}`,
  ...overrides,
});

let dynamo: TestDynamo;
let now: number;
let store: DynamoAlertStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tables = await dynamo.freshTables();
  now = T0 + 60_000;
  store = new DynamoAlertStore({
    client: dynamo.client,
    tableName: tables.alerts,
    retentionSeconds: 3600,
    now: () => now,
  });
});

describe('alerts', () => {
  it('returns the newest first, up to the limit', async () => {
    await store.add([alert(1), alert(3), alert(2, { device_id: 'breaker-002' })]);

    const recent = await store.recent({ limit: 2 });

    expect(recent.map((a) => a.alert_id)).toEqual(['msg-3:overcurrent', 'msg-2:overcurrent']);
    expect(recent[0]).toEqual(alert(3));
  });

  it('stores a redelivered alert once, even with a later raised_at', async () => {
    await store.add([alert(1)]);

    await store.add([alert(1), alert(1, { raised_at: iso(T0 + 50_000) })]);

    expect(await store.recent({ limit: 10 })).toEqual([alert(1)]);
    expect(await store.recent({ deviceId: 'breaker-001', limit: 10 })).toEqual([alert(1)]);
  });

  it('filters by device and by severity, alone or together', async () => {
    await store.add([
      alert(1, { severity: 'critical' }),
      alert(2),
      alert(3, { device_id: 'breaker-002', severity: 'critical' }),
      alert(4, { device_id: 'breaker-002' }),
    ]);
    const ids = (list: Alert[]) => list.map((a) => a.message_id);

    expect(ids(await store.recent({ deviceId: 'breaker-002', limit: 10 }))).toEqual(['msg-4', 'msg-3']);
    expect(ids(await store.recent({ severity: 'critical', limit: 10 }))).toEqual(['msg-3', 'msg-1']);
    expect(ids(await store.recent({ deviceId: 'breaker-001', severity: 'critical', limit: 10 }))).toEqual([
      'msg-1',
    ]);
    expect(await store.recent({ deviceId: 'nobody', limit: 10 })).toEqual([]);
  });

  it('leaves expired alerts out', async () => {
    await store.add([alert(1)]);
    now += 3600_000;
    await store.add([alert(2)]);

    expect((await store.recent({ limit: 10 })).map((a) => a.message_id)).toEqual(['msg-2']);
  });

  it('orders alerts raised with a time-zone offset by their instant', async () => {
    await store.add([
      alert(1, { raised_at: '2026-03-01T13:00:10+01:00' }),
      alert(2, { raised_at: '2026-03-01T12:00:05Z' }),
    ]);

    expect((await store.recent({ limit: 10 })).map((a) => a.message_id)).toEqual(['msg-1', 'msg-2']);
  });

  it('refuses an invalid alert before writing anything', async () => {
    await expect(store.add([alert(1), alert(2, { device_id: 'bad id' })])).rejects.toBeInstanceOf(
      ValidationError,
    );

    expect(await store.recent({ limit: 10 })).toEqual([]);
  });
});
