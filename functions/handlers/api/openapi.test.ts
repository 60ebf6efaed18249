import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../../registry-data/index.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { createApiHandler } from '../api.js';
import { buildOpenApiDocument } from './openapi.js';
import { apiEvent, seedRegistryFake } from './test-support.js';

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON, inspected freely
type Json = any;

const document: Json = buildOpenApiDocument('1.2.3');

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

  it('is served at GET /api/openapi.json', async () => {
    const handler = createApiHandler({
      version: '1.2.3',
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
      stats: async () => {
        throw new Error('unused');
      },
      health: async () => ({}),
    });

    const response = await handler(apiEvent({ method: 'GET', path: '/api/openapi.json' }));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toEqual(document);
  });
});
