/**
 * The HTTP API (API Gateway HTTP API v2 events), routed with Powertools' event-handler Router. Routes
 * come from the single declaration functions/shared/api-routes.ts: every entry has exactly one handler
 * here (checked when the handler is created), a known path with another method is a 405, anything
 * else a 404. Queries and bodies are validated with the zod schemas of ./schemas.ts, which also
 * generate GET /api/openapi.json. Errors use the contract's shape; a 5xx only means a bug or outage.
 */
import { ParameterValidationError, Router } from '@aws-lambda-powertools/event-handler/http';
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { hyparquetEncoder } from '../../adapters/parquet/hyparquet-encoder.js';
import type { Alert } from '../../core/contract/messages.js';
import type { Application, DeviceType } from '../../core/contract/registry.js';
import { RegistryError } from '../../core/errors.js';
import type { ParquetEncoder } from '../../core/export.js';
import { compileRegistry } from '../../core/registry.js';
import type { IngestMappingStore } from '../../ports/ingest-mappings.js';
import type { AlertStore, MessageStage, RegistryStore } from '../../ports/registry.js';
import type { TimeseriesQuery } from '../../ports/timeseries.js';
import { API_ROUTES, type ApiRoute, routerPath } from '../../shared/api-routes.js';
import { IOT_CORE_MAX_PAYLOAD_BYTES } from '../../shared/aws-limits.js';
import { type DataOpsApi, dataOpsHandlers } from './data-ops.js';
import { ApiError, errorResponse, errorResult, fromDomainError, jsonResponse } from './errors.js';
import { collectExport, createExportStream, fileHeaders, prepareExport } from './export.js';
import { ingestMappingHandlers } from './ingest-mappings.js';
import { type NotificationChannelsApi, notificationChannelRoutes } from './notification-channels.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  currentRegistry,
  type PreviewDependencies,
  previewDraftType,
  previewPayload,
  withDraftType,
} from './preview.js';
import {
  type ApiAuth,
  alertIdParam,
  applicationIdParam,
  authorizeWrite,
  deviceIdParam,
  deviceTypeParam,
  ifMatchVersion,
  parseBody,
  parseQuery,
  requestTargetError,
  typeIdParam,
  versionEtag,
} from './request.js';
import type { StatsSnapshot } from './responses.js';
import {
  AcknowledgeBody,
  AlertsQuery,
  ApplicationCreateBody,
  ApplicationPatchBody,
  ApplicationsQuery,
  BUCKETS,
  type DeviceSummary,
  DevicesQuery,
  DeviceTypeBody,
  MessagesQuery,
  PreviewBody,
  StatsQuery,
  TelemetryQuery,
} from './schemas.js';

export type { MessageStage } from '../../ports/registry.js';
export type { DataOpsApi } from './data-ops.js';
export { deviceSummaries, MISSED_REPORTS_OFFLINE, toDeviceSummary } from './devices.js';
export { ApiError } from './errors.js';
export type { NotificationChannelsApi } from './notification-channels.js';
export { buildOpenApiDocument } from './openapi.js';
export type { PreviewDependencies } from './preview.js';
export { type ApiAuth, MAX_REQUEST_BODY_BYTES } from './request.js';
export type { StatsSnapshot } from './responses.js';
export type { DeviceSummary } from './schemas.js';

