/**
 * The API's registry writes against the real DynamoDB store on dynalite: device-type PUT/DELETE with
 * versions, applications POST/GET/PATCH/DELETE with their rules, errors in the contract's shape.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedRegistry } from '../../local/dynamodb/seed.js';
import { seedRegistry as seedData } from '../../registry-data/index.js';
import { DynamoAlertStore, DynamoRegistryStore } from '../adapters/dynamodb/index.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import type { Alert } from '../core/contract/messages.js';
import type { DeviceType } from '../core/contract/registry.js';
import { apiEvent, type TestRequest } from './api/test-support.js';
import { type ApiAuth, type ApiDependencies, createApiHandler, MAX_REQUEST_BODY_BYTES } from './api.js';

let dynamo: TestDynamo;
let handler: ReturnType<typeof createApiHandler>;
let dependencies: ApiDependencies;
const errors: unknown[] = [];

const notUsed = async (): Promise<never> => {
  throw new Error('not used by these tests');
};

function build(registry: DynamoRegistryStore, alerts: DynamoAlertStore, auth?: ApiAuth): ApiDependencies {
  return {
    version: 'test',
    registry,
    alerts,
    ...(auth ? { auth } : {}),
    devices: { list: notUsed, get: async () => undefined },
    timeseries: { latest: notUsed, series: notUsed, buckets: notUsed, seriesPage: notUsed, count: notUsed },
    messages: { recent: notUsed },
    stats: notUsed,
    health: async () => ({}),
    onError: (error) => errors.push(error),
  };
}

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  const tables = await dynamo.freshTables();
  const registry = new DynamoRegistryStore({ client: dynamo.client, tables });
  await seedRegistry({ registry }, seedData);
  dependencies = build(registry, new DynamoAlertStore({ client: dynamo.client, tableName: tables.alerts }));
  handler = createApiHandler(dependencies);
  errors.length = 0;
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
  body: any;
}

async function call(
  request: TestRequest,
  with_: ReturnType<typeof createApiHandler> = handler,
): Promise<Answer> {
  const result = await with_(apiEvent(request));
  const status = result.statusCode ?? 200;
  // Never a 5xx for anything these tests send.
  expect(status, `${request.method} ${request.path}: ${result.body}`).toBeLessThan(500);
  return {
    status,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),
    body: result.body ? JSON.parse(result.body) : undefined,
  };
}

const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  call({
    method,
    path,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

const fieldsOf = (answer: Answer): string[] =>
  answer.body.error.details.map((d: { field: string }) => d.field).sort();

/** The seed's breaker definition without its `version` (which a PUT would treat as If-Match). */
const breaker = (): Omit<DeviceType, 'version'> & { version?: number } => {
  const { version: _version, ...definition } = seedBreaker();
  return definition;
};
const seedBreaker = (): DeviceType =>
  structuredClone(seedData.deviceTypes.find((t) => t.typeId === 'smart_breaker') as DeviceType);

const newApplication = (overrides: Record<string, unknown> = {}) => ({
  name: 'Fleet Console',
  developer: 'Ops Team',
  contactEmail: 'ops@example.com',
  description: 'Watches the fleet.',
  platform: 'web',
  category: 'monitoring',
  deviceTypes: ['smart_breaker'],
  version: '1.0.0',
  ...overrides,
});

