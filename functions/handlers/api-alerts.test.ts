/**
 * The alert lifecycle API (issue 15) against the real alert store on dynalite: acknowledge with a
 * note, operator clear (stored and published as a clear event), state/severity/rule/device filters,
 * the write auth, and 4xx answers naming the field.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAlertStore } from '../adapters/dynamodb/index.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import type { Alert } from '../core/contract/messages.js';
import { apiEvent, seedRegistryFake, type TestRequest } from './api/test-support.js';
import { type ApiAuth, createApiHandler } from './api.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const notUsed = async (): Promise<never> => {
  throw new Error('not used by these tests');
};

const raise = (n: number, overrides: Partial<Alert> = {}): Alert => ({
  alert_id: `m${n}:temperature-high`,
  device_id: 'breaker-001',
  device_type: 'smart_breaker',
  rule_id: 'temperature-high',
  rule_name: 'Overtemperature',
  path: 'temperature',
  operator: 'gt',
  value: 80,
  threshold: 75,
  unit: '°C',
  severity: 'high',
  triggered_at: new Date(T0 + n * 1000).toISOString(),
  raised_at: new Date(T0 + n * 1000 + 10).toISOString(),
  message_id: `m${n}`,
  transition: 'raised',
  rule_kind: 'threshold',
  ...overrides,
});

let dynamo: TestDynamo;
let store: DynamoAlertStore;
let published: Alert[];

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tables = await dynamo.freshTables();
  store = new DynamoAlertStore({ client: dynamo.client, tableName: tables.alerts, now: () => T0 });
  published = [];
});

function api(auth: ApiAuth = { mode: 'open' }) {
  return createApiHandler({
    version: 'test',
    registry: seedRegistryFake(),
    alerts: store,
    publishAlert: async (alert) => {
      published.push(alert);
    },
    auth,
    devices: { list: notUsed, get: async () => undefined },
    timeseries: { latest: notUsed, series: notUsed, buckets: notUsed, seriesPage: notUsed, count: notUsed },
    messages: { recent: notUsed },
    stats: notUsed,
    health: async () => ({}),
    now: () => T0 + 60_000,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
async function call(request: TestRequest, handler = api()): Promise<{ status: number; body: any }> {
  const result = await handler(apiEvent(request));
  return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
}

const json = { 'content-type': 'application/json' };

describe('POST /api/alerts/{alertId}/acknowledge', () => {
  it('records who, when and the note', async () => {
    // Prepare
    await store.add([raise(1)]);

    // Act
    const answer = await call(
      {
        method: 'POST',
        path: '/api/alerts/m1:temperature-high/acknowledge',
        headers: { ...json, authorization: 'Bearer s3cret' },
        body: JSON.stringify({ note: 'crew on site' }),
      },
      api({ mode: 'bearer', token: 's3cret' }),
    );

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.lifecycle).toEqual({
      state: 'acknowledged',
      acknowledged_at: new Date(T0 + 60_000).toISOString(),
      acknowledged_by: 'token',
      note: 'crew on site',
    });
  });

  it('needs the write auth', async () => {
    // Prepare
    await store.add([raise(1)]);

    // Act
    const answer = await call(
      { method: 'POST', path: '/api/alerts/m1:temperature-high/acknowledge' },
      api({ mode: 'bearer', token: 's3cret' }),
    );

    // Assess
    expect(answer.status).toBe(401);
    expect((await store.get('m1:temperature-high')).lifecycle?.state).toBe('active');
  });

  it('answers 404 for an unknown alert and 400 naming the field for a bad note', async () => {
    // Act
    const unknown = await call({ method: 'POST', path: '/api/alerts/nope/acknowledge' });
    await store.add([raise(1)]);
    const badNote = await call({
      method: 'POST',
      path: '/api/alerts/m1:temperature-high/acknowledge',
      headers: json,
      body: JSON.stringify({ note: 42 }),
    });

    // Assess
    expect(unknown.status).toBe(404);
    expect(badNote.status).toBe(400);
    expect(badNote.body.error.details.map((d: { field: string }) => d.field)).toContain('note');
  });
});

describe('POST /api/alerts/{alertId}/clear', () => {
  it('stores and publishes one clear event by the operator; a second clear changes nothing', async () => {
    // Prepare
    await store.add([raise(1)]);

    // Act
    const first = await call({ method: 'POST', path: '/api/alerts/m1:temperature-high/clear' });
    const second = await call({ method: 'POST', path: '/api/alerts/m1:temperature-high/clear' });

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.alert.lifecycle).toMatchObject({
      state: 'cleared',
      cleared_by: 'operator',
      cleared_by_user: 'local',
    });
    expect(first.body.event).toMatchObject({
      alert_id: 'm1:temperature-high:cleared',
      transition: 'cleared',
      cleared_by: 'operator',
      raised_alert_id: 'm1:temperature-high',
    });
    expect(second.body.event).toBeUndefined();
    expect(published.map((a) => a.alert_id)).toEqual(['m1:temperature-high:cleared']);
    expect((await store.recent({ limit: 10 })).map((a) => a.alert_id)).toContain(
      'm1:temperature-high:cleared',
    );
  });
});

describe('GET /api/alerts filters', () => {
  it('filters by state, severity, rule and device', async () => {
    // Prepare
    await store.add([
      raise(1),
      raise(2, { severity: 'critical', rule_id: 'overload', alert_id: 'm2:overload' }),
      raise(3, { device_id: 'breaker-002', alert_id: 'm3:temperature-high' }),
    ]);
    await call({ method: 'POST', path: '/api/alerts/m1:temperature-high/acknowledge' });
    await call({ method: 'POST', path: '/api/alerts/m3:temperature-high/clear' });
    const ids = async (query: string) =>
      (await call({ method: 'GET', path: `/api/alerts?${query}` })).body.items.map((a: Alert) => a.alert_id);

    // Act / Assess
    expect(await ids('state=active')).toEqual(['m2:overload']);
    expect(await ids('state=acknowledged')).toEqual(['m1:temperature-high']);
    expect(await ids('state=cleared')).toEqual(['m3:temperature-high']);
    expect(await ids('severity=critical')).toEqual(['m2:overload']);
    expect(await ids('ruleId=overload')).toEqual(['m2:overload']);
    expect(await ids('deviceId=breaker-002&state=cleared')).toEqual(['m3:temperature-high']);
  });

  it('answers 400 naming the field for an unknown state', async () => {
    // Act
    const answer = await call({ method: 'GET', path: '/api/alerts?state=sleeping' });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.map((d: { field: string }) => d.field)).toContain('state');
  });
});
