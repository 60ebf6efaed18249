import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { SeriesQuery } from '../ports/timeseries.js';
import { emptyAlertStore, seedRegistryFake } from './api/test-support.js';
import { type ApiDependencies, createApiHandler, type DeviceSummary } from './api.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const breaker: DeviceSummary = {
  deviceId: 'breaker-00001',
  deviceType: 'smart_breaker',
  firstSeen: '2026-11-23T10:00:00.000Z',
  lastSeen: '2026-11-23T11:59:58.000Z',
  messageCount: 42,
  status: 'online',
};
const queries: (SeriesQuery & { bucketMs?: number })[] = [];

const dependencies = (overrides: Partial<ApiDependencies> = {}): ApiDependencies => ({
  version: '0.1.0',
  now: () => NOW,
  registry: seedRegistryFake(),
  alerts: emptyAlertStore(),
  devices: {
    list: async ({ limit }) => ({ items: [breaker].slice(0, limit) }),
    get: async (id) => (id === breaker.deviceId ? breaker : undefined),
  },
  timeseries: {
    latest: async () => [{ measure: 'voltage.phase_a', value: 120.1, time: NOW - 2000, quality: 'GOOD' }],
    series: async (query) => {
      queries.push(query);
      return [{ time: NOW - 1000, value: 120.1, quality: 'GOOD' }];
    },
    buckets: async (query) => {
      queries.push(query);
      return [{ time: NOW - 300_000, avg: 120, min: 119, max: 121, count: 60 }];
    },
    seriesPage: async () => ({ points: [] }),
    count: async () => 1,
  },
  messages: { recent: async (stage, { limit }) => [{ stage, limit }] },
  stats: async (windowMinutes) => ({
    windowMinutes,
    totals: { raw: 10, enriched: 9, dlq: 1, alerts: 2 },
    byDeviceType: { smart_breaker: 9 },
    quality: { GOOD: 9, SUSPECT: 0, BAD: 0 },
    perMinute: [],
    devicesSeen: 1,
    lastMessageTime: null,
    dlqReasons: { INVALID_JSON: 1 },
  }),
  health: async () => ({ broker: 'ok', log: 'ok', registry: 'ok', timeseries: 'ok' }),
  ...overrides,
});

function event(method: string, pathAndQuery: string): APIGatewayProxyEventV2 {
  const url = new URL(pathAndQuery, 'http://localhost');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: { host: 'localhost' },
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: NOW,
    },
    isBase64Encoded: false,
  };
}

async function call(method: string, path: string, overrides?: Partial<ApiDependencies>) {
  const result = await createApiHandler(dependencies(overrides))(event(method, path));
  return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') };
}