describe('PUT /api/device-types/{typeId}', () => {
  it('replaces a definition, bumps its version and keeps the rules it was not given', async () => {
    const definition = { ...breaker(), name: 'Smart Breaker (rev B)' };
    const before = await call({ method: 'GET', path: '/api/device-types/smart_breaker' });

    const answer = await json('PUT', '/api/device-types/smart_breaker', definition);

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ typeId: 'smart_breaker', name: 'Smart Breaker (rev B)', version: 2 });
    expect(answer.headers.etag).toBe('"2"');
    expect(answer.body.alertRules).toEqual(before.body.alertRules);
    expect((await call({ method: 'GET', path: '/api/device-types/smart_breaker' })).body.version).toBe(2);
  });

  it('takes back a definition exactly as GET returned it (a round trip), version checked', async () => {
    const read = await call({ method: 'GET', path: '/api/device-types/smart_meter' });

    const written = await json('PUT', '/api/device-types/smart_meter', { ...read.body, retentionDays: 30 });
    const again = await json('PUT', '/api/device-types/smart_meter', { ...read.body, retentionDays: 31 });

    expect(written.body).toMatchObject({ version: 2, retentionDays: 30, alertRules: read.body.alertRules });
    expect(again.status).toBe(409);
  });

  it('creates a new type at version 1 with 201', async () => {
    const answer = await json('PUT', '/api/device-types/smart_breaker_v2', {
      ...breaker(),
      typeId: undefined,
      alertRules: [],
    });

    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ typeId: 'smart_breaker_v2', version: 1, alertRules: [] });
  });

  it('answers 409 when If-Match or the body version is not the stored version', async () => {
    const stale = await json('PUT', '/api/device-types/smart_breaker', breaker(), { 'if-match': '"7"' });
    const staleBody = await json('PUT', '/api/device-types/smart_breaker', { ...breaker(), version: 5 });
    const disagreeing = await json(
      'PUT',
      '/api/device-types/smart_breaker',
      { ...breaker(), version: 1 },
      {
        'if-match': '"2"',
      },
    );
    const current = await json('PUT', '/api/device-types/smart_breaker', { ...breaker(), version: 1 });

    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'VERSION_MISMATCH' } } });
    expect(staleBody.status).toBe(409);
    expect(fieldsOf(disagreeing)).toEqual(['version']);
    expect(current.body.version).toBe(2);
    // The first writer's version is now stale: a second edit based on version 1 loses.
    expect(
      (await json('PUT', '/api/device-types/smart_breaker', breaker(), { 'if-match': '1' })).status,
    ).toBe(409);
  });

  it('names each invalid, wrong-typed or unknown field of the definition', async () => {
    const bad = {
      ...breaker(),
      updateFrequencySeconds: 'often',
      measurements: { ...breaker().measurements, 'Bad Key': breaker().measurements.temperature },
      colour: 'red',
    };

    const answer = await json('PUT', '/api/device-types/smart_breaker', bad);

    expect(answer.status).toBe(400);
    expect(fieldsOf(answer)).toEqual(expect.arrayContaining(['colour', 'updateFrequencySeconds']));
    expect(fieldsOf(answer).some((field) => field.startsWith('measurements'))).toBe(true);
  });

  it('refuses a definition enrichment could not compile (a rule naming no reading)', async () => {
    const definition = breaker();
    const answer = await json('PUT', '/api/device-types/smart_breaker', {
      ...definition,
      alertRules: [
        {
          ruleId: 'ghost',
          name: 'Ghost',
          path: 'nothing.here',
          severity: 'low',
          enabled: true,
          operator: 'gt',
          threshold: 1,
        },
      ],
    });

    expect(answer).toMatchObject({ status: 400, body: { error: { details: [{ field: 'alertRules' }] } } });
  });

  it('refuses a body naming another type than the path, and a malformed If-Match', async () => {
    expect(fieldsOf(await json('PUT', '/api/device-types/smart_meter', breaker()))).toEqual(['typeId']);
    expect(
      fieldsOf(await json('PUT', '/api/device-types/smart_breaker', breaker(), { 'if-match': 'yesterday' })),
    ).toEqual(['If-Match']);
  });
});

describe('DELETE /api/device-types/{typeId}', () => {
  it('answers 409 while an active application uses the type, and 204 once none does', async () => {
    const inUse = await call({ method: 'DELETE', path: '/api/device-types/smart_breaker' });
    expect(inUse).toMatchObject({ status: 409, body: { error: { code: 'IN_USE' } } });

    const apps = await call({ method: 'GET', path: '/api/applications?deviceType=smart_breaker' });
    for (const app of apps.body.items) {
      expect(
        (await json('PATCH', `/api/applications/${app.applicationId}`, { status: 'inactive' })).status,
      ).toBe(200);
    }

    expect((await call({ method: 'DELETE', path: '/api/device-types/smart_breaker' })).status).toBe(204);
    expect((await call({ method: 'GET', path: '/api/device-types/smart_breaker' })).status).toBe(404);
    expect((await call({ method: 'DELETE', path: '/api/device-types/smart_breaker' })).status).toBe(404);
  });

  it('honours If-Match', async () => {
    await json('PUT', '/api/device-types/spare_type', { ...breaker(), typeId: 'spare_type', alertRules: [] });
    expect(
      (await call({ method: 'DELETE', path: '/api/device-types/spare_type', headers: { 'if-match': '"3"' } }))
        .status,
    ).toBe(409);
    expect(
      (await call({ method: 'DELETE', path: '/api/device-types/spare_type', headers: { 'if-match': '"1"' } }))
        .status,
    ).toBe(204);
  });
});

