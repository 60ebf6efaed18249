/**
 * The alert routes (issue 15): recent alerts, an operator's acknowledge and clear, and the notification
 * channels (./notification-channels.ts) as router handlers.
 */
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { ApiDependencies } from './dependencies.js';
import { jsonResponse } from './errors.js';
import { notificationChannelRoutes } from './notification-channels.js';
import { type ApiAuth, alertIdParam, authorizeWrite, parseBody, parseQuery } from './request.js';
import { eventOf, type RouteTable } from './route-table.js';
import { AcknowledgeBody, AlertsQuery } from './schemas.js';

export function alertRoutes(
  dependencies: Pick<ApiDependencies, 'alerts' | 'publishAlert'>,
  auth: ApiAuth,
  now: () => number,
): RouteTable {
  const { alerts, publishAlert } = dependencies;
  return {
    'GET /api/alerts': async (reqCtx) => {
      const query = parseQuery(AlertsQuery, eventOf(reqCtx));
      const items = await alerts.recent({
        limit: query.limit,
        ...(query.deviceId === undefined ? {} : { deviceId: query.deviceId }),
        ...(query.severity === undefined ? {} : { severity: query.severity }),
        ...(query.state === undefined ? {} : { state: query.state }),
        ...(query.ruleId === undefined ? {} : { ruleId: query.ruleId }),
      });
      return jsonResponse(200, { items });
    },

    'POST /api/alerts/{alertId}/acknowledge': async (reqCtx) => {
      const event = eventOf(reqCtx);
      const by = authorizeWrite(auth, event);
      const alertId = alertIdParam(reqCtx.params.alertId);
      // The note is optional, so is the body.
      const body = event.body ? parseBody(AcknowledgeBody, event) : {};
      const alert = await alerts.acknowledge(alertId, {
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
      const result = await alerts.clear(alertId, { by, at: now() });
      // Stored first (the alert store), then published: a failed publish is a 5xx and a retry finds
      // the alert cleared with its event stored.
      if (result.event && publishAlert) await publishAlert(result.event);
      return jsonResponse(200, { alert: result.record, ...(result.event ? { event: result.event } : {}) });
    },
  };
}

/** The notification-channel routes, given the path parameters and the event they read. */
export function notificationChannelHandlers(
  notifications: ApiDependencies['notifications'],
  registry: ApiDependencies['registry'],
): RouteTable {
  return Object.fromEntries(
    Object.entries(notificationChannelRoutes(notifications, registry)).map(([key, handle]) => [
      key,
      (reqCtx: RequestContext) => handle({ params: reqCtx.params, event: eventOf(reqCtx) }),
    ]),
  );
}
