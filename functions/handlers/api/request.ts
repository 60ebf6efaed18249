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
export const applicationIdParam = pathIdentifier('id', UUID_PATTERN, 'application id (a uuid)');

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
