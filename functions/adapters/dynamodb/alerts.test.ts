import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toClearEvent } from '../../core/alert-state.js';
import type { Alert } from '../../core/contract/messages.js';
import { NotFoundError, ValidationError } from '../../ports/registry.js';
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
    expect(recent[0]).toEqual({ ...alert(3), lifecycle: { state: 'active' } });
  });

  it('stores a redelivered alert once, even with a later raised_at', async () => {
    await store.add([alert(1)]);

    await store.add([alert(1), alert(1, { raised_at: iso(T0 + 50_000) })]);

    const stored = { ...alert(1), lifecycle: { state: 'active' } };
    expect(await store.recent({ limit: 10 })).toEqual([stored]);
    expect(await store.recent({ deviceId: 'breaker-001', limit: 10 })).toEqual([stored]);
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

describe('alert lifecycle (issue 15)', () => {
  const ids = (list: Alert[]) => list.map((a) => a.alert_id);

  it('acknowledges a raise with who, when and a note; the first acknowledgement stands', async () => {
    // Prepare
    await store.add([alert(1)]);

    // Act
    const acked = await store.acknowledge('msg-1:overcurrent', { by: 'ops-1', at: T0 + 5000, note: 'on it' });
    const again = await store.acknowledge('msg-1:overcurrent', { by: 'ops-2', at: T0 + 9000 });

    // Assess
    expect(acked.lifecycle).toEqual({
      state: 'acknowledged',
      acknowledged_at: iso(T0 + 5000),
      acknowledged_by: 'ops-1',
      note: 'on it',
    });
    expect(again.lifecycle).toEqual(acked.lifecycle);
  });

  it('clears a raise as an operator: a clear event stored as its own record, the raise marked', async () => {
    // Prepare
    await store.add([alert(1)]);

    // Act
    const { record, event } = await store.clear('msg-1:overcurrent', { by: 'ops-1', at: T0 + 7000 });
    const second = await store.clear('msg-1:overcurrent', { by: 'ops-2', at: T0 + 8000 });

    // Assess
    expect(event).toMatchObject({
      alert_id: 'msg-1:overcurrent:cleared',
      transition: 'cleared',
      cleared_by: 'operator',
      raised_alert_id: 'msg-1:overcurrent',
    });
    expect(record.lifecycle).toEqual({
      state: 'cleared',
      cleared_at: iso(T0 + 7000),
      cleared_by: 'operator',
      cleared_by_user: 'ops-1',
    });
    expect(second.event).toBeUndefined();
    expect(ids(await store.recent({ limit: 10 }))).toEqual([
      'msg-1:overcurrent:cleared',
      'msg-1:overcurrent',
    ]);
  });

  it('marks a raise cleared by the condition when its clear event is stored, once', async () => {
    // Prepare
    await store.add([alert(1)]);
    const clear = toClearEvent({ ...alert(2), raised_at: iso(T0 + 3000) }, 'msg-1:overcurrent', 'condition');

    // Act
    await store.add([clear]);
    await store.add([clear]); // redelivered

    // Assess
    expect((await store.get('msg-1:overcurrent')).lifecycle).toEqual({
      state: 'cleared',
      cleared_at: iso(T0 + 3000),
      cleared_by: 'condition',
    });
    expect(ids(await store.recent({ limit: 10 }))).toEqual([
      'msg-1:overcurrent:cleared',
      'msg-1:overcurrent',
    ]);
  });

  it('filters by lifecycle state and by rule, raises only', async () => {
    // Prepare
    await store.add([
      alert(1),
      alert(2),
      alert(3, { rule_id: 'undervoltage', alert_id: 'msg-3:undervoltage' }),
    ]);
    await store.acknowledge('msg-2:overcurrent', { by: 'ops', at: T0 + 10_000 });
    await store.clear('msg-1:overcurrent', { by: 'ops', at: T0 + 11_000 });

    // Act
    const active = await store.recent({ state: 'active', limit: 10 });
    const acknowledged = await store.recent({ state: 'acknowledged', limit: 10 });
    const cleared = await store.recent({ state: 'cleared', deviceId: 'breaker-001', limit: 10 });
    const byRule = await store.recent({ ruleId: 'undervoltage', limit: 10 });

    // Assess
    expect(ids(active)).toEqual(['msg-3:undervoltage']);
    expect(ids(acknowledged)).toEqual(['msg-2:overcurrent']);
    expect(ids(cleared)).toEqual(['msg-1:overcurrent']);
    expect(ids(byRule)).toEqual(['msg-3:undervoltage']);
  });

  it('answers NotFoundError for an unknown alert and refuses to acknowledge a clear event', async () => {
    // Prepare
    await store.add([alert(1)]);
    const { event } = await store.clear('msg-1:overcurrent', { by: 'ops', at: T0 + 1000 });

    // Act / Assess
    await expect(store.acknowledge('msg-9:nothing', { by: 'ops', at: T0 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(store.acknowledge(event?.alert_id ?? '', { by: 'ops', at: T0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
