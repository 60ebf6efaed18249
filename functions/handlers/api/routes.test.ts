/**
 * The route table as a whole: every declared route answers, every other method on a known path is a
 * 405, unknown paths a 404, and no hostile identifier, query or body ever produces a 5xx.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryNotificationChannelStore } from '../../adapters/notifications/in-memory-channel-store.js';
import { checkUrlForm, LOCAL_URL_POLICY } from '../../core/url-policy.js';
import { NotFoundError } from '../../ports/registry.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { type ApiDependencies, createApiHandler } from '../api.js';
import { apiEvent, emptyAlertStore, seedRegistryFake, type TestRequest } from './test-support.js';

const failures: unknown[] = [];
const dependencies: ApiDependencies = {
  version: 't',
  registry: seedRegistryFake(),
  alerts: emptyAlertStore(),
  devices: { list: async () => ({ items: [] }), get: async () => undefined },
  timeseries: {
    latest: async () => [],
    series: async () => [],
    buckets: async () => [],
    seriesPage: async () => ({ points: [] }),
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
  notifications: {
    store: new InMemoryNotificationChannelStore(),
    // Unit tests touch no network: the URL's form only (resolution is tested in guarded-http.test.ts).
    checkUrl: async (url) => {
      checkUrlForm(url, LOCAL_URL_POLICY);
    },
    snsAvailable: false,
  },
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

/** An event whose path is exactly `rawPath` (apiEvent would parse and normalise it). */
function rawEvent(method: string, rawPath: string, headers: Record<string, string> = {}) {
  const event = apiEvent({ method, path: '/', headers });
  return {
    ...event,
    rawPath,
    requestContext: { ...event.requestContext, http: { ...event.requestContext.http, path: rawPath } },
  };
}

async function sendRaw(method: string, rawPath: string, headers: Record<string, string> = {}) {
  const result = await handler(rawEvent(method, rawPath, headers));
  return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
}

/** The seed fake refuses writes with a plain error (a 500); here a write finds nothing instead. */
const writesNotFound = createApiHandler({
  ...dependencies,
  registry: {
    ...seedRegistryFake(),
    putDeviceType: async (record) => {
      throw new NotFoundError('deviceType', record.deviceType.typeId);
    },
    deleteDeviceType: async (typeId) => {
      throw new NotFoundError('deviceType', typeId);
    },
    updateApplication: async (id) => {
      throw new NotFoundError('application', id);
    },
    deleteApplication: async (id) => {
      throw new NotFoundError('application', id);
    },
  },
});

describe('malformed requests (the Lambda answers as the local server does)', () => {
  const withParameter = API_ROUTES.filter((r) => r.path.includes('{'));

  it('answers bad percent-encoding in a path parameter 400, naming the parameter', async () => {
    for (const route of withParameter) {
      const name = /\{(\w+)\}/.exec(route.path)?.[1];
      for (const bad of ['%ff', '%', '%E0%A4%A', '%ED%A0%80']) {
        const answer = await sendRaw(route.method, route.path.replace(/\{\w+\}/, bad));
        expect(answer, `${route.method} ${route.path} ${bad}`).toMatchObject({
          status: 400,
          body: { error: { code: 'INVALID_PATH', details: [{ field: name }] } },
        });
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers a path parameter that decodes to nothing or whitespace 400, naming it', async () => {
    for (const route of withParameter) {
      const name = /\{(\w+)\}/.exec(route.path)?.[1];
      for (const blank of ['%20', '%20%20', '%09']) {
        const answer = await sendRaw(route.method, route.path.replace(/\{\w+\}/, blank));
        expect(answer, `${route.method} ${route.path} ${blank}`).toMatchObject({
          status: 400,
          body: { error: { code: 'INVALID_PATH', details: [{ field: name }] } },
        });
      }
    }
  });

  it('answers bad escapes elsewhere in the path 400, naming the segment', async () => {
    const answer = await sendRaw('GET', '/api/%ff/x');

    expect(answer).toMatchObject({ status: 400, body: { error: { details: [{ field: '(path)' }] } } });
    expect(answer.body.error.details[0].message).toContain('segment 2');
  });

  it('answers an unknown method 405 on a known path and 404 elsewhere, in the error shape', async () => {
    expect(await sendRaw('PROPFIND', '/api/devices')).toMatchObject({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED' } },
    });
    expect((await sendRaw('HEAD', '/api/nope')).status).toBe(404);
  });

  it('answers a Host, X-Forwarded-Proto or header value no URL or Headers can carry 400, naming it', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ host: 'user@evil' }, 'Host'],
      [{ host: '1.2.3.999' }, 'Host'],
      [{ host: 'a:99999' }, 'Host'],
      [{ 'x-forwarded-proto': 'javascript' }, 'X-Forwarded-Proto'],
      [{ 'x-note': 'caf\u0100' }, 'x-note'],
    ];
    for (const [headers, field] of cases) {
      expect(await sendRaw('GET', '/api/health', headers), field).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_HEADER', details: [{ field }] } },
      });
    }
  });

  it('never answers 5xx to an arbitrary raw path, and never shows a stack (even with POWERTOOLS_DEV)', async () => {
    const segment = fc.oneof(
      fc.stringMatching(/^(%[0-9A-Fa-f]{0,2}|[A-Za-z0-9._~-]){0,10}$/),
      fc.constantFrom('api', 'devices', 'device-types', 'applications', 'telemetry', 'd-1', '%20', ''),
    );
    const previous = process.env.POWERTOOLS_DEV;
    process.env.POWERTOOLS_DEV = 'true';
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...METHODS),
          fc.array(segment, { minLength: 1, maxLength: 5 }),
          async (method, segments) => {
            const result = await writesNotFound(rawEvent(method, `/api/${segments.join('/')}`));
            return (result.statusCode ?? 200) < 500 && !String(result.body).includes('stack');
          },
        ),
        { seed: 18, numRuns: 500 },
      );
    } finally {
      if (previous === undefined) delete process.env.POWERTOOLS_DEV;
      else process.env.POWERTOOLS_DEV = previous;
    }
    expect(failures).toEqual([]);
  });
});
