import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IOT_CORE_MAX_PAYLOAD_BYTES } from '../functions/shared/aws-limits.js';
import { waitUntil } from '../simulator/transports/test-broker.js';
import { type LocalPlatform, startLocalPlatform } from './runtime.js';

let dataDir: string;
let platform: LocalPlatform;

const start = () =>
  startLocalPlatform({
    dataDir,
    // Bookkeeping more often than the default 5 s, so a test sees a device soon after its message.
    deviceBookkeepingMs: 200,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    registryRefreshMs: 3_600_000,
  });
const api = async (path: string) => {
  const response = await fetch(`${platform.httpUrl}${path}`);
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & { items?: Record<string, unknown>[] },
  };
};

/** Device bookkeeping is flushed about once a second: wait for it rather than assume it. */
async function deviceWithCount(deviceId: string, count: number) {
  let device = await api(`/api/devices/${deviceId}`);
  const deadline = Date.now() + 15_000;
  while (device.body.messageCount !== count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    device = await api(`/api/devices/${deviceId}`);
  }
  return device;
}

/** The newest inspector sample of a dead letter with this reason (samples are written asynchronously). */
async function waitForDeadLetter(reason: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const items = (await api('/api/messages?stage=dlq&limit=50')).body.items ?? [];
    const found = items.map((item) => item.body as { reason: string }).find((body) => body.reason === reason);
    if (found || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function publish(messages: [string, string | Buffer][]) {
  const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: 'integration-test-device' });
  for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1 });
  await client.endAsync();
}

const start0 = Date.now() - 60_000;
const now = new Date(start0).toISOString();
/** Meter telemetry `secondsLater` after the first message: each reading has its own time. */
const meterTelemetry = (energy: number, secondsLater = 0) =>
  JSON.stringify({
    device_id: 'meter-it-1',
    timestamp: new Date(start0 + secondsLater * 1000).toISOString(),
    event_type: 'telemetry',
    measurements: { energy, demand: 12.5, power_factor: 0.95 },
  });
const GOOD: [string, string][] = [
  ['dt/smart_meter/meter-it-1/telemetry', meterTelemetry(1000)],
  [
    'dt/environmental_sensor/env-it-1/telemetry',
    JSON.stringify({
      device_id: 'env-it-1',
      timestamp: now,
      event_type: 'telemetry',
      measurements: { temperature: 41.5, humidity: 30, pressure: 1010 },
    }),
  ],
];
const BAD: [string, string | Buffer][] = [
  ['dt/smart_meter/meter-it-2/telemetry', '{"device_id":"meter-it-2",'],
  // A topic kind that is not an event type: the bridge dead-letters it (INVALID_TOPIC).
  ['dt/smart_meter/meter-it-3/gossip', meterTelemetry(1)],
  [
    'dt/gizmo_type/gizmo-1/telemetry',
    JSON.stringify({
      device_id: 'gizmo-1',
      timestamp: now,
      event_type: 'telemetry',
      measurements: { flux: 1 },
    }),
  ],
  [
    'dt/smart_meter/meter-it-4/telemetry',
    JSON.stringify({ device_id: 'bad id!', timestamp: now, event_type: 'telemetry', measurements: {} }),
  ],
];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-runtime-'));
  platform = await start();
});

