/**
 * The route table as a whole: every declared route answers, every other method on a known path is a
 * 405, unknown paths a 404, and no hostile identifier, query or body ever produces a 5xx.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../shared/api-routes.js';
import { type ApiDependencies, createApiHandler } from '../api.js';
import { apiEvent, seedRegistryFake, type TestRequest } from './test-support.js';

const failures: unknown[] = [];
const dependencies: ApiDependencies = {
  version: 't',
  registry: seedRegistryFake(),
  alerts: { recent: async () => [] },
  devices: { list: async () => ({ items: [] }), get: async () => undefined },
  timeseries: {
    latest: async () => [],
    series: async () => [],
    buckets: async () => [],
    count: async () => 0,
  },
  messages: { recent: async () => [] },
  stats: async (windowMinutes) => ({
    windowMinutes,
    totals: { raw: 0, enriched: 0, dlq: 0, alerts: 0 },
    byDeviceType: {},
    quality: { GOOD: 0, SUSPECT: 0, BAD: 0 },
    perMinute: [],
    devicesSeen: 0,
    lastMessageTime: null,
    dlqReasons: {},
  }),
  health: async () => ({ registry: 'ok' }),
  onError: (error) => failures.push(error),
};
const handler = createApiHandler(dependencies);

async function send(request: TestRequest) {
  const result = await handler(apiEvent(request));
  return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
}

const HOSTILE = [
  "x' OR '1'='1",
  'a"; DROP TABLE devices; --',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '../../etc/passwd',
  '%00',
  'x'.repeat(300),
  '💥',
];

const fill = (path: string, value: string) => path.replace(/\{\w+\}/g, encodeURIComponent(value));
const METHODS = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'] as const;

describe('API routes', () => {
  it('creating a handler checks that every declared route has exactly one handler', () => {
    expect(() => createApiHandler(dependencies)).not.toThrow();
  });

  it('answers a known path with another method 405, an unknown path 404, in the error shape', async () => {
    const paths = [...new Set(API_ROUTES.map((r) => r.path))];
    for (const path of paths) {
      const allowed = API_ROUTES.filter((r) => r.path === path).map((r) => r.method);
      for (const method of METHODS.filter((m) => !allowed.includes(m))) {
        const answer = await send({ method, path: fill(path, 'abc') });
        expect(answer, `${method} ${path}`).toMatchObject({
          status: 405,
          body: { error: { code: 'METHOD_NOT_ALLOWED' } },
        });
      }
    }
    for (const path of ['/api', '/api/', '/api/nope', '/api/devices/a/b/c', '/api/openapi.yaml']) {
      expect((await send({ method: 'GET', path })).status, path).toBe(404);
    }
  });

  it('refuses hostile identifiers on every route with a path parameter: 4xx, never 5xx', async () => {
    for (const route of API_ROUTES.filter((r) => r.path.includes('{'))) {
      for (const value of HOSTILE) {
        const answer = await send({
          method: route.method,
          path: fill(route.path, value),
          body: '{}',
          headers: { 'content-type': 'application/json' },
        });
        expect(answer.status, `${route.method} ${route.path} with ${value}`).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.body.error.code).toMatch(/^[A-Z_]+$/);
      }
    }
  });

  it('refuses hostile values of every query parameter: 400 naming it', async () => {
    const cases: [string, string][] = [
      ['/api/applications', 'deviceType'],
      ['/api/applications', 'status'],
      ['/api/devices', 'deviceType'],
      ['/api/devices', 'limit'],
      ['/api/devices/d-1/telemetry', 'measure'],
      ['/api/devices/d-1/telemetry', 'from'],
      ['/api/devices/d-1/telemetry', 'bucket'],
      ['/api/messages', 'stage'],
      ['/api/messages', 'deviceId'],
      ['/api/stats', 'window'],
      ['/api/alerts', 'severity'],
      ['/api/alerts', 'deviceId'],
    ];
    for (const [path, field] of cases) {
      for (const value of HOSTILE.filter((v) => v.length < 100 && v !== '💥')) {
        const answer = await send({
          method: 'GET',
          path: `${path}?measure=temperature&${field}=${encodeURIComponent(value)}`,
        });
        expect(answer.status, `${path} ${field}=${value}`).toBe(400);
        expect(answer.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      }
    }
  });

  it('refuses a query parameter given twice', async () => {
    const answer = await send({ method: 'GET', path: '/api/devices?limit=1&limit=2' });

    expect(answer).toMatchObject({ status: 400, body: { error: { details: [{ field: 'limit' }] } } });
  });

  it('ignores a body sent with a GET instead of failing', async () => {
    const answer = await send({ method: 'GET', path: '/api/health', body: '{"x":1}' });

    expect(answer.status).toBe(200);
  });

  it('never answers 5xx to arbitrary bodies on the write routes', async () => {
    const writes = API_ROUTES.filter((r) => r.write && r.method !== 'DELETE');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writes),
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.constantFrom('application/json', 'text/plain', 'application/merge-patch+json'),
        async (route, body, contentType) => {
          const path = fill(
            route.path,
            route.path.includes('{id}') ? '6f1c2b3a-4d5e-4f60-8a71-9b8c7d6e5f40' : 'smart_meter',
          );
          const answer = await send({
            method: route.method,
            path,
            body,
            headers: { 'content-type': contentType },
          });
          return answer.status >= 400 && answer.status < 500;
        },
      ),
      { numRuns: 300 },
    );
    expect(failures).toEqual([]);
  });
});
