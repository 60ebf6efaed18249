/**
 * Reading a request: query strings, JSON bodies, path identifiers, `If-Match`, and who may write.
 * Every failure is an `ApiError` in the contract's shape naming the field, so bad client input is
 * always a 4xx and never reaches a store or a query.
 */
import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import { DEVICE_ID_PATTERN, TYPE_ID_PATTERN } from '../../core/contract/identifiers.js';
import { ApiError, detailsOf } from './errors.js';

/**
 * Largest request body the API takes. API Gateway accepts up to 10 MB and Lambda 6 MB; registry
 * bodies are a few KB, so anything near this is a mistake or an attack.
 */
export const MAX_REQUEST_BODY_BYTES = 256 * 1024;

/**
 * Who may write:
 * - `jwt` (AWS): API Gateway's JWT authorizer has verified the Cognito token on every write route;
 *   the handler still refuses a write that arrives without verified claims (defence in depth).
 * - `bearer` (local, `--api-token`): writes need `Authorization: Bearer <token>`.
 * - `open` (local default): anyone on this machine may write.
 */
export type ApiAuth =
  | { readonly mode: 'open' }
  | { readonly mode: 'bearer'; readonly token: string }
  | { readonly mode: 'jwt' };

interface JwtAuthorizerContext {
  readonly authorizer?: { readonly jwt?: { readonly claims?: Record<string, unknown> } };
}

/** The caller's identity for a write (the JWT subject in AWS), or a 401. */
export function authorizeWrite(auth: ApiAuth, event: APIGatewayProxyEventV2): string {
  if (auth.mode === 'open') return 'local';
  if (auth.mode === 'jwt') {
    const claims = (event.requestContext as JwtAuthorizerContext).authorizer?.jwt?.claims;
    const subject = claims?.sub;
    if (typeof subject === 'string' && subject.length > 0) return subject;
    throw unauthorized('a Cognito access token is required for writes');
  }
  const header = headerOf(event, 'authorization') ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const given = Buffer.from(match?.[1] ?? '', 'utf8');
  const expected = Buffer.from(auth.token, 'utf8');
  // Constant-time comparison: the token must not leak through response timing.
  if (given.length === expected.length && timingSafeEqual(given, expected)) return 'token';
  throw unauthorized(
    match ? 'the bearer token is not valid' : 'writes need an Authorization: Bearer <token> header',
  );
}

const unauthorized = (message: string) =>
  new ApiError(401, 'UNAUTHORIZED', message, [{ field: 'Authorization', message }]);

