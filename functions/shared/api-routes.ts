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
  // ----- notification channels (issue 15) -------------------------------------------------------
  read('/api/notification-channels'),
  read('/api/notification-channels/{channelId}'),
  write('PUT', '/api/notification-channels/{channelId}'),
  write('DELETE', '/api/notification-channels/{channelId}'),
  read('/api/notification-channels/{channelId}/deliveries'),

  // ----- issue 14: dry runs and the app registry's prototype-compatible alias --------------------
  // A preview stores and publishes nothing. POST /api/preview runs the current registry on one
  // payload of at most IoT Core's 128 KB: it reveals nothing the public reads do not (registry,
  // alerts), costs about one enrichment, so it is open like the reads (the dashboard's "try a
  // payload" works signed out). The draft type preview runs a caller-supplied definition, replaying
  // up to 1,500 kept messages through it twice: it is the step before a PUT, taken by whoever may PUT,
  // so it needs the write token (no unauthenticated caller can make the API compile definitions or
  // spend that CPU).
  { method: 'POST', path: '/api/preview', write: false },
  write('POST', '/api/device-types/{typeId}/preview'),
  // The prototype's registry call (GET /api/applications/by-device-type/{type}); same answer as
  // GET /api/applications?deviceType={type}.
  read('/api/applications/by-device-type/{type}'),
  // Ingest mappings (issue 14): declared translations of devices' own payloads.
  read('/api/ingest-mappings'),
  read('/api/ingest-mappings/{mappingId}'),
  write('PUT', '/api/ingest-mappings/{mappingId}'),
  write('DELETE', '/api/ingest-mappings/{mappingId}'),
  // ----- data operations (issue 16): dead-letter triage and redrive, replay -----
  read('/api/dlq/groups'),
  write('POST', '/api/dlq/redrive'),
  read('/api/dlq/redrives/{redriveId}'),
  write('POST', '/api/replay'),
  read('/api/replays/{replayId}'),
  // ----- export (issue 16): a device's series as CSV or Parquet (functions/handlers/api/export.ts) -----
  read('/api/devices/{deviceId}/export'),
  // --- Alert lifecycle (issue 15): acknowledge (body {note?}) and operator clear; writes need write auth.
  write('POST', '/api/alerts/{alertId}/acknowledge'),
  write('POST', '/api/alerts/{alertId}/clear'),
];

/** The router's syntax for the same path (`:name` segments). */
export const routerPath = (route: ApiRoute): string => route.path.replace(/\{(\w+)\}/g, ':$1');
