/**
 * Notification channels (registry data, v1): where alert events (raises and clears) are sent. The
 * zod schemas are the single source of truth: the API validates with them and `npm run schemas` writes
 * `registry-data/schemas/notification-channel.v1.schema.json` from them.
 *
 * - `webhook`: a JSON POST of the alert event; with a `secret`, signed (functions/core/notifications.ts).
 * - `slack`: a Slack incoming webhook (`text` + `blocks`).
 * - `sns`: the stack's own SNS topic (e-mail and other subscriptions are managed on the topic); AWS only.
 *
 * Secrets are write-only: the API answers `secretSet: true`, never the secret.
 */
import { z } from 'zod';
import { SLUG_PATTERN, TYPE_ID_PATTERN } from './identifiers.js';

/** A channel id in paths and keys: lower snake or kebab case, like rule ids. */
export const CHANNEL_ID_PATTERN = SLUG_PATTERN;

export const ChannelId = z
  .string()
  .regex(CHANNEL_ID_PATTERN)
  .describe('Channel id, lower snake or kebab case.');

export const NotificationSeverity = z.enum(['low', 'medium', 'high', 'critical']);
export type NotificationSeverity = z.infer<typeof NotificationSeverity>;

/** Longest channel URL accepted (webhook URLs are short; anything near this is a mistake). */
export const MAX_CHANNEL_URL_LENGTH = 2048;

const ChannelUrl = z
  .string()
  .min(1)
  .max(MAX_CHANNEL_URL_LENGTH)
  .refine((value) => URL.canParse(value), { message: 'must be an absolute URL' })
  .describe(
    'https in AWS (http only where the environment allows it); checked against server-side request forgery when saved and again at each delivery.',
  );

const Filters = {
  minSeverity: NotificationSeverity.describe('Alerts below this severity are not sent.'),
  deviceTypes: z
    .array(z.string().regex(TYPE_ID_PATTERN))
    .min(1)
    .max(64)
    .optional()
    .describe('Only alerts of these device types; absent = every type.'),
};

export const WebhookChannel = z.strictObject({
  type: z.literal('webhook'),
  url: ChannelUrl,
  secret: z
    .string()
    .min(16)
    .max(256)
    .optional()
    .describe('HMAC-SHA256 key for the X-IoT-Cloud-Signature header. Write-only.'),
  ...Filters,
});

export const SlackChannel = z.strictObject({
  type: z.literal('slack'),
  url: ChannelUrl.describe('The Slack incoming-webhook URL (it is itself the credential: write-only).'),
  ...Filters,
});

export const SnsChannel = z.strictObject({
  type: z.literal('sns'),
  ...Filters,
});

export const NotificationChannel = z
  .discriminatedUnion('type', [WebhookChannel, SlackChannel, SnsChannel])
  .meta({ id: 'notification-channel', title: 'Notification channel (v1)' });

export type NotificationChannel = z.infer<typeof NotificationChannel>;
export type NotificationChannelType = NotificationChannel['type'];

/** A stored channel: the definition with its id and when it was last written. */
export type StoredNotificationChannel = NotificationChannel & {
  readonly channelId: string;
  readonly updatedAt: string;
};

/**
 * What GET answers: the definition without its secrets. A Slack webhook URL is itself a credential,
 * so it is shown only by its host; a webhook URL is shown without its query string (where tokens
 * usually ride), and its `secret` never.
 */
export const PublicNotificationChannel = z.looseObject({
  channelId: ChannelId,
  type: z.enum(['webhook', 'slack', 'sns']),
  url: z.string().optional(),
  urlHost: z.string().optional(),
  urlQueryHidden: z.boolean().optional(),
  secretSet: z.boolean().optional(),
  minSeverity: NotificationSeverity,
  deviceTypes: z.array(z.string()).optional(),
  updatedAt: z.string(),
});
export type PublicNotificationChannel = z.infer<typeof PublicNotificationChannel>;

export function publicChannel(channel: StoredNotificationChannel): PublicNotificationChannel {
  const common = {
    channelId: channel.channelId,
    type: channel.type,
    minSeverity: channel.minSeverity,
    ...(channel.deviceTypes ? { deviceTypes: [...channel.deviceTypes] } : {}),
    updatedAt: channel.updatedAt,
  };
  switch (channel.type) {
    case 'webhook': {
      // A query string often carries a token (`?code=...`): shown without it.
      const url = new URL(channel.url);
      return {
        ...common,
        url: `${url.origin}${url.pathname}`,
        ...(url.search ? { urlQueryHidden: true } : {}),
        secretSet: channel.secret !== undefined,
      };
    }
    case 'slack':
      return { ...common, urlHost: new URL(channel.url).host, secretSet: true };
    case 'sns':
      return common;
  }
}

/** One delivery of one alert event to one channel, as the deliveries record keeps it. */
export const NotificationDelivery = z.strictObject({
  channelId: ChannelId,
  alertId: z.string(),
  transition: z.enum(['raised', 'cleared']),
  deviceId: z.string(),
  severity: NotificationSeverity,
  status: z.enum(['delivered', 'failed']),
  attempts: z.number().int().min(1),
  /** The last attempt's error (`HTTP 500`, `timeout after 5000 ms`, `refused: ...`); for `failed`. */
  lastError: z.string().max(500).optional(),
  /** The event's own time (`raised_at`): orders the record, and a redelivered event replaces its entry. */
  eventAt: z.string(),
  firstAttemptAt: z.string(),
  completedAt: z.string(),
});
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;
