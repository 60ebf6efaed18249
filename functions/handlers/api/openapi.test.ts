import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../../registry-data/index.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { createApiHandler } from '../api.js';
import { buildOpenApiDocument } from './openapi.js';
import { apiEvent, emptyAlertStore, emptyApiStores, seedRegistryFake } from './test-support.js';

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON, inspected freely
type Json = any;

const document: Json = buildOpenApiDocument('1.2.3');
const device = {
  deviceId: 'meter-1',
  deviceType: 'smart_meter',
  firstSeen: '2026-11-23T10:00:00.000Z',
  lastSeen: '2026-11-23T11:00:00.000Z',
  messageCount: 2,
  status: 'online' as const,
};

/** Ajv over the document's component schemas, to check real bodies against what the document says. */
function componentValidator(name: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'doc', components: document.components });
  return ajv.compile({ $ref: `doc#/components/schemas/${name}` });
}

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    const validator = new Validator();

    const result = await validator.validate(structuredClone(document));

    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('points every $ref at a named component of its own', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] as string);
    const names = Object.keys(document.components.schemas);

    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) {
      expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
      expect(names).toContain(ref.split('/').at(-1));
    }
  });

  it('the validator does refuse a broken document (so the check above can fail)', async () => {
    const broken = structuredClone(document);
    delete broken.info;
    broken.paths['/api/health'].get.responses['200'].content['application/json'].schema = { $ref: 7 };

    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('describes every route of API_ROUTES, and nothing else', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations as object).map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('marks exactly the write routes as needing a token, with a 401', () => {
    for (const route of API_ROUTES) {
      const operation = document.paths[route.path][route.method.toLowerCase()];
      expect(operation.security !== undefined, `${route.method} ${route.path}`).toBe(route.write);
      expect('401' in operation.responses).toBe(route.write);
    }
  });

  it('documents the query parameters the handlers validate', () => {
    const telemetry = document.paths['/api/devices/{deviceId}/telemetry'].get.parameters;
    const names = telemetry.map((p: Json) => `${p.in}:${p.name}:${p.required}`);

    expect(names).toEqual([
      'path:deviceId:true',
      'query:measure:true',
      'query:from:false',
      'query:to:false',
      'query:bucket:false',
      'query:limit:false',
    ]);
  });

  it('its request schemas accept real bodies and refuse unknown fields, like the handlers', () => {
    const create = componentValidator('ApplicationCreate');
    const {
      applicationId: _id,
      createdAt: _c,
      updatedAt: _u,
      ...registration
    } = seedRegistry.applications[0] as (typeof seedRegistry.applications)[number];

    expect(create(registration), JSON.stringify(create.errors)).toBe(true);
    expect(create({ ...registration, apiKey: 'x' })).toBe(false);

    const typeBody = componentValidator('DeviceTypeBody');
    expect(typeBody(seedRegistry.deviceTypes[0])).toBe(true);
  });

  it('describes what the read routes really answer (responses validate against their schemas)', async () => {
    const handler = createApiHandler({
      version: '1.2.3',
      registry: seedRegistryFake(),
      alerts: emptyAlertStore(),
      devices: {
        list: async () => ({ items: [device] }),
        get: async (id) => (id === device.deviceId ? device : undefined),
      },
      timeseries: {
        latest: async () => [{ measure: 'energy', value: 12, time: 0, quality: 'GOOD' }],
        series: async () => [{ time: 0, value: 1, quality: 'SUSPECT' }],
        buckets: async () => [{ time: 0, avg: 1, min: 0, max: 2, count: 3 }],
        seriesPage: async () => ({ points: [{ time: 0, value: 1, quality: 'SUSPECT' }] }),
        count: async () => 0,
      },
      messages: { recent: async () => [{ any: 'sample' }] },
      stats: async (windowMinutes) => ({
        windowMinutes,
        totals: { raw: 1, enriched: 1, dlq: 0, alerts: 0 },
        byDeviceType: { smart_meter: 1 },
        quality: { GOOD: 1, SUSPECT: 0, BAD: 0 },
        perMinute: [{ minute: '2026-11-23T12:00Z', raw: 1, enriched: 1, dlq: 0, alerts: 0 }],
        devicesSeen: 1,
        lastMessageTime: null,
        dlqReasons: {},
      }),
      health: async () => ({ registry: 'ok' }),
    });
    const applicationId = seedRegistry.applications[0]?.applicationId as string;
    const paths: [string, string][] = [
      ['/api/health', '/api/health'],
      ['/api/device-types', '/api/device-types'],
      ['/api/device-types/{typeId}', '/api/device-types/smart_breaker'],
      ['/api/applications', '/api/applications'],
      ['/api/applications/{id}', `/api/applications/${applicationId}`],
      ['/api/devices', '/api/devices'],
      ['/api/devices/{deviceId}', `/api/devices/${device.deviceId}`],
      ['/api/devices/{deviceId}/telemetry', `/api/devices/${device.deviceId}/telemetry?measure=energy`],
      [
        '/api/devices/{deviceId}/telemetry',
        `/api/devices/${device.deviceId}/telemetry?measure=energy&bucket=1m`,
      ],
      ['/api/messages', '/api/messages'],
      ['/api/stats', '/api/stats'],
      ['/api/alerts', '/api/alerts'],
    ];
    for (const [route, path] of paths) {
      const response = await handler(apiEvent({ method: 'GET', path }));
      const schemaRef: string =
        document.paths[route].get.responses['200'].content['application/json'].schema.$ref;
      const validate = componentValidator(schemaRef.split('/').at(-1) as string);
      expect(response.statusCode, path).toBe(200);
      expect(validate(JSON.parse(response.body ?? '')), `${path}: ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
    }
  });

  it('lists the success status of each runtime: a redrive 202 in AWS and 201 locally, a replay 202', () => {
    const successes = (path: string) =>
      Object.keys(document.paths[path].post.responses).filter((status) => status.startsWith('2'));

    expect(successes('/api/dlq/redrive').sort()).toEqual(['201', '202']);
    expect(successes('/api/replay')).toEqual(['202']);
    const accepted = document.paths['/api/dlq/redrive'].post.responses['202'];
    expect(accepted.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Operation' });
  });

  it('is served at GET /api/openapi.json', async () => {
    const handler = createApiHandler({
      version: '1.2.3',
      ...emptyApiStores(),
      health: async () => ({}),
    });

    const response = await handler(apiEvent({ method: 'GET', path: '/api/openapi.json' }));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toEqual(document);
  });
});
