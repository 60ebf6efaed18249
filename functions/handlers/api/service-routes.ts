/** The service routes: health by component, pipeline stats over a window, and the OpenAPI document. */
import type { ApiDependencies } from './dependencies.js';
import { jsonResponse } from './errors.js';
import { buildOpenApiDocument } from './openapi.js';
import { parseQuery } from './request.js';
import { eventOf, type RouteTable } from './route-table.js';
import { StatsQuery } from './schemas.js';

export function serviceRoutes(
  dependencies: Pick<ApiDependencies, 'health' | 'stats' | 'version'>,
): RouteTable {
  // Built on first request, then kept: it only depends on the version.
  let openApiDocument: unknown;
  return {
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

    'GET /api/stats': async (reqCtx) => {
      const query = parseQuery(StatsQuery, eventOf(reqCtx));
      return jsonResponse(200, await dependencies.stats(Number(query.window.slice(0, -1))));
    },
  };
}