afterAll(async () => {
  try {
    await platform.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('the local platform, end to end over MQTT and HTTP', () => {
  it('enriches good messages, dead-letters bad ones with their reasons, and keeps flowing', async () => {
    await publish([...GOOD, ...BAD, ['dt/smart_meter/meter-it-1/telemetry', meterTelemetry(1001, 10)]]);
    await waitUntil(
      () => platform.status().enriched >= 3 && platform.status().dlq >= 4 && platform.status().lag === 0,
      'the pipeline to settle',
      30_000,
    );

    expect(platform.status()).toMatchObject({ received: 7, raw: 6, enriched: 3, dlq: 4, alerts: 1 });
  });

  it('shows the device with its latest values and the count of its messages', async () => {
    const device = await deviceWithCount('meter-it-1', 2);

    expect(device.status).toBe(200);
    expect(device.body).toMatchObject({ deviceId: 'meter-it-1', deviceType: 'smart_meter', messageCount: 2 });
    expect(device.body.latest).toContainEqual(
      expect.objectContaining({ measure: 'energy', value: 1001, unit: 'kWh', quality: 'GOOD' }),
    );
  });

  it('lists the dead letters with their reasons and original bytes', async () => {
    const dlq = await api('/api/messages?stage=dlq&limit=10');

    const reasons = (dlq.body.items ?? []).map((item) => (item.body as { reason: string }).reason).sort();
    expect(reasons).toEqual(['INVALID_DEVICE_ID', 'INVALID_JSON', 'INVALID_TOPIC', 'UNKNOWN_DEVICE_TYPE']);
    const truncated = (dlq.body.items ?? []).find(
      (item) => (item.body as { reason: string }).reason === 'INVALID_JSON',
    );
    expect(
      Buffer.from(
        (truncated?.body as { original_base64?: string } | undefined)?.original_base64 ?? '',
        'base64',
      ).toString(),
    ).toBe('{"device_id":"meter-it-2",');
  });

  it('counts every stage in the stats', async () => {
    const stats = await api('/api/stats?window=15m');

    expect(stats.body).toMatchObject({
      totals: { raw: 6, enriched: 3, dlq: 4, alerts: 1 },
      byDeviceType: { smart_meter: 2, environmental_sensor: 1 },
      quality: { GOOD: 3 },
      dlqReasons: { INVALID_JSON: 1, INVALID_TOPIC: 1, UNKNOWN_DEVICE_TYPE: 1, INVALID_DEVICE_ID: 1 },
    });
  });

  it("refuses a publish over IoT Core's 128 KB by disconnecting the device, and stores its next message", async () => {
    const before = platform.status();
    const device = await mqtt.connectAsync(platform.mqttUrl, {
      clientId: 'oversized-device',
      reconnectPeriod: 0,
    });
    const disconnected = new Promise<void>((resolve) => device.once('close', () => resolve()));
    void device
      .publishAsync(
        'dt/smart_meter/meter-it-1/telemetry',
        Buffer.alloc(IOT_CORE_MAX_PAYLOAD_BYTES + 1, 0x20),
        {
          qos: 1,
        },
      )
      .catch(() => undefined);
    await disconnected;
    device.end(true);

    await publish([['dt/smart_meter/meter-it-1/telemetry', meterTelemetry(1001.5, 15)]]);
    await waitUntil(
      () => platform.status().lag === 0 && platform.status().enriched > before.enriched,
      'the next message',
    );

    expect(platform.status()).toMatchObject({ received: before.received + 1, raw: before.raw + 1 });
    const health = await api('/api/health');
    expect(health.body).toMatchObject({ status: 'ok', components: { ingest: 'ok', enrich: 'ok' } });
  });

  it('dead-letters a publish on a topic of the wrong shape, with the reason', async () => {
    const before = platform.status();

    await publish([['devices/meter-it-1/telemetry', meterTelemetry(1)]]);

    expect(platform.status()).toMatchObject({ dlq: before.dlq + 1, raw: before.raw });
    const dlq = await waitForDeadLetter('TOPIC_NOT_ROUTED');
    expect(dlq).toMatchObject({
      stage: 'ingest-rule',
      source: { mqtt_topic: 'devices/meter-it-1/telemetry' },
    });
  });

  it('keeps every device, offset and point across a restart, and processes nothing twice', async () => {
    const before = {
      status: platform.status(),
      points: (await api('/api/devices/meter-it-1/telemetry?measure=energy&from=2000-01-01T00:00:00Z')).body,
    };
    await platform.stop();

    platform = await start();
    await publish([['dt/smart_meter/meter-it-1/telemetry', meterTelemetry(1002, 20)]]);
    await waitUntil(
      () => platform.status().enriched >= 4 && platform.status().lag === 0,
      'the new message',
      30_000,
    );

    expect(platform.status()).toMatchObject({
      raw: before.status.raw + 1,
      enriched: before.status.enriched + 1,
      dlq: before.status.dlq,
    });
    const device = await deviceWithCount('meter-it-1', 4);
    expect(device.body).toMatchObject({ messageCount: 4 });
    const points = (await api('/api/devices/meter-it-1/telemetry?measure=energy&from=2000-01-01T00:00:00Z'))
      .body.points as unknown[];
    expect(points).toHaveLength((before.points.points as unknown[]).length + 1);
  });
});

describe('edge-triggered alerts, end to end over MQTT and HTTP', () => {
  const sensor = (i: number, temperature: number): [string, string] => [
    'dt/environmental_sensor/env-it-2/telemetry',
    JSON.stringify({
      device_id: 'env-it-2',
      timestamp: new Date(start0 + i * 1000).toISOString(),
      event_type: 'telemetry',
      measurements: { temperature, humidity: 30, pressure: 1010 },
    }),
  ];
  const settled = async (enriched: number) =>
    waitUntil(
      () => platform.status().enriched >= enriched && platform.status().lag === 0,
      `${enriched} messages enriched and every consumer caught up`,
      60_000,
    );
  const deviceAlerts = async () =>
    ((await api('/api/alerts?deviceId=env-it-2&limit=100')).body.items ?? []).map((a) => a.alert_id);

  it('raises one alert for a run of matching messages, and a new one after the condition clears', async () => {
    const before = platform.status();
    // 0.01 °C/s: slower than the seed's fast-rise rule (issue 15), so only temperature-high speaks.
    await publish(Array.from({ length: 25 }, (_, i) => sensor(i, 45 + i / 100)));
    await settled(before.enriched + 25);
    const afterRun = { status: platform.status(), alerts: await deviceAlerts() };

    // 20 °C clears temperature-high; 46 °C, 100 s later (too far apart for a rate), raises it again.
    await publish([sensor(25, 20), sensor(125, 46)]);
    await settled(before.enriched + 27);

    expect(afterRun.status.alerts).toBe(before.alerts + 1);
    expect(afterRun.status.suppressedAlerts).toBe(before.suppressedAlerts + 24);
    expect(afterRun.alerts).toHaveLength(1);
    // iot.alerts carries every transition (issue 15): the two raises and, between them, the clear.
    expect(platform.status().alerts).toBe(before.alerts + 3);
    const ids = (await deviceAlerts()) as string[];
    expect(ids.filter((id: string) => id.endsWith(':temperature-high'))).toHaveLength(2);
    expect(ids.filter((id: string) => id.endsWith(':cleared'))).toEqual([`${afterRun.alerts[0]}:cleared`]);
  });
});