describe('HTTP API', () => {
  it('reports health with every component and the version', async () => {
    expect(await call('GET', '/api/health')).toEqual({
      status: 200,
      body: {
        status: 'ok',
        version: '0.1.0',
        components: { broker: 'ok', log: 'ok', registry: 'ok', timeseries: 'ok' },
      },
    });
  });

  it('answers 503 degraded when a component is down', async () => {
    const response = await call('GET', '/api/health', {
      health: async () => ({ broker: 'ok', log: 'degraded' }),
    });

    expect(response).toMatchObject({ status: 503, body: { status: 'degraded' } });
  });

  it('lists device types with their measurement counts', async () => {
    const { body } = await call('GET', '/api/device-types');

    expect(body.items).toContainEqual({
      typeId: 'smart_meter',
      name: 'Smart Energy Meter',
      category: 'energy_monitoring',
      version: 1,
      measurementCount: 5,
    });
  });

  it('returns a full definition, 404 for an unknown type and 400 for a malformed id', async () => {
    expect((await call('GET', '/api/device-types/smart_breaker')).body.measurements.voltage).toBeDefined();
    expect(await call('GET', '/api/device-types/toaster_oven')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    expect(await call('GET', '/api/device-types/Bad-Type')).toMatchObject({
      status: 400,
      body: { error: { details: [{ field: 'typeId' }] } },
    });
  });

  it('lists applications for exactly one type without contact e-mails', async () => {
    const { body } = await call('GET', '/api/applications?deviceType=smart_breaker');

    expect(body.items.map((a: { name: string }) => a.name)).toEqual(['Smart Grid Monitor']);
    expect(JSON.stringify(body)).not.toMatch(/contactEmail|@example\.com/);
  });

  it('names each bad query field in a 400', async () => {
    const response = await call('GET', '/api/devices?limit=0&deviceType=Not%20A%20Type&extra=1');

    expect(response.status).toBe(400);
    expect(response.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'deviceType',
      'extra',
      'limit',
    ]);
  });

  it('shows a device with its latest values and their units', async () => {
    const { body } = await call('GET', '/api/devices/breaker-00001');

    expect(body).toMatchObject({
      deviceId: 'breaker-00001',
      messageCount: 42,
      latest: [
        {
          measure: 'voltage.phase_a',
          value: 120.1,
          unit: 'V',
          time: '2026-11-23T11:59:58.000Z',
          quality: 'GOOD',
        },
      ],
    });
  });

  it('answers 404 for a device never seen and 400 for a malformed device id', async () => {
    expect((await call('GET', '/api/devices/ghost-1')).status).toBe(404);
    expect((await call('GET', '/api/devices/%20bad')).status).toBe(400);
  });

  it('serves raw points for the last hour by default, and buckets when asked', async () => {
    const raw = await call('GET', '/api/devices/breaker-00001/telemetry?measure=voltage.phase_a');
    expect(raw.body.points).toEqual([{ time: '2026-11-23T11:59:59.000Z', value: 120.1, quality: 'GOOD' }]);
    expect(queries.at(-1)).toEqual({
      deviceId: 'breaker-00001',
      measure: 'voltage.phase_a',
      from: NOW - 3_600_000,
      to: NOW,
      limit: 1000,
    });

    const bucketed = await call(
      'GET',
      '/api/devices/breaker-00001/telemetry?measure=voltage.phase_a&bucket=5m&from=2026-11-23T11:00:00Z',
    );
    expect(bucketed.body).toMatchObject({
      bucket: '5m',
      points: [{ avg: 120, min: 119, max: 121, count: 60 }],
    });
    expect(queries.at(-1)).toMatchObject({ bucketMs: 300_000, from: Date.parse('2026-11-23T11:00:00Z') });
  });

  it('refuses a telemetry query with a bad measure or an empty time window', async () => {
    expect(
      (await call('GET', "/api/devices/breaker-00001/telemetry?measure=x';drop")).body.error.details[0].field,
    ).toBe('measure');
    const window = await call(
      'GET',
      '/api/devices/breaker-00001/telemetry?measure=temperature&from=2026-11-23T12:00:00Z&to=2026-11-23T11:00:00Z',
    );
    expect(window.body.error.details).toEqual([{ field: 'from', message: 'must be before to' }]);
  });

  it('returns recent messages of a stage, and 400 for an unknown stage', async () => {
    expect((await call('GET', '/api/messages?stage=dlq&limit=5')).body).toEqual({
      stage: 'dlq',
      items: [{ stage: 'dlq', limit: 5 }],
    });
    expect((await call('GET', '/api/messages?stage=secret')).body.error.details[0].field).toBe('stage');
  });

  it('returns stats for a window of minutes', async () => {
    expect((await call('GET', '/api/stats?window=60m')).body).toMatchObject({
      windowMinutes: 60,
      totals: { dlq: 1 },
    });
    expect((await call('GET', '/api/stats?window=9999m')).status).toBe(400);
  });

  it('answers unknown routes with 404 and wrong methods with 405, in the error shape', async () => {
    expect(await call('GET', '/api/nothing-here')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    expect(await call('DELETE', '/api/stats')).toMatchObject({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED' } },
    });
  });
});
