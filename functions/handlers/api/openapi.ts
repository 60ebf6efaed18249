/**
 * GET /api/openapi.json: an OpenAPI 3.1 document generated from API_ROUTES and the zod schemas the
 * handlers validate with. zod 4's own `z.toJSONSchema` writes the schemas: OpenAPI 3.1 uses JSON
 * Schema 2020-12 as is, so no second schema library (or zod monkey-patching) is needed.
 */
import { z } from 'zod';
import { Alert } from '../../core/contract/messages.js';
import { NotificationChannel, PublicNotificationChannel } from '../../core/contract/notification-channel.js';
import { Application } from '../../core/contract/registry.js';
import { API_ROUTES, type ApiRoute } from '../../shared/api-routes.js';
import { DATA_OPS_COMPONENTS, DATA_OPS_ROUTE_DOCS } from './data-ops.js';
import { ExportQuery } from './export.js';
import {
  DeliveriesQuery,
  NotificationChannelList,
  NotificationDeliveryList,
} from './notification-channels.js';
import { MAX_REQUEST_BODY_BYTES } from './request.js';
import {
  AcknowledgeBody,
  AlertClearResult,
  AlertList,
  AlertRecord,
  AlertsQuery,
  ApplicationCreateBody,
  ApplicationPatchBody,
  ApplicationSummary,
  ApplicationsQuery,
  DeviceDetail,
  DeviceList,
  DevicesQuery,
  DeviceTypeBody,
  DeviceTypeFull,
  DeviceTypeSummary,
  DraftTypePreview,
  ErrorBody,
  Health,
  IngestMappingBody,
  IngestMappingFull,
  IngestMappingSummary,
  itemsOf,
  MessageList,
  MessagesQuery,
  PATH_PARAMETERS,
  PayloadPreview,
  PreviewBody,
  PreviewFate,
  PreviewFateCounts,
  Stats,
  StatsQuery,
  Telemetry,
  TelemetryQuery,
} from './schemas.js';

interface RouteDoc {
  readonly summary: string;
  readonly query?: z.ZodObject;
  readonly body?: string;
  /** Success status -> component schema name (none for 204). */
  readonly success: { readonly status: number; readonly schema?: string; readonly description: string };
  /** Other success statuses the route answers (e.g. in one runtime and not the other). */
  readonly alsoSuccess?: readonly {
    readonly status: number;
    readonly schema?: string;
    readonly description: string;
  }[];
  /** Further statuses this route answers besides 400/401/404/405/413/415/500 implied below. */
  readonly conflicts?: boolean;
  readonly headers?: readonly 'If-Match'[];
  /** A file answer (export): its media types instead of a JSON schema. */
  readonly files?: readonly string[];
}

/** Every schema the document names, by component name. */
const COMPONENTS = {
  Error: ErrorBody,
  Health,
  DeviceTypeList: itemsOf(DeviceTypeSummary),
  DeviceType: DeviceTypeFull,
  DeviceTypeBody,
  ApplicationList: itemsOf(ApplicationSummary),
  ApplicationSummary,
  Application,
  ApplicationCreate: ApplicationCreateBody,
  ApplicationPatch: ApplicationPatchBody,
  DeviceList,
  DeviceDetail,
  Telemetry,
  MessageList,
  Stats,
  AlertList,
  // Shared by AlertList; named here so it becomes its own component, not an anonymous shared one.
  Alert,
  // Issue 15 lifecycle.
  AlertRecord,
  AlertAcknowledge: AcknowledgeBody,
  AlertClearResult,
  OpenApiDocument: z.looseObject({ openapi: z.string() }),
  // Notification channels (issue 15).
  NotificationChannelList,
  // Shared by the list; named so it becomes its own component.
  PublicNotificationChannel,
  NotificationChannel,
  NotificationDeliveryList,
  // Issue 14: dry runs.
  PreviewBody,
  PayloadPreview,
  DraftTypePreview,
  // Used twice each (before and after): named, or they become an anonymous shared definition.
  PreviewFate,
  PreviewFateCounts,
  // Ingest mappings (issue 14).
  IngestMappingList: itemsOf(IngestMappingSummary),
  IngestMapping: IngestMappingFull,
  IngestMappingBody,
  // Data operations (issue 16).
  ...DATA_OPS_COMPONENTS,
} satisfies Record<string, z.ZodType>;
type ComponentName = keyof typeof COMPONENTS;

