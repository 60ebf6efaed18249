/**
 * The local stand-in for API Gateway and CloudFront: `/api/*` requests become API Gateway HTTP API (v2)
 * events for the same API handler the stack deploys; everything else is served from the dashboard's
 * static files, as CloudFront serves them from S3.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { StreamedAnswer } from '../functions/handlers/api/export.js';
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
  details: readonly { field: string; message: string }[] = [],
) => {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    ...SECURITY_HEADERS,
    ...extraHeaders,
  });
  response.end(JSON.stringify({ error: { code, message, details } }));
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
    // A client that goes away mid-body: without this the read would wait forever.
    request.once('close', () => {
      if (!request.complete) reject(new ClientGoneError());
    });
  });
}

/** The client closed its connection before the request was read: nobody to answer, nothing to log. */
class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

/** The path and query of a request target, as API Gateway passes them (`rawPath`, `rawQueryString`). */
export interface RequestTarget {
  readonly path: string;
  readonly query: string;
}

/**
 * Splits a request target without normalising it (API Gateway passes the path as sent). Origin form
 * (`/path?query`) and absolute form (`http://host/path?query`, RFC 9112 §3.2.2) carry a path;
 * anything else (`*`, a bare word) is `undefined`, a 400. No `new URL()` on the target: it throws on
 * `//` and `/\` (read as an empty host), which once killed the process.
 */
export function splitRequestTarget(target: string): RequestTarget | undefined {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) || '/' : target;
  if (!rest.startsWith('/') && !(absolute && rest.startsWith('?'))) return undefined;
  const withoutFragment = rest.split('#', 1)[0] as string;
  const queryAt = withoutFragment.indexOf('?');
  const path = queryAt < 0 ? withoutFragment : withoutFragment.slice(0, queryAt);
  return {
    path: path === '' ? '/' : path,
    query: queryAt < 0 ? '' : withoutFragment.slice(queryAt + 1),
  };
}

/** Builds the HTTP API v2 event API Gateway would pass for this request. */
export function toApiGatewayEvent(
  request: IncomingMessage,
  target: RequestTarget,
  body: Buffer,
  now = Date.now(),
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== 'cookie')
      headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(target.query))
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
    rawPath: target.path,
    rawQueryString: target.query,
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
        path: target.path,
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
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return jsonError(response, 400, 'INVALID_PATH', 'the path is not valid percent-encoding', {}, [
      { field: '(path)', message: 'not valid percent-encoded UTF-8' },
    ]);
  }
  // Resolve inside the dashboard folder only: no `..` escapes, no absolute paths.
  const relative = normalize(decoded).replace(/^([/\\])+/, '');
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

/**
 * How long a stop lets open connections finish by default: in-flight requests get this long to be
 * answered, then every connection still open (idle, keep-alive, or a client trickling its body) is
 * destroyed. `close()` resolves at most about this long after it is called, whatever clients do.
 */
export const HTTP_STOP_GRACE_MS = 2_000;

export interface LocalHttpServerOptions {
  readonly api: ApiHandler;
  /**
   * Export (issue 16): answers the requests it streams (a file export), undefined for the rest, which
   * go to `api`. The body is piped with back-pressure: a slow client slows the store reads.
   */
  readonly streamingApi?: (event: APIGatewayProxyEventV2) => Promise<StreamedAnswer | undefined>;
  /** Folder of the built dashboard (served at /). */
  readonly dashboardDir: string;
  readonly host?: string;
  readonly port: number;
  /**
   * Told about every request that failed unexpectedly (answered 500); default: a line on stderr.
   * The error may carry a stack: it goes to the log, never into the response.
   */
  readonly onError?: (error: unknown, request: string) => void;
  /**
   * `GET /metrics`: the Prometheus exposition (local/metrics/prometheus.ts). A read, so under the
   * rule of every other read: the API authorizes writes only (functions/handlers/api/request.ts).
   * @default - no /metrics route (the path falls through to the dashboard files)
   */
  readonly metrics?: { readonly contentType: string; render(): Promise<string> };
}

