/**
 * The operations routes: recent messages of a pipeline stage, and the data operations of issue 16
 * (dead-letter triage, redrive, replay; ./data-ops.ts) as router handlers.
 */
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import { dataOpsHandlers } from './data-ops.js';
import type { ApiDependencies } from './dependencies.js';
import { jsonResponse } from './errors.js';
import { parseBody, parseQuery } from './request.js';
import { eventOf, type RouteTable } from './route-table.js';
import { MessagesQuery } from './schemas.js';

export function messageRoutes(messages: ApiDependencies['messages']): RouteTable {
  return {
    'GET /api/messages': async (reqCtx) => {
      const query = parseQuery(MessagesQuery, eventOf(reqCtx));
      const items = await messages.recent(query.stage, {
        limit: query.limit,
        ...(query.deviceId ? { deviceId: query.deviceId } : {}),
      });
      return jsonResponse(200, { stage: query.stage, items });
    },
  };
}

/** The data-operation routes, given parsers bound to the request's event. */
export function dataOpsRoutes(dataOps: ApiDependencies['dataOps'], now: () => number): RouteTable {
  return Object.fromEntries(
    Object.entries(dataOpsHandlers(dataOps, now)).map(([key, handle]) => [
      key,
      (reqCtx: RequestContext) =>
        handle({
          query: (schema) => parseQuery(schema, eventOf(reqCtx)),
          body: (schema) => parseBody(schema, eventOf(reqCtx)),
          params: reqCtx.params,
        }),
    ]),
  );
}
