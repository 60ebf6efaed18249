/**
 * The HTTP API (API Gateway HTTP API v2 events), routed with Powertools' event-handler Router. Routes
 * come from the single declaration functions/shared/api-routes.ts: every entry has exactly one handler
 * in the route modules beside this file, one per area (checked when the handler is created), a known
 * path with another method is a 405, anything else a 404. Queries and bodies are validated with the zod schemas of ./schemas.ts, which also
 * generate GET /api/openapi.json. Errors use the contract's shape; a 5xx only means a bug or outage.
 */
import { ParameterValidationError, Router } from '@aws-lambda-powertools/event-handler/http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { hyparquetEncoder } from '../../adapters/parquet/hyparquet-encoder.js';
import { API_ROUTES, routerPath } from '../../shared/api-routes.js';
import { alertRoutes, notificationChannelHandlers } from './alert-routes.js';
import type { ApiDependencies } from './dependencies.js';
import { deviceRoutes } from './device-routes.js';
import { ApiError, errorResponse, errorResult, fromDomainError } from './errors.js';
import { createExportStream, type ExportDependencies } from './export.js';
import { ingestMappingHandlers } from './ingest-mappings.js';
import { dataOpsRoutes, messageRoutes } from './operations-routes.js';
import { previewRoutes } from './preview-routes.js';
import { applicationRoutes, deviceTypeRoutes } from './registry-routes.js';
import { type ApiAuth, authorizeWrite, requestTargetError } from './request.js';
import { eventOf, type Handler, keyOf, type RouteKey, type RouteTable } from './route-table.js';
import { serviceRoutes } from './service-routes.js';

export type { MessageStage } from '../../ports/registry.js';
export type { DataOpsApi } from './data-ops.js';
export type { ApiDependencies } from './dependencies.js';
export { deviceSummaries, MISSED_REPORTS_OFFLINE, toDeviceSummary } from './devices.js';
export { ApiError } from './errors.js';
export type { NotificationChannelsApi } from './notification-channels.js';
export { buildOpenApiDocument } from './openapi.js';
export type { PreviewDependencies } from './preview.js';
export { type ApiAuth, MAX_REQUEST_BODY_BYTES } from './request.js';
export type { StatsSnapshot } from './responses.js';
export type { DeviceSummary } from './schemas.js';

export function createApiHandler(dependencies: ApiDependencies) {
  const now = dependencies.now ?? Date.now;
  const auth = dependencies.auth ?? { mode: 'open' };
  const exportDependencies: ExportDependencies = {
    registry: dependencies.registry,
    devices: dependencies.devices,
    timeseries: dependencies.timeseries,
    parquet: dependencies.parquet ?? hyparquetEncoder,
    now,
  };
  const handlers = routeTable(dependencies, exportDependencies, auth, now);
  checkEveryRouteHandled(handlers);
  const { app, notFoundOrWrongMethod } = createRouter(handlers, auth, dependencies.onError);

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

/** Every route's handler, one group per area (each in its own module). */
function routeTable(
  dependencies: ApiDependencies,
  exportDependencies: ExportDependencies,
  auth: ApiAuth,
  now: () => number,
): RouteTable {
  return {
    ...serviceRoutes(dependencies),
    ...ingestMappingHandlers(dependencies.ingestMappings, dependencies.registry),
    ...deviceTypeRoutes(dependencies.registry),
    ...applicationRoutes(dependencies.registry),
    ...deviceRoutes(dependencies, exportDependencies, now),
    ...messageRoutes(dependencies.messages),
    ...alertRoutes(dependencies, auth, now),
    ...notificationChannelHandlers(dependencies.notifications, dependencies.registry),
    ...previewRoutes(dependencies, now),
    ...dataOpsRoutes(dependencies.dataOps, now),
  };
}

/** Every declared route has exactly one handler, and every handler a declared route. */
function checkEveryRouteHandled(handlers: RouteTable): void {
  const declared = new Set(API_ROUTES.map(keyOf));
  const missing = [...declared].filter((key) => !(key in handlers));
  const undeclared = Object.keys(handlers).filter((key) => !declared.has(key as RouteKey));
  if (missing.length > 0 || undeclared.length > 0) {
    throw new Error(
      `API routes and handlers differ: no handler for [${missing.join(', ')}], undeclared [${undeclared.join(', ')}]`,
    );
  }
}

/** The router over the route table, answering every refusal and failure in the contract's shape. */
function createRouter(handlers: RouteTable, auth: ApiAuth, onError: ApiDependencies['onError']) {
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
          onError?.(error, keyOf(route));
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
    onError?.(error, `${req.method} ${req.url}`);
    return errorResponse(internalError());
  });
  return { app, notFoundOrWrongMethod };
}

const internalError = () => new ApiError(500, 'INTERNAL_ERROR', 'the API failed to answer');
