/** `npm start -- --timeseries dynamodb`: the local platform on the DynamoDB sink, over MQTT and HTTP. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../simulator/transports/test-broker.js';
import { type LocalPlatform, startLocalPlatform } from '../runtime.js';

let dataDir: string;
let platform: LocalPlatform;
const logged: string[] = [];
const start0 = Date.now() - 60_000;

const meterTelemetry = (energy: number, secondsLater: number) =>
  JSON.stringify({
    device_id: 'meter-ddb-1',
    timestamp: new Date(start0 + secondsLater * 1000).toISOString(),
    event_type: 'telemetry',
    measurements: { energy, demand: 12.5, power_factor: 0.95 },
  });

const api = async (path: string) => {
  const response = await fetch(`${platform.httpUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-ddb-runtime-'));
  platform = await startLocalPlatform({
    dataDir,
    timeseries: 'dynamodb',
    deviceBookkeepingMs: 200,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    registryRefreshMs: 3_600_000,
    log: (line) => logged.push(line),
  });
});

afterAll(async () => {
  try {
    await platform.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe('the local platform on the DynamoDB time-series sink', () => {
  it('stores telemetry the API answers as latest values, a raw series and buckets', async () => {
    const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: 'ddb-test-device' });
    for (const [energy, later] of [
      [1000, 0],
      [1001, 10],
      [1003, 20],
    ] as const)
      await client.publishAsync('dt/smart_meter/meter-ddb-1/telemetry', meterTelemetry(energy, later), {
        qos: 1,
      });
    await client.endAsync();
    await waitUntil(
      () => platform.status().enriched >= 3 && platform.status().lag === 0,
      'the pipeline',
      30_000,
    );
    let device = await api('/api/devices/meter-ddb-1');
    const deadline = Date.now() + 15_000;
    while (device.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      device = await api('/api/devices/meter-ddb-1');
    }

    const from = new Date(start0 - 1000).toISOString();
    const series = await api(`/api/devices/meter-ddb-1/telemetry?measure=energy&from=${from}`);
    const hourly = await api(`/api/devices/meter-ddb-1/telemetry?measure=energy&from=${from}&bucket=1h`);

    expect(logged).toContain('time series: DynamoDB sink (dynalite)');
    expect(device.body.latest).toContainEqual(
      expect.objectContaining({ measure: 'energy', value: 1003, unit: 'kWh', quality: 'GOOD' }),
    );
    expect((series.body.points as { value: number }[]).map((p) => p.value)).toEqual([1000, 1001, 1003]);
    expect(
      (hourly.body.points as { count: number; min: number; max: number }[]).reduce((n, p) => n + p.count, 0),
    ).toBe(3);
  });
});
