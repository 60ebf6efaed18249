import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, splitRequestTarget, startHttpServer } from './http-server.js';
import { rawRequest } from './http-test-support.js';

let server: Awaited<ReturnType<typeof startHttpServer>>;
let dashboard: string;
const events: APIGatewayProxyEventV2[] = [];
const failures: { error: unknown; request: string }[] = [];

beforeAll(async () => {
  dashboard = await mkdtemp(join(tmpdir(), 'iotcloud-dashboard-'));
  await writeFile(join(dashboard, 'index.html'), '<!doctype html><title>t</title>');
  server = await startHttpServer({
    dashboardDir: dashboard,
    port: 0,
    onError: (error, request) => failures.push({ error, request }),
    api: async (event) => {
      events.push(event);
      if (event.rawPath === '/api/fail') throw new Error('a bug in a handler');
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ path: event.rawPath }),
      };
    },
  });
});

afterAll(async () => {
  try {
    await server.close();
  } finally {
    await rm(dashboard, { recursive: true, force: true });
  }
});

/** A raw HTTP request (fetch would normalise away the paths these tests need). */
function send(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const url = new URL(server.url);
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local HTTP server', () => {
  it('turns an API request into an API Gateway HTTP API v2 event', async () => {
    const response = await send('GET', '/api/devices?deviceType=smart_meter&limit=5&limit=6', undefined, {
      'X-Trace': 'abc',
    });

    const event = events.at(-1);
    expect(response.status).toBe(200);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/api/devices',
      rawQueryString: 'deviceType=smart_meter&limit=5&limit=6',
      queryStringParameters: { deviceType: 'smart_meter', limit: '5,6' },
      requestContext: { http: { method: 'GET', path: '/api/devices' }, stage: '$default' },
      isBase64Encoded: false,
    });
    expect(event?.headers['x-trace']).toBe('abc');
  });

  it('passes a JSON body as text and a binary body as base64', async () => {
    await send('POST', '/api/applications', '{"name":"x"}', { 'content-type': 'application/json' });
    expect(events.at(-1)).toMatchObject({ body: '{"name":"x"}', isBase64Encoded: false });

    await send('POST', '/api/applications', Buffer.from([0xff, 0x00]), {
      'content-type': 'application/octet-stream',
    });
    expect(events.at(-1)).toMatchObject({ body: '/wA=', isBase64Encoded: true });
  });

  it('answers 413 with the error shape for a body over the limit, without calling the API', async () => {
    const before = events.length;

    const response = await send('POST', '/api/applications', Buffer.alloc(MAX_BODY_BYTES + 1, 0x61));

    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(events.length).toBe(before);
  });

  it('serves the dashboard from its folder with security headers', async () => {
    const response = await send('GET', '/');

    expect(response.status).toBe(200);
    expect(response.body).toContain('<title>t</title>');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('never serves a file outside the dashboard folder', async () => {
    const response = await send('GET', '/../../../../etc/passwd');
    const encoded = await send('GET', '/%2e%2e/%2e%2e/etc/passwd');

    expect(response.status).toBe(404);
    expect(encoded.status).toBe(404);
    expect(encoded.body).not.toContain('root:');
  });

  it('names the port when it is already in use', async () => {
    const port = Number(new URL(server.url).port);

    await expect(
      startHttpServer({ dashboardDir: dashboard, port, api: async () => ({ statusCode: 200 }) }),
    ).rejects.toThrow(`HTTP port ${port} on 127.0.0.1 is already in use`);
  });
  it('answers odd request targets with 4xx or a file, and keeps serving (curl --path-as-is)', async () => {
    const answers = new Map<string, number>();
    for (const target of [
      '//',
      '///',
      '/\\',
      '/\\/',
      '/%',
      '/%ff',
      '/%E0%A4%A',
      '//api/health',
      '*',
      'nope',
    ]) {
      answers.set(target, (await rawRequest(server.url, { method: 'GET', target })).status);
    }

    for (const [target, status] of answers) {
      expect(status, target).toBeGreaterThanOrEqual(200);
      expect(status, target).toBeLessThan(500);
    }
    expect(answers.get('/%')).toBe(400);
    expect(answers.get('*')).toBe(400);
    expect((await rawRequest(server.url, { method: 'GET', target: '/' })).status).toBe(200);
  });

  it('passes the path and query to the API as sent, without normalising them', async () => {
    await rawRequest(server.url, { method: 'GET', target: '/api/devices/%ff/x?a=%&b' });

    expect(events.at(-1)).toMatchObject({ rawPath: '/api/devices/%ff/x', rawQueryString: 'a=%&b' });
  });

  it('splits origin-form and absolute-form targets and refuses the others', () => {
    expect(splitRequestTarget('/a/b?c=d#e')).toEqual({ path: '/a/b', query: 'c=d' });
    expect(splitRequestTarget('//')).toEqual({ path: '//', query: '' });
    expect(splitRequestTarget('http://host:1/api/x?y')).toEqual({ path: '/api/x', query: 'y' });
    expect(splitRequestTarget('http://host')).toEqual({ path: '/', query: '' });
    expect(splitRequestTarget('*')).toBeUndefined();
    expect(splitRequestTarget('?a')).toBeUndefined();
  });

  it('answers an unexpected failure with a logged 500 for that request only, without a stack', async () => {
    const answer = await rawRequest(server.url, { method: 'GET', target: '/api/fail' });

    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'INTERNAL_ERROR' } });
    expect(answer.body).not.toContain('a bug in a handler');
    expect(failures.map((f) => f.request)).toEqual(['GET /api/fail']);
    expect((await rawRequest(server.url, { method: 'GET', target: '/api/health' })).status).toBe(200);
  });

  it('logs a server error after start (an accept failing) instead of ending the process', async () => {
    const before = failures.length;

    server.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));

    expect(failures.slice(before).map((f) => f.request)).toEqual(['accepting a connection']);
    expect((await rawRequest(server.url, { method: 'GET', target: '/api/health' })).status).toBe(200);
  });
});