export function headerOf(event: APIGatewayProxyEventV2, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

/** Parses the query string against a strict schema; a 400 names every bad or unknown field. */
export function parseQuery<T extends z.ZodType>(schema: T, event: APIGatewayProxyEventV2): z.infer<T> {
  const params = new URLSearchParams(event.rawQueryString ?? '');
  const query: Record<string, string> = {};
  const repeated = new Set<string>();
  for (const [name, value] of params) {
    if (name in query) repeated.add(name);
    query[name] = value;
  }
  if (repeated.size > 0) {
    throw new ApiError(
      400,
      'INVALID_QUERY',
      'a query parameter is given more than once',
      [...repeated].map((field) => ({ field, message: 'give this parameter once' })),
    );
  }
  const result = schema.safeParse(query);
  if (!result.success) {
    throw new ApiError(
      400,
      'INVALID_QUERY',
      'the query string is invalid',
      detailsOf(result.error, '(query)'),
    );
  }
  return result.data;
}

const JSON_MEDIA_TYPE = /^application\/([\w.+-]+\+)?json\s*(;.*)?$/i;

/**
 * Reads and validates a JSON body: 415 unless it is JSON, 413 over the limit, 400 for malformed JSON
 * (with the parser's position) and for every invalid, missing or unknown field.
 */
export function parseBody<T extends z.ZodType>(schema: T, event: APIGatewayProxyEventV2): z.infer<T> {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_REQUEST_BODY_BYTES) {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `request body over ${MAX_REQUEST_BODY_BYTES} bytes`);
  }
  const contentType = headerOf(event, 'content-type');
  if (bytes.length > 0 && (contentType === undefined || !JSON_MEDIA_TYPE.test(contentType))) {
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'the body must be JSON (Content-Type: application/json)',
      [{ field: 'Content-Type', message: `got ${contentType ?? 'none'}` }],
    );
  }
  if (bytes.length === 0) {
    throw new ApiError(400, 'INVALID_BODY', 'a JSON body is required', [
      { field: '(body)', message: 'required' },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ApiError(400, 'MALFORMED_JSON', 'the body is not valid JSON', [
      { field: '(body)', message: error instanceof Error ? error.message : 'malformed JSON' },
    ]);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError(400, 'INVALID_BODY', 'the body is invalid', detailsOf(result.error, '(body)'));
  }
  return result.data;
}

function pathIdentifier(field: string, pattern: RegExp, what: string) {
  return (value: string | undefined): string => {
    if (value === undefined || !pattern.test(value)) {
      throw new ApiError(400, 'INVALID_PATH', `invalid ${what}`, [
        { field, message: `must match ${pattern.source}` },
      ]);
    }
    return value;
  };
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const deviceIdParam = pathIdentifier('deviceId', DEVICE_ID_PATTERN, 'device id');
export const typeIdParam = pathIdentifier('typeId', TYPE_ID_PATTERN, 'device type id');
/** Issue 14: the prototype-compatible `/api/applications/by-device-type/{type}`. */
export const deviceTypeParam = pathIdentifier('type', TYPE_ID_PATTERN, 'device type id');
export const applicationIdParam = pathIdentifier('id', UUID_PATTERN, 'application id (a uuid)');
/** Issue 15 lifecycle routes: the alert store's alert_id alphabet. */
export const alertIdParam = pathIdentifier('alertId', /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$/, 'alert id');

/** `If-Match: "3"` (or `W/"3"`, or `3`) -> 3; absent -> undefined; anything else is a 400. */
export function ifMatchVersion(event: APIGatewayProxyEventV2): number | undefined {
  const header = headerOf(event, 'if-match');
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) {
    throw new ApiError(400, 'INVALID_HEADER', 'If-Match must be a version ETag such as "3"', [
      { field: 'If-Match', message: 'expected a version number in quotes' },
    ]);
  }
  return Number(match[1]);
}

export const versionEtag = (version: number) => `"${version}"`;

/** Longest piece of a bad path segment echoed back in an error (the rest is cut). */
const ECHO_LIMIT = 64;
const echo = (text: string) =>
  JSON.stringify(text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}...` : text);

/** A host name, IPv4 or bracketed IPv6 address, with an optional port: what `Host` may carry (RFC 9110 §7.2). */
const HOST_PATTERN = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const decodesCleanly = (segment: string) => {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
};

/**
 * Checks the parts of a request that the router turns into a web `Request` before any route runs:
 * there a bad percent-escape, a `Host` no URL can carry or a header `Headers` refuses is thrown
 * outside every handler, as a 500. Here each is a 400 that names the header, or the path segment
 * (by its route parameter's name when the path matches a route).
 *
 * @param routePaths API Gateway route paths (`/api/devices/{deviceId}`), to name a bad segment.
 */
export function requestTargetError(
  event: APIGatewayProxyEventV2,
  routePaths: readonly string[],
): ApiError | undefined {
  const segments = event.rawPath.split('/');
  const bad = segments.findIndex((segment) => !decodesCleanly(segment));
  if (bad >= 0) {
    const field = parameterAt(segments, bad, routePaths) ?? '(path)';
    const message = `segment ${bad} (${echo(segments[bad] as string)}) is not valid percent-encoded UTF-8`;
    return new ApiError(400, 'INVALID_PATH', 'the path is not valid percent-encoding', [{ field, message }]);
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined) continue;
    try {
      new Headers([[name, value]]);
    } catch {
      return invalidHeader(
        name,
        'not a valid HTTP header (name, or a value in Latin-1 without NUL, CR or LF)',
      );
    }
  }
  const host = headerOf(event, 'host');
  if (host !== undefined && !(HOST_PATTERN.test(host) && URL.canParse(`https://${host}/`))) {
    return invalidHeader('Host', 'must be a host name or address with an optional port');
  }
  const protocol = headerOf(event, 'x-forwarded-proto');
  if (protocol !== undefined && !/^https?$/i.test(protocol)) {
    return invalidHeader('X-Forwarded-Proto', 'must be http or https');
  }
  return undefined;
}

const invalidHeader = (field: string, message: string) =>
  new ApiError(400, 'INVALID_HEADER', `the ${field} header is invalid`, [{ field, message }]);

/** The name of the route parameter at `index` in the first route whose other segments match. */
function parameterAt(segments: readonly string[], index: number, routePaths: readonly string[]) {
  for (const path of routePaths) {
    const pattern = path.split('/');
    if (pattern.length !== segments.length) continue;
    const parameter = /^\{(\w+)\}$/.exec(pattern[index] as string)?.[1];
    const othersMatch = pattern.every(
      (part, i) => i === index || part === segments[i] || /^\{\w+\}$/.test(part),
    );
    if (parameter && othersMatch) return parameter;
  }
  return undefined;
}
