/** The data-operations routes (issue 16): validation before any read, write auth, status mapping. */
import { describe, expect, it } from 'vitest';
import type { OperationProgress } from '../../ports/data-ops.js';
import { type ApiDependencies, createApiHandler, type DataOpsApi } from '../api.js';
import { ReplayConflictError, UnknownDeviceError } from '../data-ops.js';
import { apiEvent, emptyApiStores, type TestRequest } from './test-support.js';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const TOKEN = 'data-ops-token';
const calls: string[] = [];

const progress = (kind: 'redrive' | 'replay', id: string): OperationProgress => ({
  id,
  kind,
  state: kind === 'redrive' ? 'done' : 'running',
  request: {},
  startedAt: new Date(NOW).toISOString(),
  scanned: 3,
  matched: 2,
  sent: 2,
  skipped: {},
  truncated: false,
});

const fakeDataOps = (overrides: Partial<DataOpsApi> = {}): DataOpsApi => ({
  triage: async (range) => {
    calls.push(`triage ${range.from}-${range.to}`);
    return { from: '', to: '', total: 0, truncated: false, groups: [] };
  },
  redrive: async (filter) => {
    calls.push(`redrive ${JSON.stringify(filter)}`);
    return progress('redrive', 'rd-aaaaaaaaaaaaaaaaaaaa');
  },
  startReplay: async (request) => {
    calls.push(`replay ${JSON.stringify(request.target)}`);
    return progress('replay', 'rp-bbbbbbbbbbbbbbbbbbbb');
  },
  operation: async (id) => {
    calls.push(`operation ${id}`);
    return id.startsWith('rd-') ? progress('redrive', id) : undefined;
  },
  ...overrides,
});

const dependencies = (dataOps: DataOpsApi | undefined): ApiDependencies => ({
  version: 't',
  now: () => NOW,
  auth: { mode: 'bearer', token: TOKEN },
  ...emptyApiStores(),
  health: async () => ({}),
  ...(dataOps ? { dataOps } : {}),
});

/** `null`: no data operations wired. */
async function send(request: TestRequest, dataOps: DataOpsApi | null = fakeDataOps()) {
  calls.length = 0;
  const handler = createApiHandler(dependencies(dataOps ?? undefined));
  const withAuth = { ...request, headers: { authorization: `Bearer ${TOKEN}`, ...request.headers } };
  const result = await handler(apiEvent(withAuth));
  return {
    status: result.statusCode ?? 200,
    body: result.body ? (JSON.parse(result.body) as Record<string, unknown>) : undefined,
    headers: result.headers ?? {},
  };
}

const post = (path: string, body: unknown): TestRequest => ({
  method: 'POST',
  path,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});
const window = { from: '2026-12-01T00:00:00Z', to: '2026-12-01T12:00:00Z' };
const fields = (body: Record<string, unknown> | undefined) =>
  ((body?.error as { details?: { field: string }[] } | undefined)?.details ?? []).map((d) => d.field);

describe('GET /api/dlq/groups', () => {
  it('defaults to the last day', async () => {
    expect((await send({ method: 'GET', path: '/api/dlq/groups' })).status).toBe(200);
    expect(calls).toEqual([`triage ${NOW - 86_400_000}-${NOW}`]);
  });

  it('refuses a reversed or over-long window, naming the field, before any read', async () => {
    const reversed = await send({
      method: 'GET',
      path: '/api/dlq/groups?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z',
    });
    const long = await send({
      method: 'GET',
      path: '/api/dlq/groups?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z',
    });
    expect([reversed.status, long.status]).toEqual([400, 400]);
    expect(fields(long.body)).toEqual(['from']);
    expect(calls).toEqual([]);
  });
});

describe('POST /api/dlq/redrive', () => {
  it('answers the finished redrive with how many were sent and where its progress is', async () => {
    const answer = await send(post('/api/dlq/redrive', { ...window, reason: 'UNKNOWN_DEVICE_TYPE' }));
    expect(answer).toMatchObject({ status: 201, body: { id: 'rd-aaaaaaaaaaaaaaaaaaaa', sent: 2 } });
    expect(answer.headers.location).toBe('/api/dlq/redrives/rd-aaaaaaaaaaaaaaaaaaaa');
  });

  it('refuses a hostile or unknown field, naming it, before any read', async () => {
    for (const [body, field] of [
      [{ ...window, reason: "x' OR 1=1" }, 'reason'],
      [{ ...window, deviceId: '../../etc' }, 'deviceId'],
      [{ ...window, deviceType: 'Bad-Type' }, 'deviceType'],
      [{ ...window, extra: 1 }, 'extra'],
      [{ reason: 'INVALID_JSON' }, 'from'],
    ] as const) {
      const answer = await send(post('/api/dlq/redrive', body));
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(fields(answer.body)).toContain(field);
    }
    expect(calls).toEqual([]);
  });

  it('needs the write authorization', async () => {
    const answer = await send({
      ...post('/api/dlq/redrive', window),
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(401);
    expect(calls).toEqual([]);
  });
});

describe('progress routes', () => {
  it('checks the id against its pattern before any read', async () => {
    for (const path of ['/api/dlq/redrives/x%27%20OR%201', '/api/replays/rd-aaaaaaaaaaaaaaaaaaaa']) {
      const answer = await send({ method: 'GET', path });
      expect(answer.status, path).toBe(400);
    }
    expect(calls).toEqual([]);
  });

  it('answers a known redrive, and 404 for an unknown replay', async () => {
    expect(
      (await send({ method: 'GET', path: '/api/dlq/redrives/rd-cccccccccccccccccccc' })).body,
    ).toMatchObject({
      kind: 'redrive',
    });
    expect((await send({ method: 'GET', path: '/api/replays/rp-cccccccccccccccccccc' })).status).toBe(404);
  });
});

describe('POST /api/replay', () => {
  it('starts a replay: 202 with its progress', async () => {
    const answer = await send(post('/api/replay', { ...window, deviceType: 'smart_meter' }));
    expect(answer).toMatchObject({ status: 202, body: { id: 'rp-bbbbbbbbbbbbbbbbbbbb', state: 'running' } });
    expect(calls).toEqual(['replay {"deviceType":"smart_meter"}']);
  });

  it('wants exactly one of deviceType and deviceId', async () => {
    for (const body of [window, { ...window, deviceType: 'smart_meter', deviceId: 'meter-1' }]) {
      const answer = await send(post('/api/replay', body));
      expect(answer.status).toBe(400);
      expect(fields(answer.body)).toContain('deviceType');
    }
    expect(calls).toEqual([]);
  });

  it('answers 409 while a replay of the type runs, 404 for a device never seen', async () => {
    const busy = fakeDataOps({
      startReplay: async () => {
        throw new ReplayConflictError('smart_meter', 'rp-dddddddddddddddddddd');
      },
    });
    const unknown = fakeDataOps({
      startReplay: async () => {
        throw new UnknownDeviceError('meter-9');
      },
    });
    expect(
      (await send(post('/api/replay', { ...window, deviceType: 'smart_meter' }), busy)).body,
    ).toMatchObject({
      error: { code: 'REPLAY_RUNNING' },
    });
    expect((await send(post('/api/replay', { ...window, deviceId: 'meter-9' }), unknown)).status).toBe(404);
  });
});

describe('without data operations wired', () => {
  it('answers 503 in the error shape', async () => {
    const answer = await send({ method: 'GET', path: '/api/dlq/groups' }, null);
    expect(answer).toMatchObject({ status: 503, body: { error: { code: 'NOT_AVAILABLE' } } });
  });
});