const ok = (status: number, schema: ComponentName | undefined, description: string) => ({
  status,
  description,
  ...(schema ? { schema } : {}),
});

const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /api/health': {
    summary: 'Health of the platform and its components',
    success: ok(200, 'Health', 'healthy (503 with the same body when degraded)'),
  },
  'GET /api/openapi.json': {
    summary: 'This document',
    success: ok(200, 'OpenApiDocument', 'the OpenAPI document'),
  },
  'GET /api/device-types': {
    summary: 'List device types',
    success: ok(200, 'DeviceTypeList', 'the registered types'),
  },
  'GET /api/device-types/{typeId}': {
    summary: 'A full device-type definition with its alert rules',
    success: ok(200, 'DeviceType', 'the definition; ETag is its version'),
  },
  'PUT /api/device-types/{typeId}': {
    summary: 'Create or replace a device type; bumps its version',
    body: 'DeviceTypeBody',
    success: ok(200, 'DeviceType', 'replaced (201 when created); ETag is the new version'),
    conflicts: true,
    headers: ['If-Match'],
  },
  'DELETE /api/device-types/{typeId}': {
    summary: 'Remove a device type (409 while active applications reference it)',
    success: ok(204, undefined, 'removed'),
    conflicts: true,
    headers: ['If-Match'],
  },
  'GET /api/applications': {
    summary: 'List applications (no contact e-mails)',
    query: ApplicationsQuery,
    success: ok(200, 'ApplicationList', 'applications, by name'),
  },
  'POST /api/applications': {
    summary: 'Register an application (name unique in any letter case)',
    body: 'ApplicationCreate',
    success: ok(201, 'Application', 'the registered record'),
    conflicts: true,
  },
  'GET /api/applications/{id}': {
    summary: 'One application (public fields)',
    success: ok(200, 'ApplicationSummary', 'the application'),
  },
  'PATCH /api/applications/{id}': {
    summary: 'Partial update: fields left out keep their value',
    body: 'ApplicationPatch',
    success: ok(200, 'Application', 'the updated record'),
    conflicts: true,
  },
  'DELETE /api/applications/{id}': {
    summary: 'Remove an application',
    success: ok(204, undefined, 'removed'),
  },
  'GET /api/devices': {
    summary: 'Devices seen',
    query: DevicesQuery,
    success: ok(200, 'DeviceList', 'a page of devices'),
  },
  'GET /api/devices/{deviceId}': {
    summary: 'One device with its latest values',
    success: ok(200, 'DeviceDetail', 'the device'),
  },
  'GET /api/devices/{deviceId}/telemetry': {
    summary: 'A series of one measurement (raw or bucketed)',
    query: TelemetryQuery,
    success: ok(200, 'Telemetry', 'the points, oldest first'),
  },
  // ----- export (issue 16) -----
  'GET /api/devices/{deviceId}/export': {
    summary: 'A file of measurements over a range: CSV or Parquet, raw or bucketed (avg/min/max/count)',
    query: ExportQuery,
    success: ok(200, undefined, 'the file, as an attachment; time in UTC, units in the column names'),
    files: ['text/csv', 'application/vnd.apache.parquet'],
  },
  'GET /api/messages': {
    summary: 'Recent messages of a stage',
    query: MessagesQuery,
    success: ok(200, 'MessageList', 'samples, newest first'),
  },
  'GET /api/stats': {
    summary: 'Measured pipeline figures over a window',
    query: StatsQuery,
    success: ok(200, 'Stats', 'the figures'),
  },
  'GET /api/alerts': {
    summary: 'Alerts raised, newest first',
    query: AlertsQuery,
    success: ok(200, 'AlertList', 'alerts'),
  },
  // ----- notification channels (issue 15) -------------------------------------------------------
  'GET /api/notification-channels': {
    summary: 'Notification channels (secrets never shown: secretSet instead)',
    success: ok(200, 'NotificationChannelList', 'the channels, by id'),
  },
  'GET /api/notification-channels/{channelId}': {
    summary: 'One notification channel (secrets never shown)',
    success: ok(200, 'PublicNotificationChannel', 'the channel'),
  },
  'PUT /api/notification-channels/{channelId}': {
    summary: 'Create or replace a channel; its URL is checked against SSRF (400 naming url when refused)',
    body: 'NotificationChannel',
    success: ok(200, 'PublicNotificationChannel', 'replaced (201 when created); the channel without secrets'),
  },
  'DELETE /api/notification-channels/{channelId}': {
    summary: 'Remove a channel and its deliveries record',
    success: ok(204, undefined, 'removed'),
  },
  'GET /api/notification-channels/{channelId}/deliveries': {
    summary: "A channel's deliveries, newest first, each with its attempts and last error",
    query: DeliveriesQuery,
    success: ok(200, 'NotificationDeliveryList', 'deliveries'),
  },
  // ----- issue 14 -----
  'POST /api/preview': {
    summary: 'Dry run: what ingest and enrich would do with a payload on a topic; stores nothing',
    body: 'PreviewBody',
    success: ok(
      200,
      'PayloadPreview',
      'the enriched message or the rejection, alerts and points it would give',
    ),
  },
  'POST /api/device-types/{typeId}/preview': {
    summary: 'Dry run of a draft definition (validated like a PUT) on the type’s recently kept messages',
    body: 'DeviceTypeBody',
    success: ok(200, 'DraftTypePreview', 'how many verdicts would change, with each changed message'),
  },
  'GET /api/applications/by-device-type/{type}': {
    summary: 'Applications registered for a device type (same answer as ?deviceType=)',
    query: ApplicationsQuery.omit({ deviceType: true }),
    success: ok(200, 'ApplicationList', 'applications, by name'),
  },
  // Ingest mappings (issue 14).
  'GET /api/ingest-mappings': {
    summary: 'List ingest mappings',
    success: ok(200, 'IngestMappingList', 'the mappings, by id'),
  },
  'GET /api/ingest-mappings/{mappingId}': {
    summary: 'One ingest mapping',
    success: ok(200, 'IngestMapping', 'the mapping; ETag is its version'),
  },
  'PUT /api/ingest-mappings/{mappingId}': {
    summary: 'Create or replace an ingest mapping; bumps its version',
    body: 'IngestMappingBody',
    success: ok(200, 'IngestMapping', 'replaced (201 when created); ETag is the new version'),
    conflicts: true,
    headers: ['If-Match'],
  },
  'DELETE /api/ingest-mappings/{mappingId}': {
    summary: 'Remove an ingest mapping',
    success: ok(204, undefined, 'removed'),
  },
  // Data operations (issue 16).
  ...DATA_OPS_ROUTE_DOCS,
  // --- Alert lifecycle (issue 15).
  'POST /api/alerts/{alertId}/acknowledge': {
    summary: 'Acknowledge a raised alert (who and when recorded; the first acknowledgement stands)',
    body: 'AlertAcknowledge',
    success: ok(200, 'AlertRecord', 'the alert with its lifecycle'),
  },
  'POST /api/alerts/{alertId}/clear': {
    summary:
      'Clear a raised alert as an operator: a clear event (cleared_by operator) is stored and published',
    success: ok(200, 'AlertClearResult', 'the alert, and the clear event unless it was already cleared'),
  },
};

