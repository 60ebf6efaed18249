/**
 * /api/notification-channels (issue 15): channels as registry data, and each channel's deliveries.
 * PUT checks the URL against server-side request forgery with the environment's policy (resolving it
 * now; the notifier checks again at every delivery). Secrets are write-only: answers carry
 * `secretSet`, never the secret, and a Slack URL (itself a credential) only by its host.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import {
  CHANNEL_ID_PATTERN,
  NotificationChannel,
  NotificationDelivery,
  PublicNotificationChannel,
  publicChannel,
} from '../../core/contract/notification-channel.js';
import type { NotificationChannelStore } from '../../ports/notifications.js';
import type { DeviceTypeStore } from '../../ports/registry.js';
import { ApiError, jsonResponse } from './errors.js';
import { parseBody, parseQuery } from './request.js';

export interface NotificationChannelsApi {
  readonly store: NotificationChannelStore;
  /** Throws (any error; its message is shown) when the URL is refused in this environment. */
  readonly checkUrl: (url: string) => Promise<void>;
  /** Whether `sns` channels can deliver here (AWS: the stack's topic exists; locally: no). */
  readonly snsAvailable: boolean;
}

export const MAX_DELIVERIES = 100;

export const DeliveriesQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_DELIVERIES)
    .default(50)
    .describe(`At most ${MAX_DELIVERIES}; default 50.`),
});

export const NotificationChannelList = z.strictObject({ items: z.array(PublicNotificationChannel) });
export const NotificationDeliveryList = z.strictObject({
  channelId: z.string(),
  items: z.array(NotificationDelivery),
});
export const CHANNEL_ID_PARAMETER = z.string().regex(CHANNEL_ID_PATTERN);

function channelIdParam(value: string | undefined): string {
  if (value === undefined || !CHANNEL_ID_PATTERN.test(value)) {
    throw new ApiError(400, 'INVALID_PATH', 'invalid channel id', [
      { field: 'channelId', message: `must match ${CHANNEL_ID_PATTERN.source}` },
    ]);
  }
  return value;
}

const notConfigured = () =>
  new ApiError(503, 'NOT_CONFIGURED', 'notification channels are not configured in this environment');

type RouteHandler = (request: {
  readonly params: Record<string, string>;
  readonly event: APIGatewayProxyEventV2;
}) => Promise<Response>;

/** The handlers of the notification-channel routes, keyed like API_ROUTES (`METHOD /path`). */
export function notificationChannelRoutes(
  api: NotificationChannelsApi | undefined,
  registry?: Pick<DeviceTypeStore, 'getDeviceType'>,
): Record<string, RouteHandler> {
  const configured = (): NotificationChannelsApi => {
    if (!api) throw notConfigured();
    return api;
  };
  return {
    'GET /api/notification-channels': async () => {
      const channels = await configured().store.list();
      return jsonResponse(200, {
        items: channels.sort((a, b) => a.channelId.localeCompare(b.channelId)).map(publicChannel),
      });
    },

    'GET /api/notification-channels/{channelId}': async ({ params }) => {
      const id = channelIdParam(params.channelId);
      const channel = await configured().store.get(id);
      if (!channel) throw new ApiError(404, 'NOT_FOUND', `notification channel "${id}" does not exist`);
      return jsonResponse(200, publicChannel(channel));
    },

    'PUT /api/notification-channels/{channelId}': async ({ params, event }) => {
      const { store, checkUrl, snsAvailable } = configured();
      const id = channelIdParam(params.channelId);
      const channel = parseBody(NotificationChannel, event);
      if (channel.type === 'sns' && !snsAvailable) {
        throw new ApiError(
          400,
          'INVALID_BODY',
          'sns channels need the stack topic, which exists only in AWS',
          [{ field: 'type', message: 'use webhook or slack in this environment' }],
        );
      }
      // A type the registry does not know would filter out every alert, silently (applications refuse
      // one too); a type deleted later leaves the channel as it is.
      for (const [index, typeId] of (channel.deviceTypes ?? []).entries()) {
        if (registry && !(await registry.getDeviceType(typeId))) {
          throw new ApiError(400, 'INVALID_BODY', `device type "${typeId}" is not registered`, [
            { field: `deviceTypes[${index}]`, message: 'not a registered device type' },
          ]);
        }
      }
      if (channel.type !== 'sns') {
        try {
          await checkUrl(channel.url);
        } catch (error) {
          throw new ApiError(400, 'INVALID_BODY', 'the channel URL is refused', [
            { field: 'url', message: error instanceof Error ? error.message : 'refused' },
          ]);
        }
      }
      const { channel: stored, created } = await store.put(id, channel);
      return jsonResponse(created ? 201 : 200, publicChannel(stored), {
        ...(created ? { location: `/api/notification-channels/${id}` } : {}),
      });
    },

    'DELETE /api/notification-channels/{channelId}': async ({ params }) => {
      const id = channelIdParam(params.channelId);
      if (!(await configured().store.delete(id))) {
        throw new ApiError(404, 'NOT_FOUND', `notification channel "${id}" does not exist`);
      }
      return new Response(null, { status: 204 });
    },

    'GET /api/notification-channels/{channelId}/deliveries': async ({ params, event }) => {
      const { store } = configured();
      const id = channelIdParam(params.channelId);
      const query = parseQuery(DeliveriesQuery, event);
      if (!(await store.get(id)))
        throw new ApiError(404, 'NOT_FOUND', `notification channel "${id}" does not exist`);
      return jsonResponse(200, { channelId: id, items: await store.deliveries(id, query.limit) });
    },
  };
}
