import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, startHttpServer } from './http-server.js';

let server: Awaited<ReturnType<typeof startHttpServer>>;
let dashboard: string;
const events: APIGatewayProxyEventV2[] = [];

beforeAll(async () => {
  dashboard = await mkdtemp(join(tmpdir(), 'iotcloud-dashboard-'));
  await writeFile(join(dashboard, 'index.html'), '<!doctype html><title>t</title>');
  server = await startHttpServer({
    dashboardDir: dashboard,
    port: 0,
    api: async (event) => {
      events.push(event);
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ path: event.rawPath }),
      };
    },
  });
});

afterAll(async () => {
  await server.close();
  await rm(dashboard, { recursive: true });
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
});
