/**
 * The HTTP API's routes (../shared/design/API.md), declared once: the API handler registers them, the
 * local server and the handler answer 405 for a known path with another method, the OpenAPI document
 * lists them, and the CDK stack creates one API Gateway route per entry with the JWT authorizer on
 * every write.
 */
export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface ApiRoute {
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{name}` is one path segment. */
  readonly path: string;
  /** Writes require a Cognito JWT in AWS (and a configured token locally). */
  readonly write: boolean;
}

const read = (path: string): ApiRoute => ({ method: 'GET', path, write: false });
const write = (method: Exclude<HttpMethod, 'GET'>, path: string): ApiRoute => ({ method, path, write: true });

export const API_ROUTES: readonly ApiRoute[] = [
  read('/api/health'),
  read('/api/openapi.json'),
  read('/api/device-types'),
  read('/api/device-types/{typeId}'),
  write('PUT', '/api/device-types/{typeId}'),
  write('DELETE', '/api/device-types/{typeId}'),
  read('/api/applications'),
  write('POST', '/api/applications'),
  read('/api/applications/{id}'),
  write('PATCH', '/api/applications/{id}'),
  write('DELETE', '/api/applications/{id}'),
  read('/api/devices'),
  read('/api/devices/{deviceId}'),
  read('/api/devices/{deviceId}/telemetry'),
  read('/api/messages'),
  read('/api/stats'),
  read('/api/alerts'),
  // --- Alert lifecycle (issue 15): acknowledge (body {note?}) and operator clear; writes need write auth.
  write('POST', '/api/alerts/{alertId}/acknowledge'),
  write('POST', '/api/alerts/{alertId}/clear'),
];

/** The router's syntax for the same path (`:name` segments). */
export const routerPath = (route: ApiRoute): string => route.path.replace(/\{(\w+)\}/g, ':$1');
