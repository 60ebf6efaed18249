/**
 * The contract's error shape, `{ error: { code, message, details: [{ field, message }] } }`, and the one
 * place where the ports' domain errors become statuses: ValidationError 400, NotFoundError 404,
 * ConflictError 409. Anything else is a bug or an outage: 500, logged, with no internals in the body.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../ports/registry.js';

export interface ErrorDetail {
  readonly field: string;
  readonly message: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
  }
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** Every JSON answer's headers: API answers are never cached (they change with each message). */
const JSON_HEADERS = { 'content-type': JSON_CONTENT_TYPE, 'cache-control': 'no-store' } as const;

export const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });

const errorBody = (error: ApiError) => ({
  error: { code: error.code, message: error.message, details: error.details },
});

export const errorResponse = (error: ApiError) => jsonResponse(error.status, errorBody(error));

/** The same answer as `errorResponse`, for a request answered before the router sees it. */
export const errorResult = (error: ApiError): APIGatewayProxyStructuredResultV2 => ({
  statusCode: error.status,
  headers: { ...JSON_HEADERS },
  body: JSON.stringify(errorBody(error)),
});

/** One detail per field: an unknown key is named itself (zod reports them on the parent object). */
export function detailsOf(error: z.ZodError, root: string): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'unknown field' }));
    }
    return [{ field: path.join('.') || root, message: issue.message }];
  });
}

/** The stores report details as `field: message` strings. */
const toDetail = (text: string): ErrorDetail => {
  const colon = text.indexOf(': ');
  return colon > 0
    ? { field: text.slice(0, colon), message: text.slice(colon + 2) }
    : { field: '(body)', message: text };
};

const CONFLICT_CODES: Record<ConflictError['reason'], string> = {
  already_exists: 'ALREADY_EXISTS',
  duplicate_name: 'DUPLICATE_NAME',
  version_mismatch: 'VERSION_MISMATCH',
  in_use: 'IN_USE',
};

/** Maps a domain error of the ports to the contract; `undefined` for anything else. */
export function fromDomainError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof ValidationError) {
    return new ApiError(400, 'VALIDATION_FAILED', error.message, error.details.map(toDetail));
  }
  if (error instanceof NotFoundError) return new ApiError(404, 'NOT_FOUND', error.message);
  if (error instanceof ConflictError) {
    return new ApiError(409, CONFLICT_CODES[error.reason] ?? 'CONFLICT', error.message);
  }
  return undefined;
}