describe('applications', () => {
  it('registers with 201 and the full record, reads it back without the contact e-mail', async () => {
    const created = await json('POST', '/api/applications', newApplication());

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...newApplication(), status: 'active' });
    expect(created.headers.location).toBe(`/api/applications/${created.body.applicationId}`);

    const read = await call({ method: 'GET', path: `/api/applications/${created.body.applicationId}` });
    expect(read.body).toMatchObject({ name: 'Fleet Console', deviceTypes: ['smart_breaker'] });
    expect(read.body.contactEmail).toBeUndefined();
  });

  it('keeps names unique in any letter case and spacing (409)', async () => {
    await json('POST', '/api/applications', newApplication());

    const again = await json('POST', '/api/applications', newApplication({ name: '  fleet   CONSOLE ' }));
    const seedName = await json('POST', '/api/applications', newApplication({ name: 'SMART GRID MONITOR' }));

    expect(again).toMatchObject({ status: 409, body: { error: { code: 'DUPLICATE_NAME' } } });
    expect(seedName.status).toBe(409);
  });

  it('lets exactly one of two concurrent registrations of the same name win', async () => {
    const answers = await Promise.all([
      json('POST', '/api/applications', newApplication()),
      json('POST', '/api/applications', newApplication({ name: 'FLEET console' })),
    ]);

    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
  });

  it('refuses device types that are not registered, naming the field', async () => {
    const answer = await json(
      'POST',
      '/api/applications',
      newApplication({ deviceTypes: ['smart_breaker', 'toaster'] }),
    );

    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      { field: 'deviceTypes', message: '"toaster" is not a registered device type' },
    ]);
  });

  it('names every missing, wrong-typed and unknown field of a registration', async () => {
    const { name: _name, ...withoutName } = newApplication({
      platform: 'fax',
      deviceTypes: 'smart_breaker',
      apiKey: 'k',
    });

    const answer = await json('POST', '/api/applications', withoutName);

    expect(answer.status).toBe(400);
    expect(fieldsOf(answer)).toEqual(['apiKey', 'deviceTypes', 'name', 'platform']);
  });

  it('PATCH changes only the fields it names', async () => {
    const created = (await json('POST', '/api/applications', newApplication())).body;

    const patched = await json('PATCH', `/api/applications/${created.applicationId}`, {
      description: 'New words.',
    });

    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({
      ...created,
      description: 'New words.',
      updatedAt: patched.body.updatedAt,
    });
  });

  it('PATCH can rename (freeing the old name) and is refused a taken name', async () => {
    const created = (await json('POST', '/api/applications', newApplication())).body;
    const path = `/api/applications/${created.applicationId}`;

    expect((await json('PATCH', path, { name: 'Energy analytics' })).status).toBe(409);
    expect((await json('PATCH', path, { name: 'Fleet Console 2' })).body.name).toBe('Fleet Console 2');
    expect((await json('POST', '/api/applications', newApplication())).status).toBe(201);
  });

  it('PATCH refuses an empty patch, unknown fields and server-owned fields', async () => {
    const created = (await json('POST', '/api/applications', newApplication())).body;
    const path = `/api/applications/${created.applicationId}`;

    expect(fieldsOf(await json('PATCH', path, {}))).toEqual(['(body)']);
    expect(
      fieldsOf(await json('PATCH', path, { applicationId: created.applicationId, createdAt: 'x' })),
    ).toEqual(['applicationId', 'createdAt']);
    expect(fieldsOf(await json('PATCH', path, { version: 2 }))).toEqual(['version']);
  });

  it('DELETE removes the application and frees its name', async () => {
    const created = (await json('POST', '/api/applications', newApplication())).body;
    const path = `/api/applications/${created.applicationId}`;

    expect((await call({ method: 'DELETE', path })).status).toBe(204);
    expect((await call({ method: 'GET', path })).status).toBe(404);
    expect((await call({ method: 'DELETE', path })).status).toBe(404);
    expect((await json('PATCH', path, { description: 'x' })).status).toBe(404);
    expect((await json('POST', '/api/applications', newApplication())).status).toBe(201);
  });

  it('filters by exact device type only, never a substring, and lists no contact e-mails', async () => {
    await json('PUT', '/api/device-types/smart_breaker_v2', {
      ...breaker(),
      typeId: 'smart_breaker_v2',
      alertRules: [],
    });
    await json(
      'POST',
      '/api/applications',
      newApplication({ name: 'V2 Only', deviceTypes: ['smart_breaker_v2'] }),
    );

    const v1 = await call({ method: 'GET', path: '/api/applications?deviceType=smart_breaker' });
    const v2 = await call({ method: 'GET', path: '/api/applications?deviceType=smart_breaker_v2' });
    const prefix = await call({ method: 'GET', path: '/api/applications?deviceType=smart' });
    const all = await call({ method: 'GET', path: '/api/applications' });

    expect(v1.body.items.map((a: { name: string }) => a.name)).toEqual(['Smart Grid Monitor']);
    expect(v2.body.items.map((a: { name: string }) => a.name)).toEqual(['V2 Only']);
    expect(prefix.body.items).toEqual([]);
    expect(JSON.stringify(all.body)).not.toMatch(/contactEmail|@example\.com/);
  });
});

