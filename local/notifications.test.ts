/**
 * Notifications on the local platform, end to end: a channel created over HTTP, a telemetry message
 * over MQTT that trips a seed rule, and the raise arriving signed at a webhook receiver on 127.0.0.1
 * (port 0) through the notifier's own consumer group on iot.alerts. (Clears come from the alarm-rules
 * work; the notifier's handling of them is tested in functions/handlers/notifier.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../functions/core/notifications.js';
import { waitUntil } from '../simulator/transports/test-broker.js';
import { type LocalPlatform, startLocalPlatform } from './runtime.js';

const SECRET = 'local-receiver-secret';
let dataDir: string;
let platform: LocalPlatform;
let receiver: Server;
let receiverUrl: string;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-notifications-'));
  platform = await startLocalPlatform({
    dataDir,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    registryRefreshMs: 3_600_000,
    notificationRetry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100, attemptTimeoutMs: 2000 },
  });
}, 60_000);

afterAll(async () => {
  try {
    await platform?.stop();
    await new Promise((resolve) => receiver.close(resolve));
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

const putChannel = (channelId: string, body: unknown) =>
  fetch(`${platform.httpUrl}/api/notification-channels/${channelId}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('notifications on the local platform', () => {
  it('refuses a channel URL on the metadata address, even locally', async () => {
    const answer = await putChannel('sneaky', {
      type: 'webhook',
      url: 'http://169.254.169.254/latest/meta-data/',
      minSeverity: 'low',
    });

    expect(answer.status).toBe(400);
    expect(
      ((await answer.json()) as { error: { details: { field: string }[] } }).error.details[0]?.field,
    ).toBe('url');
  });

  it('sends a raise over MQTT to a webhook on this machine, signed, and records the delivery', async () => {
    const created = await putChannel('local-hook', {
      type: 'webhook',
      url: receiverUrl,
      secret: SECRET,
      minSeverity: 'low',
    });
    expect(created.status).toBe(201);
    const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: 'notifications-test-device' });
    await client.publishAsync(
      'dt/environmental_sensor/env-notify-1/telemetry',
      JSON.stringify({
        device_id: 'env-notify-1',
        timestamp: new Date().toISOString(),
        event_type: 'telemetry',
        measurements: { temperature: 45.5, humidity: 30, pressure: 1010 },
      }),
      { qos: 1 },
    );
    await client.endAsync();

    await waitUntil(() => received.length > 0, 'the webhook delivery', 30_000);
    const [delivery] = received;
    const event = JSON.parse(delivery?.body ?? '{}');
    expect(event).toMatchObject({ device_id: 'env-notify-1', rule_id: 'temperature-high', severity: 'high' });
    expect(
      verifyWebhookSignature({
        secret: SECRET,
        body: delivery?.body ?? '',
        signature: delivery?.headers['x-iot-cloud-signature'] as string,
        timestamp: delivery?.headers['x-iot-cloud-timestamp'] as string,
        nowSeconds: Math.floor(Date.now() / 1000),
      }),
    ).toBe(true);
    let items: { alertId: string; status: string }[] = [];
    const deadline = Date.now() + 10_000;
    while (items.length === 0 && Date.now() < deadline) {
      const answer = await fetch(`${platform.httpUrl}/api/notification-channels/local-hook/deliveries`);
      items = ((await answer.json()) as { items: typeof items }).items;
      if (items.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(items).toMatchObject([{ alertId: event.alert_id, status: 'delivered' }]);
  });
});