const JSON_SCHEMA_OPTIONS = {
  target: 'draft-2020-12',
  // What a client sends: defaults and optional fields stay optional.
  io: 'input',
  unrepresentable: 'any',
} as const;

function strip(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

function parametersOf(route: ApiRoute, doc: RouteDoc): unknown[] {
  const parameters: unknown[] = [];
  for (const [, name] of route.path.matchAll(/\{(\w+)\}/g)) {
    const schema = PATH_PARAMETERS[name as string];
    if (!schema) throw new Error(`no schema for path parameter "${name}" of ${route.path}`);
    parameters.push({
      name,
      in: 'path',
      required: true,
      schema: strip(z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS)),
    });
  }
  for (const [name, schema] of Object.entries(doc.query?.shape ?? {})) {
    const property = schema as z.ZodType;
    parameters.push({
      name,
      in: 'query',
      required: !property.safeParse(undefined).success,
      schema: strip(z.toJSONSchema(property, JSON_SCHEMA_OPTIONS)),
    });
  }
  for (const header of doc.headers ?? []) {
    parameters.push({
      name: header,
      in: 'header',
      required: false,
      description: 'The version ETag this write is based on, e.g. "3"; a different stored version is a 409.',
      schema: { type: 'string', pattern: '^(W/)?"?\\d{1,9}"?$' },
    });
  }
  return parameters;
}