describe('bad input is always a 4xx in the contract shape', () => {
  it('malformed JSON is a 400 naming the body', async () => {
    const answer = await call({
      method: 'POST',
      path: '/api/applications',
      body: '{"name": "x",',
      headers: { 'content-type': 'application/json' },
    });

    expect(answer).toMatchObject({
      status: 400,
      body: { error: { code: 'MALFORMED_JSON', details: [{ field: '(body)' }] } },
    });
  });

  it('a body that is not JSON is a 415, a missing body a 400', async () => {
    const form = await call({
      method: 'POST',
      path: '/api/applications',
      body: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const noType = await call({ method: 'POST', path: '/api/applications', body: '{}' });
    const empty = await call({
      method: 'POST',
      path: '/api/applications',
      headers: { 'content-type': 'application/json' },
    });

    expect(form).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(noType.status).toBe(415);
    expect(empty.status).toBe(400);
  });

  it('a body over the limit is a 413', async () => {
    const huge = JSON.stringify(newApplication({ description: 'x'.repeat(MAX_REQUEST_BODY_BYTES) }));

    const answer = await call({
      method: 'POST',
      path: '/api/applications',
      body: huge,
      headers: { 'content-type': 'application/json' },
    });

    expect(answer).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
  });

  it('JSON that is not an object (null, an array, a number) is a 400', async () => {
    for (const body of ['null', '[]', '42', '"text"']) {
      const answer = await call({
        method: 'POST',
        path: '/api/applications',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status).toBe(400);
    }
  });

  it.each([
    ["/api/device-types/smart_breaker'%20OR%20'1'='1", 'typeId'],
    ['/api/device-types/%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'typeId'],
    ['/api/device-types/x%22%3B%20DROP%20TABLE%20t%3B--', 'typeId'],
    ["/api/applications/1'%20OR%201=1", 'id'],
    ['/api/applications/%3Cimg%20src=x%20onerror=alert(1)%3E', 'id'],
  ])('a hostile identifier in %s is a 400 naming %s', async (path, field) => {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
      if (method === 'PATCH' && path.includes('device-types')) continue;
      if (method === 'PUT' && path.includes('applications')) continue;
      const answer = await json(method, path, method === 'PUT' ? breaker() : { description: 'x' });
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(fieldsOf(answer)).toEqual([field]);
    }
  });

  it('hostile strings in query filters are a 400 naming the field', async () => {
    for (const [query, field] of [
      ["deviceType=smart_breaker'--", 'deviceType'],
      ['deviceType=%3Cb%3E', 'deviceType'],
      ['status=active%22%20OR%20%221', 'status'],
    ] as const) {
      expect(fieldsOf(await call({ method: 'GET', path: `/api/applications?${query}` }))).toEqual([field]);
    }
  });

  it('HTML in an application name is stored and returned as data, never interpreted', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const created = await json('POST', '/api/applications', newApplication({ name }));

    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toMatch(/^application\/json/);
    expect(created.body.name).toBe(name);
  });
});

describe('write authorization', () => {
  it('with a token configured, a write without it or with another one is a 401 in the error shape', async () => {
    const guarded = createApiHandler({ ...dependencies, auth: { mode: 'bearer', token: 's3cret-token' } });
    const request = (headers: Record<string, string>) => ({
      method: 'POST',
      path: '/api/applications',
      body: JSON.stringify(newApplication()),
      headers: { 'content-type': 'application/json', ...headers },
    });

    const missing = await call(request({}), guarded);
    const wrong = await call(request({ authorization: 'Bearer s3cret-tokeN' }), guarded);
    const right = await call(request({ authorization: 'Bearer s3cret-token' }), guarded);
    const read = await call({ method: 'GET', path: '/api/applications' }, guarded);

    expect(missing).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED', details: [{ field: 'Authorization' }] } },
    });
    expect(wrong.status).toBe(401);
    expect(right.status).toBe(201);
    expect(read.status).toBe(200);
  });

  it('in AWS a write needs the claims of API Gateway JWT authorizer', async () => {
    const aws = createApiHandler({ ...dependencies, auth: { mode: 'jwt' } });
    const request = { method: 'DELETE', path: '/api/applications/6f1c2b3a-4d5e-4f60-8a71-9b8c7d6e5f40' };

    expect((await call(request, aws)).status).toBe(401);
    expect((await call({ ...request, claims: { sub: 'user-1' } }, aws)).status).toBe(204);
  });
});

