/**
 * /api/notification-channels over the in-memory store, the URL check with a scripted resolver (no real
 * DNS): secrets write-only, SSRF refusals named by field, write auth, deliveries newest first.
 */
import { describe, expect, it } from 'vitest';
import { checkTarget, type Resolver } from '../../adapters/notifications/guarded-http.js';
import { InMemoryNotificationChannelStore } from '../../adapters/notifications/in-memory-channel-store.js';
import { STRICT_URL_POLICY, type UrlPolicy } from '../../core/url-policy.js';
import { type ApiDependencies, createApiHandler } from '../api.js';
import { apiEvent, emptyApiStores, type TestRequest } from './test-support.js';

const DNS: Record<string, string> = {
  'hooks.example.com': '93.184.216.34',
  'rebind.example.com': '169.254.169.254',
  'intranet.example.com': '10.1.2.3',
};
const resolver: Resolver = async (hostname) => {
  const address = DNS[hostname];
  if (!address) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [{ address, family: 4 }];
};

function api(options: { policy?: UrlPolicy; snsAvailable?: boolean; auth?: ApiDependencies['auth'] } = {}) {
  const store = new InMemoryNotificationChannelStore();
  const handler = createApiHandler({
    version: 't',
    ...emptyApiStores(),
    health: async () => ({ registry: 'ok' }),
    ...(options.auth ? { auth: options.auth } : {}),
    notifications: {
      store,
      checkUrl: async (url) => {
        await checkTarget(url, options.policy ?? STRICT_URL_POLICY, resolver);
      },
      snsAvailable: options.snsAvailable ?? true,
    },
  });
  const send = async (request: TestRequest) => {
    const result = await handler(apiEvent(request));
    return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
  };
  const put = (channelId: string, body: unknown, headers: Record<string, string> = {}) =>
    send({
      method: 'PUT',
      path: `/api/notification-channels/${channelId}`,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  return { store, send, put };
}

const webhook = {
  type: 'webhook',
  url: 'https://hooks.example.com/iot',
  secret: 'a-secret-of-16-chars',
  minSeverity: 'high',
};

describe('notification channels API', () => {
  it('creates a channel (201), replaces it (200), and never answers its secret', async () => {
    const { put, send } = api();

    const created = await put('ops', webhook);
    const replaced = await put('ops', { ...webhook, minSeverity: 'low' });
    const read = await send({ method: 'GET', path: '/api/notification-channels/ops' });
    const list = await send({ method: 'GET', path: '/api/notification-channels' });

    expect(created.status).toBe(201);
    expect(replaced.status).toBe(200);
    expect(read.body).toMatchObject({
      channelId: 'ops',
      type: 'webhook',
      secretSet: true,
      minSeverity: 'low',
    });
    for (const answer of [created, replaced, read, list]) {
      expect(JSON.stringify(answer.body)).not.toContain('a-secret-of-16-chars');
    }
    expect(list.body.items).toHaveLength(1);
  });

  it('shows a webhook URL without its query string (tokens ride there)', async () => {
    const { put } = api();

    const answer = await put('teams', { ...webhook, url: 'https://hooks.example.com/iot?code=s3cr3t' });

    expect(answer.body).toMatchObject({ url: 'https://hooks.example.com/iot', urlQueryHidden: true });
    expect(JSON.stringify(answer.body)).not.toContain('s3cr3t');
  });

  it('shows a Slack channel by its host only (the URL is the credential)', async () => {
    const { put } = api();

    const answer = await put('chat', {
      type: 'slack',
      url: 'https://hooks.example.com/services/T0/B0/xyz',
      minSeverity: 'low',
    });

    expect(answer.body).toMatchObject({ urlHost: 'hooks.example.com', secretSet: true });
    expect(JSON.stringify(answer.body)).not.toContain('xyz');
  });

  it.each([
    ['the metadata address', 'https://169.254.169.254/latest/meta-data/', /metadata/],
    ['a link-local address', 'https://169.254.10.10/hook', /linkLocal/],
    [
      'a name resolving to the metadata address',
      'https://rebind.example.com/hook',
      /resolves to 169\.254\.169\.254/,
    ],
    [
      'a private address where none are allowed',
      'https://intranet.example.com/hook',
      /private address, not allowed/,
    ],
    ['plain http in AWS', 'http://hooks.example.com/hook', /must be https/],
  ])('refuses %s, naming the url field', async (_case, url, reason) => {
    const { put, send } = api();

    const answer = await put('bad', { ...webhook, url });

    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ field: 'url', message: expect.stringMatching(reason) }]);
    expect((await send({ method: 'GET', path: '/api/notification-channels/bad' })).status).toBe(404);
  });

  it('refuses an sns channel where the environment has no topic', async () => {
    const { put } = api({ snsAvailable: false });

    const answer = await put('mail', { type: 'sns', minSeverity: 'critical' });

    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].field).toBe('type');
  });

  it('refuses unknown fields and a bad severity, naming them', async () => {
    const { put } = api();

    const answer = await put('ops', { ...webhook, minSeverity: 'urgent', extra: 1 });

    expect(answer.status).toBe(400);
    expect(answer.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'extra',
      'minSeverity',
    ]);
  });

  it('refuses a device type the registry does not know, naming it, and takes a registered one', async () => {
    const { put } = api();

    const unknown = await put('ops', { ...webhook, deviceTypes: ['smart_meter', 'toaster'] });
    const known = await put('ops', { ...webhook, deviceTypes: ['smart_meter'] });

    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([
      { field: 'deviceTypes[1]', message: 'not a registered device type' },
    ]);
    expect(known.status).toBe(201);
    expect(known.body.deviceTypes).toEqual(['smart_meter']);
  });

  it('needs the write auth for PUT and DELETE', async () => {
    const { put, send } = api({ auth: { mode: 'bearer', token: 'tok' } });

    expect((await put('ops', webhook)).status).toBe(401);
    expect((await send({ method: 'DELETE', path: '/api/notification-channels/ops' })).status).toBe(401);
    expect((await put('ops', webhook, { authorization: 'Bearer tok' })).status).toBe(201);
  });

  it('deletes a channel (204), then answers 404', async () => {
    const { put, send } = api();
    await put('ops', webhook);

    expect((await send({ method: 'DELETE', path: '/api/notification-channels/ops' })).status).toBe(204);
    expect((await send({ method: 'DELETE', path: '/api/notification-channels/ops' })).status).toBe(404);
  });

  it("lists a channel's deliveries newest first, with the last error of a failed one", async () => {
    const { put, send, store } = api();
    await put('ops', webhook);
    const delivery = {
      channelId: 'ops',
      transition: 'raised' as const,
      deviceId: 'breaker-7',
      severity: 'high' as const,
      firstAttemptAt: '2026-12-06T03:00:00.000Z',
      completedAt: '2026-12-06T03:00:01.000Z',
    };
    await store.recordDelivery({
      ...delivery,
      alertId: 'a-1',
      eventAt: '2026-12-06T03:00:00.000Z',
      status: 'delivered',
      attempts: 1,
    });
    await store.recordDelivery({
      ...delivery,
      alertId: 'a-2',
      eventAt: '2026-12-06T03:01:00.000Z',
      status: 'failed',
      attempts: 4,
      lastError: 'HTTP 500',
    });

    const answer = await send({ method: 'GET', path: '/api/notification-channels/ops/deliveries?limit=10' });

    expect(answer.status).toBe(200);
    expect(answer.body.items).toMatchObject([
      { alertId: 'a-2', status: 'failed', attempts: 4, lastError: 'HTTP 500' },
      { alertId: 'a-1', status: 'delivered' },
    ]);
    expect((await send({ method: 'GET', path: '/api/notification-channels/none/deliveries' })).status).toBe(
      404,
    );
  });

  it('refuses a malformed channel id in the path', async () => {
    const { send } = api();

    const answer = await send({ method: 'GET', path: '/api/notification-channels/Bad%20Id' });

    expect(answer).toMatchObject({ status: 400, body: { error: { details: [{ field: 'channelId' }] } } });
  });
});
