/**
 * The local stand-in for API Gateway and CloudFront: `/api/*` requests become API Gateway HTTP API (v2)
 * events for the same API handler the stack deploys; everything else is served from the dashboard's
 * static files, as CloudFront serves them from S3.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_REQUEST_BODY_BYTES } from '../functions/handlers/api/request.js';

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The API's own body limit (one fact): the server stops reading there and answers 413 itself. */
export const MAX_BODY_BYTES = MAX_REQUEST_BODY_BYTES;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** The same headers the CloudFront response-headers policy will set. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const jsonError = (
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  extraHeaders: Record<string, string> = {},
) => {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    ...SECURITY_HEADERS,
    ...extraHeaders,
  });
  response.end(JSON.stringify({ error: { code, message, details: [] } }));
};

/**
 * Reads the body up to the limit. Past it, reading stops (an endless body must not be buffered) and
 * the caller answers 413 with `Connection: close`, so the client never reuses a connection that
 * still holds the rest of the body.
 */
function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.off('data', onData);
        request.pause();
        resolveBody('too-large');
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolveBody(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

/** Builds the HTTP API v2 event API Gateway would pass for this request. */
export function toApiGatewayEvent(
  request: IncomingMessage,
  body: Buffer,
  now = Date.now(),
): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== 'cookie')
      headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = name in query ? `${query[name]},${value}` : value;
  const cookies = request.headers.cookie
    ?.split(';')
    .map((c) => c.trim())
    .filter(Boolean);
  const textual = /^(application\/(json|x-www-form-urlencoded)|text\/)/.test(
    headers['content-type'] ?? 'application/json',
  );
  const method = (request.method ?? 'GET').toUpperCase();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body.length > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

async function serveStatic(root: string, path: string, response: ServerResponse): Promise<void> {
  // Resolve inside the dashboard folder only: no `..` escapes, no absolute paths.
  const relative = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
  let file = resolve(root, relative);
  if (file !== root && !file.startsWith(root + sep))
    return jsonError(response, 404, 'NOT_FOUND', 'no such file');
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const content = await readFile(file);
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': extname(file) === '.html' ? 'no-cache' : 'public, max-age=300',
      ...SECURITY_HEADERS,
    });
    response.end(content);
  } catch {
    jsonError(response, 404, 'NOT_FOUND', `no such file: ${path}`);
  }
}

export interface LocalHttpServerOptions {
  readonly api: ApiHandler;
  /** Folder of the built dashboard (served at /). */
  readonly dashboardDir: string;
  readonly host?: string;
  readonly port: number;
}

export async function startHttpServer(
  options: LocalHttpServerOptions,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const root = resolve(options.dashboardDir);
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const handle = async () => {
      if (path === '/api' || path.startsWith('/api/')) {
        const body = await readBody(request);
        if (body === 'too-large') {
          response.once('finish', () => request.destroy());
          return jsonError(response, 413, 'PAYLOAD_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`, {
            connection: 'close',
          });
        }
        const result = await options.api(toApiGatewayEvent(request, body));
        const headers: Record<string, string> = { ...SECURITY_HEADERS };
        for (const [name, value] of Object.entries(result.headers ?? {}))
          headers[name.toLowerCase()] = String(value);
        response.writeHead(result.statusCode ?? 200, headers);
        response.end(
          result.body === undefined
            ? undefined
            : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'),
        );
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return jsonError(response, 405, 'METHOD_NOT_ALLOWED', 'static files are read-only');
      await serveStatic(root, path, response);
    };
    handle().catch(() => {
      if (!response.headersSent)
        jsonError(response, 500, 'INTERNAL_ERROR', 'the local server failed to answer');
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `HTTP port ${options.port} on ${host} is already in use (choose another with --http-port)`,
            )
          : error,
      ),
    );
    server.listen(options.port, host, () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