describe('GET /api/alerts', () => {
  const T0 = Date.now() - 60_000;
  const alert = (n: number, deviceId: string, severity: Alert['severity']): Alert => ({
    alert_id: `msg-${n}:overcurrent`,
    device_id: deviceId,
    device_type: 'smart_breaker',
    rule_id: 'overcurrent',
    rule_name: 'Overcurrent',
    path: 'current',
    operator: 'gt',
    value: 120,
    threshold: 100,
    unit: 'A',
    severity,
    triggered_at: new Date(T0 + n * 1000).toISOString(),
    raised_at: new Date(T0 + n * 1000 + 20).toISOString(),
    message_id: `msg-${n}`,
  });

  beforeEach(async () => {
    await (dependencies.alerts as DynamoAlertStore).add([
      alert(1, 'breaker-1', 'high'),
      alert(2, 'breaker-2', 'critical'),
      alert(3, 'breaker-1', 'critical'),
      alert(4, 'breaker-2', 'low'),
    ]);
  });

  const ids = (answer: Answer) => answer.body.items.map((a: Alert) => a.message_id);

  it('lists alerts newest first, up to the limit', async () => {
    expect(ids(await call({ method: 'GET', path: '/api/alerts' }))).toEqual([
      'msg-4',
      'msg-3',
      'msg-2',
      'msg-1',
    ]);
    expect(ids(await call({ method: 'GET', path: '/api/alerts?limit=2' }))).toEqual(['msg-4', 'msg-3']);
  });

  it('filters by device and by severity, exactly', async () => {
    expect(ids(await call({ method: 'GET', path: '/api/alerts?deviceId=breaker-1' }))).toEqual([
      'msg-3',
      'msg-1',
    ]);
    expect(ids(await call({ method: 'GET', path: '/api/alerts?severity=critical' }))).toEqual([
      'msg-3',
      'msg-2',
    ]);
    expect(
      ids(await call({ method: 'GET', path: '/api/alerts?severity=critical&deviceId=breaker-2' })),
    ).toEqual(['msg-2']);
    expect(ids(await call({ method: 'GET', path: '/api/alerts?deviceId=breaker' }))).toEqual([]);
  });

  it('names each bad query field', async () => {
    const answer = await call({
      method: 'GET',
      path: "/api/alerts?severity=urgent&limit=100000&deviceId=x'%20OR%20'1&sort=asc",
    });

    expect(answer.status).toBe(400);
    expect(fieldsOf(answer)).toEqual(['deviceId', 'limit', 'severity', 'sort']);
  });
});