export interface LocalHttpServer {
  readonly server: Server;
  readonly url: string;
  /**
   * Stops accepting connections at once, lets requests in flight be answered (each answer then
   * closes its connection), closes idle keep-alive connections, and after `graceMs` (default
   * HTTP_STOP_GRACE_MS) destroys whatever connection is still open. Resolves once every connection
   * is gone, so within `graceMs` plus the time sockets take to close (milliseconds). Calling it
   * again returns the same promise.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>;
}

const logToStderr = (error: unknown, request: string) =>
  process.stderr.write(
    `local http: ${request} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );

export async function startHttpServer(options: LocalHttpServerOptions): Promise<LocalHttpServer> {
  const root = resolve(options.dashboardDir);
  const onError = options.onError ?? logToStderr;
  let closing = false;

  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    const target = splitRequestTarget(request.url ?? '');
    if (!target) {
      return jsonError(response, 400, 'INVALID_REQUEST_TARGET', 'the request target must be a path', {}, [
        { field: '(request target)', message: 'expected /path or http://host/path' },
      ]);
    }
    if (target.path === '/metrics' && options.metrics) {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return jsonError(response, 405, 'METHOD_NOT_ALLOWED', '/metrics answers GET only', {
          allow: 'GET, HEAD',
        });
      }
      const text = await options.metrics.render();
      response.writeHead(200, {
        'content-type': options.metrics.contentType,
        'cache-control': 'no-store',
        ...SECURITY_HEADERS,
      });
      return response.end(request.method === 'HEAD' ? undefined : text);
    }
    if (target.path === '/api' || target.path.startsWith('/api/')) {
      const body = await readBody(request);
      if (body === 'too-large') {
        response.once('finish', () => request.destroy());
        return jsonError(response, 413, 'PAYLOAD_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`, {
          connection: 'close',
        });
      }
      const event = toApiGatewayEvent(request, target, body);
      const streamed = await options.streamingApi?.(event);
      if (streamed) {
        response.writeHead(streamed.statusCode, { ...SECURITY_HEADERS, ...streamed.headers });
        // A failure mid-file (a limit, a store error) destroys the response: a cut chunked body is an
        // error to the client, never a short file taken for a whole one.
        await pipeline(Readable.from(streamed.body, { objectMode: false }), response);
        return;
      }
      const result = await options.api(event);
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
    await serveStatic(root, target.path, response);
  };

  // Every failure stays inside its request: a 500 for it (logged), never a throw out of the listener,
  // which would end the process.
  const server = createServer((request, response) => {
    const failed = (error: unknown) => {
      if (error instanceof ClientGoneError || request.socket.destroyed) return;
      onError(error, `${request.method} ${request.url}`);
      if (!response.headersSent)
        jsonError(response, 500, 'INTERNAL_ERROR', 'the local server failed to answer', {
          connection: 'close',
        });
      else response.destroy();
    };
    // A request answered while stopping does not keep its connection: it closes once the answer is
    // out (after Node's own finish handler has released the socket, so it counts as idle).
    response.once('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    try {
      answer(request, response).catch(failed);
    } catch (error) {
      failed(error);
    }
  });
  // Every open connection, so a stop can end the ones still open after the grace period.
  const connections = new Set<Socket>();
  server.on('connection', (socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
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
  // After listening, a server error (an accept failing with EMFILE under a flood of connections) would
  // be thrown as an unhandled 'error' event and end the process: logged instead; the server goes on.
  server.on('error', (error) => onError(error, 'accepting a connection'));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  let closed: Promise<void> | undefined;
  const close = ({ graceMs = HTTP_STOP_GRACE_MS }: { readonly graceMs?: number } = {}) => {
    closed ??= new Promise<void>((done) => {
      closing = true;
      const deadline = setTimeout(() => {
        for (const socket of connections) socket.destroy();
      }, graceMs);
      // The callback runs once every connection has closed. Since Node 19 close() also ends the idle
      // keep-alive connections at once (https://nodejs.org/api/http.html#servercloseidleconnections).
      server.close(() => {
        clearTimeout(deadline);
        done();
      });
    });
    return closed;
  };

  return { server, url: `http://${host}:${port}`, close };
}