describe('stopping the local HTTP server', () => {
  const start = (api: Parameters<typeof startHttpServer>[0]['api']) =>
    startHttpServer({ dashboardDir: dashboard, port: 0, api });
  const ok = async () => ({ statusCode: 200, body: '{}' });

  /** Resolves once the server holds `count` open connections (bounded wait, no fixed sleep). */
  async function untilConnections(server: Server, count: number, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = await new Promise<number>((done, fail) =>
        server.getConnections((error, n) => (error ? fail(error) : done(n))),
      );
      if (open >= count) return;
      if (Date.now() > deadline)
        throw new Error(`only ${open} of ${count} connections after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  const closedSocket = (socket: Socket) =>
    new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

  it('ends 200 connections trickling a body once the grace period is over, within the bound', async () => {
    const http = await start(ok);
    const { port } = new URL(http.url);
    const clients: Socket[] = [];
    const trickle = setInterval(() => {
      for (const socket of clients) if (!socket.destroyed) socket.write('x');
    }, 20);
    try {
      for (let i = 0; i < 200; i++) {
        const socket = connect({ host: '127.0.0.1', port: Number(port) });
        socket.on('error', () => undefined);
        socket.write(
          'POST /api/applications HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n',
        );
        clients.push(socket);
      }
      await untilConnections(http.server, 200);
      const graceMs = 300;

      const started = performance.now();
      await http.close({ graceMs });
      const elapsed = performance.now() - started;

      // The clients were given the grace period, and the stop did not wait for them past it.
      expect(elapsed).toBeGreaterThanOrEqual(graceMs * 0.9);
      expect(elapsed).toBeLessThan(graceMs + 1_000);
      await Promise.all(clients.map(closedSocket));
    } finally {
      clearInterval(trickle);
      for (const socket of clients) socket.destroy();
    }
  });

  it('ends a request whose handler outlives the grace period, and the late answer is dropped harmlessly', async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let answered = false;
    const http = await start(async () => {
      entered();
      await released;
      answered = true;
      return { statusCode: 200, body: '{}' };
    });
    const stuck = rawRequest(http.url, { method: 'GET', target: '/api/stuck' }).catch(
      (error: Error) => error,
    );
    await handlerEntered;
    const graceMs = 200;

    const started = performance.now();
    await http.close({ graceMs });
    const elapsed = performance.now() - started;
    release();
    const outcome = await stuck;
    // Let the handler's continuation write into the closed connection.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));

    expect(elapsed).toBeLessThan(graceMs + 1_000);
    expect(outcome).toBeInstanceOf(Error);
    expect(answered).toBe(true);
  });

  it('answers a request in flight, closes idle keep-alive connections, and refuses new ones', async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const http = await start(async (event) => {
      if (event.rawPath === '/api/slow') {
        entered();
        await released;
      }
      return { statusCode: 200, body: '{"done":true}' };
    });
    const { port } = new URL(http.url);
    // An idle keep-alive connection: one request answered, the socket left open.
    const idle = connect({ host: '127.0.0.1', port: Number(port) });
    const idleAnswered = new Promise<void>((resolve) => idle.once('data', () => resolve()));
    idle.write('GET /api/fast HTTP/1.1\r\nhost: t\r\n\r\n');
    await idleAnswered;
    // A request whose handler is still running when the stop begins.
    const slow = rawRequest(http.url, {
      method: 'GET',
      target: '/api/slow',
      headers: { connection: 'keep-alive' },
    });
    await handlerEntered;
    const graceMs = 10_000;

    const started = performance.now();
    const closing = http.close({ graceMs });
    await closedSocket(idle);
    const refused = await new Promise<boolean>((resolve) => {
      const late = connect({ host: '127.0.0.1', port: Number(port) });
      late.once('connect', () => resolve(false));
      late.once('error', () => resolve(true));
    });
    release();
    const answer = await slow;
    await closing;

    expect(refused).toBe(true);
    expect(answer).toMatchObject({ status: 200, body: '{"done":true}' });
    // Nothing was left to wait for once the answer was out: the grace period was not used up.
    expect(performance.now() - started).toBeLessThan(graceMs / 2);
  });
});
