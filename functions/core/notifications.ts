/**
 * Notifications, the pure part: which alert events a channel wants, the bodies each channel type
 * sends, the webhook signature, and the retry schedule. No I/O here: the notifier
 * (functions/handlers/notifier.ts) sends through adapters.
 *
 * Alert events follow the transition contract (helper-notes/s6/alert-contract.md): an `Alert` with
 * optional `transition` (absent = a v1 raise), `cleared_by`, `raised_alert_id`, `rule_kind`. They are
 * read through the local `AlertEvent` schema below, which requires only what notifying needs and keeps
 * every other field, so new rule kinds (new operators, values) still reach the receivers unchanged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Alert } from './contract/messages.js';
import type { NotificationChannel, NotificationSeverity } from './contract/notification-channel.js';

const SEVERITY_RANK: Readonly<Record<NotificationSeverity, number>> = {
  low: 0,
  medium: 1,
  high: 2,
  critical: 3,
};

/** The alert event as the notifier reads it; everything else the event carries is passed on as is. */
export const AlertEvent = z.looseObject({
  alert_id: z.string().min(1).max(512),
  device_id: z.string().min(1).max(256),
  device_type: z.string().min(1).max(128),
  rule_id: z.string().min(1).max(128),
  rule_name: z.string().max(256).optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  raised_at: z.string().optional(),
  transition: z.enum(['raised', 'cleared']).optional(),
  cleared_by: z.enum(['condition', 'operator']).optional(),
  raised_alert_id: z.string().optional(),
  rule_kind: z.string().optional(),
});

/** `Alert` plus the contract's optional transition fields (read locally; the schema is not ours). */
export type AlertEvent = z.infer<typeof AlertEvent> &
  Partial<Pick<Alert, 'path' | 'value' | 'unit' | 'threshold' | 'triggered_at'>>;

export type Transition = 'raised' | 'cleared';

/** Absent `transition` is a v1 raise (the contract). */
export const transitionOf = (event: AlertEvent): Transition => event.transition ?? 'raised';

/** Parses one alert event, or says (naming the first bad field) why it is not one. */
export function parseAlertEvent(value: unknown): { event: AlertEvent } | { error: string } {
  const parsed = AlertEvent.safeParse(value);
  if (parsed.success) return { event: parsed.data as AlertEvent };
  const issue = parsed.error.issues[0];
  return { error: `${issue?.path.join('.') || '(event)'}: ${issue?.message ?? 'invalid'}` };
}

/** Whether a channel wants this event: severity at least its minimum, and one of its device types. */
export function channelWants(
  channel: Pick<NotificationChannel, 'minSeverity' | 'deviceTypes'>,
  event: AlertEvent,
): boolean {
  if (SEVERITY_RANK[event.severity] < SEVERITY_RANK[channel.minSeverity]) return false;
  return channel.deviceTypes === undefined || channel.deviceTypes.includes(event.device_type);
}

// ---------------------------------------------------------------------------------------------------
// Webhook: the event as JSON, signed when the channel has a secret.

/** Header names of a webhook delivery (documented in docs/notifications.md). */
export const WEBHOOK_HEADERS = {
  signature: 'X-IoT-Cloud-Signature',
  timestamp: 'X-IoT-Cloud-Timestamp',
  /** The alert event's id: receivers de-duplicate on it (delivery is at least once). */
  eventId: 'X-IoT-Cloud-Event-Id',
  transition: 'X-IoT-Cloud-Transition',
} as const;

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The timestamp (Unix seconds, sent in
 * X-IoT-Cloud-Timestamp) is inside the signed text, so a captured request cannot be replayed later
 * with a fresh timestamp; receivers refuse timestamps older than a few minutes.
 */
export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
  return `sha256=${mac}`;
}

