import { describe, expect, it } from 'vitest';
import {
  type AlertEvent,
  channelWants,
  DEFAULT_RETRY_POLICY,
  escapeSlack,
  parseAlertEvent,
  retryDelayMs,
  slackMessage,
  snsMessage,
  transitionOf,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  webhookRequest,
  webhookSignature,
  worstCaseDeliveryMs,
} from './notifications.js';

const raise: AlertEvent = {
  alert_id: 'a-1',
  device_id: 'breaker-7',
  device_type: 'smart_breaker',
  rule_id: 'overtemperature',
  rule_name: 'Breaker overtemperature',
  path: 'temperature',
  operator: 'gt',
  value: 91.5,
  threshold: 85,
  unit: '°C',
  severity: 'high',
  triggered_at: '2026-12-06T03:00:00.000Z',
  raised_at: '2026-12-06T03:00:00.100Z',
  message_id: 'm-1',
};
const clear: AlertEvent = {
  ...raise,
  alert_id: 'a-1:cleared',
  transition: 'cleared',
  cleared_by: 'condition',
  raised_alert_id: 'a-1',
  raised_at: '2026-12-06T03:05:00.000Z',
};

describe('alert events', () => {
  it('reads an event without a transition as a raise', () => {
    expect(transitionOf(raise)).toBe('raised');
    expect(transitionOf(clear)).toBe('cleared');
  });

  it('keeps fields it does not know (a new rule kind passes through unchanged)', () => {
    const parsed = parseAlertEvent({ ...raise, rule_kind: 'rate_of_change', rate_per_second: 2.5 });

    expect(parsed).toMatchObject({ event: { rule_kind: 'rate_of_change', rate_per_second: 2.5 } });
  });

  it('refuses a record that is not an alert event, naming the field', () => {
    expect(parseAlertEvent({ ...raise, severity: 'urgent' })).toEqual({
      error: expect.stringMatching(/^severity/),
    });
  });
});

describe('channel filters', () => {
  it('sends alerts at or above the minimum severity only', () => {
    expect(channelWants({ minSeverity: 'high' }, raise)).toBe(true);
    expect(channelWants({ minSeverity: 'critical' }, raise)).toBe(false);
    expect(channelWants({ minSeverity: 'low' }, { ...raise, severity: 'low' })).toBe(true);
  });

  it('sends only the listed device types when the channel names some', () => {
    expect(channelWants({ minSeverity: 'low', deviceTypes: ['smart_breaker'] }, raise)).toBe(true);
    expect(channelWants({ minSeverity: 'low', deviceTypes: ['smart_meter'] }, raise)).toBe(false);
  });
});

describe('webhook signature', () => {
  const secret = 'a-long-enough-secret';

  it('signs the timestamp and the body: sha256=<hex>', () => {
    const request = webhookRequest(raise, { secret, nowSeconds: 1_765_000_000 });

    expect(request.headers[WEBHOOK_HEADERS.timestamp]).toBe('1765000000');
    expect(request.headers[WEBHOOK_HEADERS.signature]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(request.headers[WEBHOOK_HEADERS.signature]).toBe(
      webhookSignature(secret, 1_765_000_000, request.body),
    );
    expect(JSON.parse(request.body)).toEqual(raise);
  });

  it('verifies a genuine delivery and refuses a changed body, another secret or an old timestamp', () => {
    const request = webhookRequest(clear, { secret, nowSeconds: 1_765_000_000 });
    const check = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({
        secret,
        body: request.body,
        signature: request.headers[WEBHOOK_HEADERS.signature],
        timestamp: request.headers[WEBHOOK_HEADERS.timestamp],
        nowSeconds: 1_765_000_010,
        ...overrides,
      });

    expect(check({})).toBe(true);
    expect(check({ body: request.body.replace('breaker-7', 'breaker-8') })).toBe(false);
    expect(check({ secret: 'another-secret-of-length' })).toBe(false);
    expect(check({ nowSeconds: 1_765_000_000 + 301 })).toBe(false);
  });

  it('sends no signature headers without a secret', () => {
    const request = webhookRequest(raise, { nowSeconds: 1 });

    expect(request.headers[WEBHOOK_HEADERS.signature]).toBeUndefined();
    expect(request.headers[WEBHOOK_HEADERS.eventId]).toBe('a-1');
  });
});

describe('slack message', () => {
  it('has a fallback text and header, section and context blocks', () => {
    const message = slackMessage(raise) as { text: string; blocks: { type: string }[] };

    expect(message.text).toContain('HIGH: Breaker overtemperature on breaker-7');
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(JSON.stringify(message.blocks[1])).toContain('temperature = 91.5 °C');
  });

  it('says a clear is a clear and who cleared it', () => {
    const message = slackMessage(clear) as { text: string; blocks: unknown[] };

    expect(message.text).toContain('Cleared: Breaker overtemperature on breaker-7');
    expect(JSON.stringify(message.blocks)).toContain('Cleared by');
  });

  it("escapes Slack's control characters in device data", () => {
    expect(escapeSlack('<!channel> & co')).toBe('&lt;!channel&gt; &amp; co');
    const message = slackMessage({ ...raise, device_id: '<!here>' }) as { text: string };
    expect(message.text).not.toContain('<!here>');
  });
});

describe('sns message', () => {
  it('keeps the subject within 100 ASCII characters', () => {
    const { subject, message } = snsMessage({ ...raise, device_id: `é${'x'.repeat(200)}` });

    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(message).alert_id).toBe('a-1');
  });
});

describe('retries', () => {
  it('waits at most base * 2^(attempt-1), capped, with full jitter', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 350 };

    expect(retryDelayMs(1, policy, () => 0.999)).toBe(99);
    expect(retryDelayMs(3, policy, () => 0.999)).toBe(349);
    expect(retryDelayMs(2, policy, () => 0)).toBe(0);
  });

  it('bounds a delivery that keeps failing', () => {
    expect(worstCaseDeliveryMs(DEFAULT_RETRY_POLICY)).toBe(4 * 5000 + 1000 + 2000 + 4000);
  });
});
