/**
 * For tests: HTTP/1.1 requests written byte for byte on a TCP socket. Clients such as fetch or curl
 * normalise request targets (`//`, `/\`, `%` would never reach the server as sent); these do not.
 */
import { connect } from 'node:net';

export interface RawRequest {
  readonly method: string;
  /** The request target exactly as sent: `/api/devices/%ff`, `//`, `*`, `http://h/x`. */
  readonly target: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly elapsedMs: number;
}

/**
 * Sends one request with `Connection: close` and reads the answer until the server closes the
 * connection. Rejects when no complete answer arrives within `timeoutMs` (a hang).
 */
export function rawRequest(url: string, request: RawRequest, timeoutMs = 5_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
  const headers: Record<string, string> = {
    host: `${hostname}:${port}`,
    connection: 'close',
    ...(body === undefined ? {} : { 'content-length': String(body.length) }),
    ...request.headers,
  };
  const head = `${request.method} ${request.target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${request.target}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A server may reset a connection it refuses (after answering): what was read still counts.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const answer = parseAnswer(Buffer.concat(chunks), performance.now() - started);
      if (answer) resolve(answer);
      else reject(new Error(`connection closed without an answer to ${request.method} ${request.target}`));
    });
    // Latin-1 keeps every byte of the target as given (a test may send raw bytes over 0x7f).
    socket.write(Buffer.from(head, 'latin1'));
    if (body !== undefined) socket.write(body);
  });
}

function parseAnswer(bytes: Buffer, elapsedMs: number): RawAnswer | undefined {
  const text = bytes.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (headEnd < 0 || !statusLine) return undefined;
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, headEnd).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const payload = bytes.subarray(headEnd + 4);
  const body = headers['transfer-encoding'] === 'chunked' ? dechunk(payload) : payload;
  return { status: Number(statusLine[1]), headers, body: body.toString('utf8'), elapsedMs };
}

/** The body of a chunked answer (RFC 9112 §7.1); a truncated one yields what arrived. */
function dechunk(payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = payload.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) break;
    const size = Number.parseInt(payload.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