/** What the API uses; each runtime's composition root maps its stores onto it. */
export interface ApiDependencies {
  readonly version: string;
  /** Device types and applications, reads and writes (DynamoDB in AWS, dynalite locally). */
  readonly registry: RegistryStore;
  readonly alerts: Pick<AlertStore, 'recent' | 'get' | 'acknowledge' | 'clear'>;
  /**
   * Issue 15: publishes an operator's clear event to iot.alerts (local runtime). Absent in AWS: there the
   * notifier reads the alerts table's stream, where the stored event arrives.
   */
  readonly publishAlert?: (alert: Alert) => Promise<void>;
  readonly devices: {
    list(query: {
      deviceType?: string;
      limit: number;
      cursor?: string;
    }): Promise<{ items: DeviceSummary[]; cursor?: string }>;
    get(deviceId: string): Promise<DeviceSummary | undefined>;
  };
  readonly timeseries: TimeseriesQuery;
  readonly messages: {
    recent(stage: MessageStage, query: { deviceId?: string; limit: number }): Promise<unknown[]>;
  };
  readonly stats: (windowMinutes: number) => Promise<StatsSnapshot>;
  /** Component name -> 'ok' | 'degraded'. */
  readonly health: () => Promise<Record<string, 'ok' | 'degraded'>>;
  /** Who may write; default `open` (local mode without a token). */
  readonly auth?: ApiAuth;
  /** Ingest mappings (issue 14); left out, their routes answer 503. */
  readonly ingestMappings?: IngestMappingStore;
  // ----- export (issue 16) -----
  /** Writes Parquet exports; default hyparquet-writer (pure JS, the Lambda path), DuckDB locally. */
  readonly parquet?: ParquetEncoder;
  /** Told about every 5xx (a bug or an outage), with the error. */
  readonly onError?: (error: unknown, route: string) => void;
  readonly now?: () => number;
  /** Notification channels (issue 15); absent = those routes answer 503 NOT_CONFIGURED. */
  readonly notifications?: NotificationChannelsApi;
  /** Issue 14: what the dry runs read (./preview.ts); left out, they compile the registry from the store. */
  readonly preview?: PreviewDependencies;
  /** Data operations (issue 16): triage, redrive, replay; left out, their routes answer 503. */
  readonly dataOps?: DataOpsApi;
}

type Handler = (reqCtx: RequestContext) => Promise<Response>;
type RouteKey = `${ApiRoute['method']} ${string}`;
const keyOf = (route: ApiRoute): RouteKey => `${route.method} ${route.path}`;

/** The API Gateway v2 event behind a request (the router is only ever given those here). */
const eventOf = (reqCtx: RequestContext) => reqCtx.event as APIGatewayProxyEventV2;