function operationOf(route: ApiRoute, doc: RouteDoc): Record<string, unknown> {
  const responses: Record<string, unknown> = {
    [String(doc.success.status)]: {
      description: doc.success.description,
      ...(doc.success.schema ? { content: { 'application/json': { schema: ref(doc.success.schema) } } } : {}),
      ...(doc.files
        ? { content: Object.fromEntries(doc.files.map((type) => [type, { schema: { type: 'string' } }])) }
        : {}),
    },
    ...Object.fromEntries(
      (doc.alsoSuccess ?? []).map((other) => [
        String(other.status),
        {
          description: other.description,
          ...(other.schema ? { content: { 'application/json': { schema: ref(other.schema) } } } : {}),
        },
      ]),
    ),
    '400': errorResponse('malformed or invalid input; `details` names each field'),
    '404': errorResponse('unknown resource'),
    '405': errorResponse('method not allowed on this path'),
    '500': errorResponse('a bug or an outage, never bad input'),
  };
  if (route.write) responses['401'] = errorResponse('missing or invalid token');
  if (doc.conflicts) responses['409'] = errorResponse('conflict: duplicate name, version mismatch or in use');
  if (doc.files)
    responses['413'] = errorResponse('the file would pass the size or row limit; `details` names `to`');
  if (doc.body) {
    responses['413'] = errorResponse(`body over ${MAX_REQUEST_BODY_BYTES} bytes`);
    responses['415'] = errorResponse('body is not JSON');
  }
  const parameters = parametersOf(route, doc);
  return {
    operationId: `${route.method.toLowerCase()}${route.path
      .replace(/^\/api/, '')
      .replace(/\{(\w+)\}/g, 'By-$1')
      .split(/[/\-.]/)
      .filter(Boolean)
      .map((part) => part[0]?.toUpperCase() + part.slice(1))
      .join('')}`,
    summary: doc.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(doc.body) } } } }
      : {}),
    responses,
    ...(route.write ? { security: [{ cognitoJwt: [] }] } : {}),
  };
}

export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id: name });
  const generated = z.toJSONSchema(registry, {
    ...JSON_SCHEMA_OPTIONS,
    uri: (id) => `#/components/schemas/${id}`,
  });
  const schemas = Object.fromEntries(
    Object.entries(generated.schemas).map(([name, schema]) => [
      name,
      strip(schema as Record<string, unknown>),
    ]),
  );

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const key = `${route.method} ${route.path}`;
    const doc = ROUTE_DOCS[key];
    if (!doc) throw new Error(`no OpenAPI description for ${key}`);
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operationOf(route, doc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'IoT Cloud HTTP API',
      version,
      description:
        'Errors: { error: { code, message, details: [{ field, message }] } }. Writes need a Cognito JWT in AWS (a configured bearer token locally).',
    },
    paths,
    components: {
      schemas,
      securitySchemes: { cognitoJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