/** Default replay window for `verifyWebhookSignature`: five minutes either side. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** For receivers (and the tests): checks a delivery's signature and the age of its timestamp. */
export function verifyWebhookSignature(options: {
  readonly secret: string;
  readonly body: string;
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
  readonly nowSeconds: number;
  readonly toleranceSeconds?: number;
}): boolean {
  const { signature, timestamp } = options;
  if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const seconds = Number(timestamp);
  if (Math.abs(options.nowSeconds - seconds) > (options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS)) {
    return false;
  }
  const expected = Buffer.from(webhookSignature(options.secret, seconds, options.body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface OutgoingRequest {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function webhookRequest(
  event: AlertEvent,
  options: { readonly secret?: string; readonly nowSeconds: number },
): OutgoingRequest {
  const body = JSON.stringify(event);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    [WEBHOOK_HEADERS.eventId]: event.alert_id,
    [WEBHOOK_HEADERS.transition]: transitionOf(event),
  };
  if (options.secret !== undefined) {
    headers[WEBHOOK_HEADERS.timestamp] = String(options.nowSeconds);
    headers[WEBHOOK_HEADERS.signature] = webhookSignature(options.secret, options.nowSeconds, body);
  }
  return { body, headers };
}

// ---------------------------------------------------------------------------------------------------
// Slack: an incoming webhook's message, `text` (the notification fallback) plus Block Kit blocks
// (https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/surfaces/formatting).

/** Slack's mrkdwn treats only &, < and > as control characters: escape them in any data shown. */
export const escapeSlack = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Slack limits a header block's text to 150 characters and a section field to 2,000. */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const SEVERITY_MARK: Readonly<Record<NotificationSeverity, string>> = {
  critical: ':red_circle:',
  high: ':large_orange_circle:',
  medium: ':large_yellow_circle:',
  low: ':white_circle:',
};

export function slackMessage(event: AlertEvent): Record<string, unknown> {
  const transition = transitionOf(event);
  const what = event.rule_name ?? event.rule_id;
  const headline =
    transition === 'cleared'
      ? `Cleared: ${what} on ${event.device_id}`
      : `${event.severity.toUpperCase()}: ${what} on ${event.device_id}`;
  const reading =
    event.path !== undefined && event.value !== undefined
      ? `${event.path} = ${String(event.value)}${event.unit && event.unit !== '1' ? ` ${event.unit}` : ''}`
      : undefined;
  const fields = [
    ['Device', `${event.device_id} (${event.device_type})`],
    ['Severity', event.severity],
    ['Rule', event.rule_id],
    ...(reading ? [['Reading', reading]] : []),
    ...(transition === 'cleared' && event.cleared_by ? [['Cleared by', event.cleared_by]] : []),
  ].map(([label, value]) => ({
    type: 'mrkdwn',
    text: clip(`*${label}*\n${escapeSlack(String(value))}`, 2000),
  }));
  const mark = transition === 'cleared' ? ':white_check_mark:' : SEVERITY_MARK[event.severity];
  return {
    text: `${mark} ${escapeSlack(headline)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(headline, 150), emoji: false } },
      { type: 'section', fields },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: escapeSlack(`alert ${event.alert_id}`) }],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------
// SNS: a short subject (SNS allows up to 100 ASCII characters) and the event as the message.

export function snsMessage(event: AlertEvent): { subject: string; message: string } {
  const transition = transitionOf(event);
  const subject =
    `[${event.severity}] ${transition === 'cleared' ? 'Cleared' : 'Alert'}: ${event.rule_id} on ${event.device_id}`
      // SNS subjects: ASCII, no line breaks, at most 100 characters.
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 100);
  return { subject, message: JSON.stringify(event, null, 2) };
}

// ---------------------------------------------------------------------------------------------------
// Retries: exponential backoff with full jitter
// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Each attempt's own deadline. */
  readonly attemptTimeoutMs: number;
}

/**
 * Four attempts, 1 s then 2 s then 4 s apart at most, 5 s each: a delivery that keeps failing is given
 * up within about 27 s, well inside the notifier's batch budget.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 8000,
  attemptTimeoutMs: 5000,
};

/** The wait before attempt `attempt + 1` (attempt counts from 1): uniform in [0, min(cap, base * 2^(attempt-1))]. */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Longest a delivery can take under a policy: every attempt timing out, every wait at its ceiling. */
export function worstCaseDeliveryMs(policy: RetryPolicy): number {
  let total = policy.maxAttempts * policy.attemptTimeoutMs;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
    total += Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  }
  return total;
}

/**
 * A short, bounded code for why a delivery failed, for the failures metric's `reason` label (a
 * label must never carry a URL, an address or free text: its values are a small fixed set).
 */
export function deliveryFailureReason(lastError: string | undefined): string {
  if (lastError === undefined) return 'UNKNOWN';
  const status = /^HTTP ([1-5])\d\d\b/.exec(lastError);
  if (status) return `HTTP_${status[1]}XX`;
  if (lastError.startsWith('refused:')) return 'URL_REFUSED';
  if (/timed? ?out|timeout|abort/i.test(lastError)) return 'TIMEOUT';
  return 'NETWORK';
}