export function createApiHandler(dependencies: ApiDependencies) {
  const now = dependencies.now ?? Date.now;
  const auth = dependencies.auth ?? { mode: 'open' };
  const { registry } = dependencies;
  let openApiDocument: unknown;
  const exportDependencies = {
    registry,
    devices: dependencies.devices,
    timeseries: dependencies.timeseries,
    parquet: dependencies.parquet ?? hyparquetEncoder,
    now,
  };

  const handlers: Record<RouteKey, Handler> = {
    'GET /api/health': async () => {
      const components = await dependencies.health();
      const degraded = Object.values(components).some((status) => status !== 'ok');
      return jsonResponse(degraded ? 503 : 200, {
        status: degraded ? 'degraded' : 'ok',
        version: dependencies.version,
        components,
      });
    },

    'GET /api/openapi.json': async () => {
      openApiDocument ??= buildOpenApiDocument(dependencies.version);
      return jsonResponse(200, openApiDocument);
    },

    // ----- ingest mappings (issue 14) ----------------------------------------------------------------
    ...ingestMappingHandlers(dependencies.ingestMappings, registry),

    // ----- device types ---------------------------------------------------------------------------
    'GET /api/device-types': async () => {
      const records = await registry.listDeviceTypes();
      return jsonResponse(200, {
        items: records.map(({ deviceType: t }) => ({
          typeId: t.typeId,
          name: t.name,
          category: t.category,
          version: t.version,
          measurementCount: Object.keys(t.measurements).length,
        })),
      });
    },

    'GET /api/device-types/{typeId}': async ({ params }) => {
      const id = typeIdParam(params.typeId);
      const record = await registry.getDeviceType(id);
      if (!record) throw new ApiError(404, 'NOT_FOUND', `device type "${id}" is not registered`);
      return jsonResponse(
        200,
        { ...record.deviceType, alertRules: record.alertRules, updatedAt: record.updatedAt },
        { etag: versionEtag(record.deviceType.version) },
      );
    },

    'PUT /api/device-types/{typeId}': async (reqCtx) => {
      const event = eventOf(reqCtx);
      const id = typeIdParam(reqCtx.params.typeId);
      const {
        typeId,
        version,
        alertRules,
        updatedAt: _readOnly,
        ...definition
      } = parseBody(DeviceTypeBody, event);
      if (typeId !== undefined && typeId !== id) {
        throw new ApiError(400, 'INVALID_BODY', 'the body names another device type than the path', [
          { field: 'typeId', message: `must be "${id}" (the path's type id) or left out` },
        ]);
      }
      const headerVersion = ifMatchVersion(event);
      if (headerVersion !== undefined && version !== undefined && headerVersion !== version) {
        throw new ApiError(400, 'INVALID_BODY', 'If-Match and the body name different versions', [
          { field: 'version', message: `If-Match says ${headerVersion}` },
        ]);
      }
      const expectedVersion = headerVersion ?? version;
      // The version the store will write is its own (stored + 1); this one only satisfies the schema.
      const deviceType: DeviceType = { ...definition, typeId: id, version: expectedVersion ?? 1 };
      // Enrichment compiles the whole registry: a definition that cannot compile (a rule naming no
      // reading, a reserved dimension) is refused here, or it would stop every later refresh.
      const rules = alertRules ?? (await registry.getDeviceType(id))?.alertRules ?? [];
      checkCompiles(deviceType, rules);
      const record = await registry.putDeviceType(
        { deviceType, ...(alertRules === undefined ? {} : { alertRules }) },
        expectedVersion === undefined ? {} : { expectedVersion },
      );
      return jsonResponse(
        record.deviceType.version === 1 ? 201 : 200,
        { ...record.deviceType, alertRules: record.alertRules, updatedAt: record.updatedAt },
        { etag: versionEtag(record.deviceType.version) },
      );
    },

    'DELETE /api/device-types/{typeId}': async (reqCtx) => {
      const id = typeIdParam(reqCtx.params.typeId);
      const expectedVersion = ifMatchVersion(eventOf(reqCtx));
      await registry.deleteDeviceType(id, expectedVersion === undefined ? {} : { expectedVersion });
      return new Response(null, { status: 204 });
    },

    // ----- applications ---------------------------------------------------------------------------
    'GET /api/applications': async (reqCtx) => {
      const query = parseQuery(ApplicationsQuery, eventOf(reqCtx));
      return jsonResponse(200, { items: await registry.listApplications(query) });
    },

    'POST /api/applications': async (reqCtx) => {
      const body = parseBody(ApplicationCreateBody, eventOf(reqCtx));
      const application = await registry.createApplication(body);
      // The full record (contact included) goes only to the authenticated writer.
      return jsonResponse(201, application, {
        location: `/api/applications/${application.applicationId}`,
      });
    },

    'GET /api/applications/{id}': async ({ params }) => {
      const id = applicationIdParam(params.id);
      const application = await registry.getApplication(id);
      if (!application) throw new ApiError(404, 'NOT_FOUND', `application "${id}" does not exist`);
      // Reads are public: the private contact e-mail stays out.
      const { contactEmail: _private, ...publicFields } = application;
      return jsonResponse(200, publicFields);
    },

    'PATCH /api/applications/{id}': async (reqCtx) => {
      const id = applicationIdParam(reqCtx.params.id);
      const patch = parseBody(ApplicationPatchBody, eventOf(reqCtx));
      if (Object.keys(patch).length === 0) {
        throw new ApiError(400, 'INVALID_BODY', 'the patch changes nothing', [
          { field: '(body)', message: 'name at least one field to change' },
        ]);
      }
      return jsonResponse(200, await registry.updateApplication(id, patch));
    },

    'DELETE /api/applications/{id}': async ({ params }) => {
      await registry.deleteApplication(applicationIdParam(params.id));
      return new Response(null, { status: 204 });
    },

    // ----- devices and telemetry -----------------------------------------------------------------
    'GET /api/devices': async (reqCtx) => {
      const query = parseQuery(DevicesQuery, eventOf(reqCtx));
      return jsonResponse(200, await dependencies.devices.list(query));
    },

    'GET /api/devices/{deviceId}': async ({ params }) => {
      const id = deviceIdParam(params.deviceId);
      const device = await dependencies.devices.get(id);
      if (!device) throw new ApiError(404, 'NOT_FOUND', `device "${id}" has not been seen`);
      const [type, latest] = await Promise.all([
        registry.getDeviceType(device.deviceType).catch(() => undefined),
        dependencies.timeseries.latest(id),
      ]);
      return jsonResponse(200, {
        ...device,
        latest: latest.map((point) => ({
          measure: point.measure,
          value: point.value,
          unit: unitOf(type?.deviceType, point.measure),
          time: new Date(point.time).toISOString(),
          quality: point.quality,
        })),
      });
    },

    'GET /api/devices/{deviceId}/telemetry': async (reqCtx) => {
      const id = deviceIdParam(reqCtx.params.deviceId);
      const query = parseQuery(TelemetryQuery, eventOf(reqCtx));
      const to = query.to ?? now();
      const from = query.from ?? to - 3_600_000;
      if (from >= to) {
        throw new ApiError(400, 'INVALID_QUERY', 'from must be before to', [
          { field: 'from', message: 'must be before to' },
        ]);
      }
      const base = { deviceId: id, measure: query.measure, from, to, limit: query.limit };
      if (query.bucket) {
        const points = await dependencies.timeseries.buckets({ ...base, bucketMs: BUCKETS[query.bucket] });
        return jsonResponse(200, {
          deviceId: id,
          measure: query.measure,
          bucket: query.bucket,
          points: points.slice(0, query.limit).map((p) => ({ ...p, time: new Date(p.time).toISOString() })),
        });
      }
      const points = await dependencies.timeseries.series(base);
      return jsonResponse(200, {
        deviceId: id,
        measure: query.measure,
        points: points.slice(0, query.limit).map((p) => ({ ...p, time: new Date(p.time).toISOString() })),
      });
    },

    // ----- export (issue 16): buffered, as API Gateway's HTTP API invokes Lambda (export.ts) ------
    'GET /api/devices/{deviceId}/export': async (reqCtx) => {
      const file = await prepareExport(exportDependencies, reqCtx.params.deviceId, eventOf(reqCtx));
      const bytes = await collectExport(file);
      // Base64 in the proxy result for either format: Parquet is binary, and one size rule is simpler.
      reqCtx.isBase64Encoded = true;
      return new Response(bytes, { status: 200, headers: fileHeaders(file) });
    },

    // ----- inspection ----------------------------------------------------------------------------
    'GET /api/messages': async (reqCtx) => {
      const query = parseQuery(MessagesQuery, eventOf(reqCtx));
      const items = await dependencies.messages.recent(query.stage, {
        limit: query.limit,
        ...(query.deviceId ? { deviceId: query.deviceId } : {}),
      });
      return jsonResponse(200, { stage: query.stage, items });
    },

    'GET /api/stats': async (reqCtx) => {
      const query = parseQuery(StatsQuery, eventOf(reqCtx));
      return jsonResponse(200, await dependencies.stats(Number(query.window.slice(0, -1))));
    },

    'GET /api/alerts': async (reqCtx) => {
      const query = parseQuery(AlertsQuery, eventOf(reqCtx));
      const items = await dependencies.alerts.recent({
        limit: query.limit,
        ...(query.deviceId === undefined ? {} : { deviceId: query.deviceId }),
        ...(query.severity === undefined ? {} : { severity: query.severity }),
        ...(query.state === undefined ? {} : { state: query.state }),
        ...(query.ruleId === undefined ? {} : { ruleId: query.ruleId }),
      });
      return jsonResponse(200, { items });
    },

    // ----- notification channels (issue 15, ./notification-channels.ts) ----------------------------
    ...Object.fromEntries(
      Object.entries(notificationChannelRoutes(dependencies.notifications)).map(([key, handle]) => [
        key,
        (reqCtx: RequestContext) => handle({ params: reqCtx.params, event: eventOf(reqCtx) }),
      ]),
    ),
    // ----- issue 14: dry runs (./preview.ts) and the by-device-type alias --------------------------
    'POST /api/preview': async (reqCtx) => {
      const body = parseBody(PreviewBody, eventOf(reqCtx));
      // A string is the raw bytes (as text); any other JSON value is sent as its JSON text.
      const bytes = Buffer.from(
        typeof body.payload === 'string' ? body.payload : JSON.stringify(body.payload),
      );
      if (bytes.length > IOT_CORE_MAX_PAYLOAD_BYTES) {
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', 'IoT Core refuses MQTT payloads over 128 KB', [
          { field: 'payload', message: `${bytes.length} bytes, at most ${IOT_CORE_MAX_PAYLOAD_BYTES}` },
        ]);
      }
      const preview = dependencies.preview ?? {};
      return jsonResponse(
        200,
        await previewPayload({
          registry: await currentRegistry(preview, registry),
          ...(preview.alertState ? { alertState: preview.alertState } : {}),
          bytes,
          ...(body.topic === undefined ? {} : { topic: body.topic }),
          now: now(),
          serviceVersion: dependencies.version,
        }),
      );
    },

    'POST /api/device-types/{typeId}/preview': async (reqCtx) => {
      const id = typeIdParam(reqCtx.params.typeId);
      // Validated like a PUT: the same body schema, path/body agreement and compile check.
      const {
        typeId,
        version: _version,
        alertRules,
        updatedAt: _readOnly,
        ...definition
      } = parseBody(DeviceTypeBody, eventOf(reqCtx));
      if (typeId !== undefined && typeId !== id) {
        throw new ApiError(400, 'INVALID_BODY', 'the body names another device type than the path', [
          { field: 'typeId', message: `must be "${id}" (the path's type id) or left out` },
        ]);
      }
      const stored = await registry.getDeviceType(id);
      const draft: DeviceType = { ...definition, typeId: id, version: (stored?.deviceType.version ?? 0) + 1 };
      const rules = alertRules ?? stored?.alertRules ?? [];
      checkCompiles(draft, rules);
      const [current, applications] = await Promise.all([
        currentRegistry(dependencies.preview ?? {}, registry),
        registry.listApplications(),
      ]);
      return jsonResponse(
        200,
        await previewDraftType({
          typeId: id,
          current,
          // List results carry no contact e-mail; the compiled registry copies only public fields.
          draft: withDraftType(current, draft, rules, applications as unknown as Application[]),
          recent: (stage, query) => dependencies.messages.recent(stage, query),
          now: now(),
          serviceVersion: dependencies.version,
        }),
      );
    },

    'GET /api/applications/by-device-type/{type}': async (reqCtx) => {
      const deviceType = deviceTypeParam(reqCtx.params.type);
      const query = parseQuery(ApplicationsQuery.omit({ deviceType: true }), eventOf(reqCtx));
      return jsonResponse(200, { items: await registry.listApplications({ ...query, deviceType }) });
    },
    // ----- data operations (issue 16): ./data-ops.ts --------------------------------------------
    ...Object.fromEntries(
      Object.entries(dataOpsHandlers(dependencies.dataOps, now)).map(([key, handle]) => [
        key,
        (reqCtx: RequestContext) =>
          handle({
            query: (schema) => parseQuery(schema, eventOf(reqCtx)),
            body: (schema) => parseBody(schema, eventOf(reqCtx)),
            params: reqCtx.params,
          }),
      ]),
    ),
    // ----- alert lifecycle (issue 15) ---------------------------------------------------------------
    'POST /api/alerts/{alertId}/acknowledge': async (reqCtx) => {
      const event = eventOf(reqCtx);
      const by = authorizeWrite(auth, event);
      const alertId = alertIdParam(reqCtx.params.alertId);
      // The note is optional, so is the body.
      const body = event.body ? parseBody(AcknowledgeBody, event) : {};
      const alert = await dependencies.alerts.acknowledge(alertId, {
        by,
        at: now(),
        ...(body.note === undefined ? {} : { note: body.note }),
      });
      return jsonResponse(200, alert);
    },

    'POST /api/alerts/{alertId}/clear': async (reqCtx) => {
      const event = eventOf(reqCtx);
      const by = authorizeWrite(auth, event);
      const alertId = alertIdParam(reqCtx.params.alertId);
      const result = await dependencies.alerts.clear(alertId, { by, at: now() });
      // Stored first (the alert store), then published: a failed publish is a 5xx and a retry finds
      // the alert cleared with its event stored.
      if (result.event && dependencies.publishAlert) await dependencies.publishAlert(result.event);
      return jsonResponse(200, { alert: result.record, ...(result.event ? { event: result.event } : {}) });
    },
  };

  const declared = new Set(API_ROUTES.map(keyOf));
  const missing = [...declared].filter((key) => !(key in handlers));
  const undeclared = Object.keys(handlers).filter((key) => !declared.has(key as RouteKey));
  if (missing.length > 0 || undeclared.length > 0) {
    throw new Error(
      `API routes and handlers differ: no handler for [${missing.join(', ')}], undeclared [${undeclared.join(', ')}]`,
    );
  }

  const app = new Router();
  for (const route of API_ROUTES) {
    const handle = handlers[keyOf(route)] as Handler;
    app.route(
      async (reqCtx) => {
        try {
          if (route.write) authorizeWrite(auth, eventOf(reqCtx));
          return await handle(reqCtx);
        } catch (error) {
          const known = fromDomainError(error);
          if (known) return errorResponse(known);
          dependencies.onError?.(error, keyOf(route));
          return errorResponse(internalError());
        }
      },
      { method: route.method, path: routerPath(route) as `/${string}` },
    );
  }

  // The router reports a known path with another method as not found; the contract says 405.
  const knownPaths = API_ROUTES.map(
    (route) => new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+').replaceAll('.', '\\.')}$`),
  );
  const notFoundOrWrongMethod = (path: string, method: string) =>
    knownPaths.some((pattern) => pattern.test(path))
      ? new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on this route`)
      : new ApiError(404, 'NOT_FOUND', 'no such route');
  app.notFound(async (_error, { req }) =>
    errorResponse(notFoundOrWrongMethod(new URL(req.url).pathname, req.method)),
  );
  app.methodNotAllowed(async (_error, { req }) =>
    errorResponse(notFoundOrWrongMethod(new URL(req.url).pathname, req.method)),
  );
  // A path parameter that decodes to nothing or to whitespace (`/api/devices/%20`): the router refuses
  // it before any route runs, by default as a 500.
  app.errorHandler(ParameterValidationError, async (error) =>
    errorResponse(
      new ApiError(
        400,
        'INVALID_PATH',
        'a path parameter is empty',
        error.issues.map((issue) => ({
          field: /'(\w+)'/.exec(issue)?.[1] ?? '(path)',
          message: 'must not be empty or whitespace',
        })),
      ),
    ),
  );
  // Whatever else the router throws is a bug: logged, and answered in the contract's shape (never the
  // router's default body, which carries the stack trace when POWERTOOLS_DEV is set).
  app.errorHandler(Error, async (error, { req }) => {
    dependencies.onError?.(error, `${req.method} ${req.url}`);
    return errorResponse(internalError());
  });

  const methods = new Set<string>(API_ROUTES.map((route) => route.method));
  const routePaths = [...new Set(API_ROUTES.map((route) => route.path))];

  const handler = async (
    event: APIGatewayProxyEventV2,
    context?: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      const method = event.requestContext.http.method.toUpperCase();
      // A method no route declares is answered here: the router answers one it does not know
      // (PROPFIND) with a bodiless 405, outside the contract's shape.
      if (!methods.has(method)) return errorResult(notFoundOrWrongMethod(event.rawPath, method));
      const refusal = requestTargetError(event, routePaths);
      if (refusal) return errorResult(refusal);
      // A GET may carry a body in HTTP, but the router's web Request refuses one (a 500): reads ignore
      // bodies, so it is dropped here.
      const readable =
        method === 'GET' && event.body !== undefined
          ? { ...event, body: undefined, isBase64Encoded: false }
          : event;
      return (await app.resolve(readable, context ?? ({} as Context))) as APIGatewayProxyStructuredResultV2;
    } catch (error) {
      // The router itself failed (e.g. an event it cannot read): still the contract's shape.
      dependencies.onError?.(error, event.rawPath);
      return errorResult(internalError());
    }
  };
  // The export as a stream, for a server that can stream (the local one); undefined for other requests.
  return Object.assign(handler, { exportStream: createExportStream(exportDependencies) });
}

const internalError = () => new ApiError(500, 'INTERNAL_ERROR', 'the API failed to answer');

/** Compiles one type with its rules as enrichment will; a failure is a 400 naming the part. */
function checkCompiles(
  deviceType: DeviceType,
  rules: readonly import('../../core/contract/registry.js').AlertRule[],
) {
  try {
    compileRegistry({
      deviceTypes: [deviceType],
      alertRules: [{ deviceType: deviceType.typeId, rules: [...rules] }],
      applications: [],
    });
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    const field = /alert rule/.test(error.message)
      ? 'alertRules'
      : /dimension/.test(error.message)
        ? 'dimensions'
        : 'measurements';
    throw new ApiError(400, 'INVALID_DEFINITION', 'the definition does not compile', [
      { field, message: error.message },
    ]);
  }
}

function unitOf(type: DeviceType | undefined, measure: string): string | undefined {
  if (!type) return undefined;
  const [key, component] = measure.split('.') as [string, string | undefined];
  const definition = type.measurements[key];
  if (!definition) return undefined;
  if ('components' in definition) return component ? definition.components[component]?.unit : undefined;
  return definition.unit;
}
