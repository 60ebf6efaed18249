/**
 * Issue 14, end to end: each prototype message of the table, published over MQTT on its own
 * topic to the local platform, is routed by the shipped ingest mappings, enriched with its in-range
 * readings GOOD (converted where a unit differed) and queryable as time series through the API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PrototypeMessage,
  prototypeMessages,
} from '../functions/core/test-support/prototype-messages.js';
import { type LocalPlatform, startLocalPlatform } from './runtime.js';

let dataDir: string;
let platform: LocalPlatform;

// biome-ignore lint/suspicious/noExplicitAny: the test reads deep fields of API bodies freely
type Json = Record<string, any>;

/** Polls an async condition until it holds, or fails naming it after the deadline. */
async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const api = async (path: string, init?: RequestInit) => {
  const response = await fetch(`${platform.httpUrl}${path}`, init);
  return { status: response.status, body: (response.status === 204 ? {} : await response.json()) as Json };
};

/** The enriched sample of a device's message of this kind (samples are written asynchronously). */
async function enrichedSample(deviceId: string, eventType: string, timestamp?: string): Promise<Json> {
  let found: Json | undefined;
  await waitUntil(
    async () => {
      const items = (await api(`/api/messages?stage=enriched&deviceId=${deviceId}&limit=50`)).body
        .items as Json[];
      found = items
        .map((item) => item.body as Json)
        .find(
          (body) =>
            body.event_type === eventType && (timestamp === undefined || body.timestamp === timestamp),
        );
      return found !== undefined;
    },
    `the enriched ${eventType} of ${deviceId}`,
    20_000,
  );
  return found as Json;
}

async function series(deviceId: string, measure: string): Promise<Json[]> {
  let points: Json[] = [];
  await waitUntil(
    async () => {
      const body = (
        await api(`/api/devices/${deviceId}/telemetry?measure=${measure}&from=2000-01-01T00:00:00Z`)
      ).body;
      points = (body.points as Json[] | undefined) ?? [];
      return points.length > 0;
    },
    `points of ${deviceId} ${measure}`,
    20_000,
  );
  return points;
}

async function publish(message: PrototypeMessage): Promise<void> {
  const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: `prototype-${message.topic.length}` });
  await client.publishAsync(message.topic, JSON.stringify(message.payload), { qos: 1 });
  await client.endAsync();
}

const NOW = Date.now() - 30_000;
const [telemetry, trends, status, generator, controller] = prototypeMessages(NOW, { suffix: '-it' }) as [
  PrototypeMessage,
  PrototypeMessage,
  PrototypeMessage,
  PrototypeMessage,
  PrototypeMessage,
];

const expectReadingsGood = (message: Json) => {
  for (const [path, quality] of Object.entries(message.data_quality.readings as Json)) {
    expect({ path, verdict: quality.verdict }).toEqual({ path, verdict: 'GOOD' });
  }
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-mappings-'));
  platform = await startLocalPlatform({
    dataDir,
    deviceBookkeepingMs: 200,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    registryRefreshMs: 3_600_000,
  });
});

afterAll(async () => {
  try {
    await platform?.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

describe("the prototypes' devices, unchanged, over MQTT to the local platform", () => {
  it('serves the shipped mappings through the API', async () => {
    const list = await api('/api/ingest-mappings');

    expect(list.status).toBe(200);
    expect((list.body.items as Json[]).map((m) => m.topic)).toEqual(
      expect.arrayContaining(['iot/{deviceId}/raw', 'cmnd/{deviceId}/{mode}/{connector}/{component}']),
    );
  });

  it('enriches the IoT Cloud simulator telemetry on iot/{id}/raw and stores it', async () => {
    await publish(telemetry);

    const message = await enrichedSample('breaker-001-it', 'telemetry');

    expectReadingsGood(message);
    expect(message.data_quality.verdict).toBe('GOOD');
    expect(message.enrichment_info.mapping).toMatchObject({ mapping_id: 'iot-cloud-telemetry', version: 1 });
    expect(message.measurements.frequency).toBe(59.28);
    const points = await series('breaker-001-it', 'temperature');
    expect(points.at(-1)).toMatchObject({ value: 34.92 });
  });

  it('converts a reading sent in another unit and stores the canonical value', async () => {
    const payload = structuredClone(telemetry.payload) as Json;
    payload.timestamp = `${new Date(NOW + 5000).toISOString().slice(0, 23)}000`;
    payload.measurements.temperature = { value: 94.856, unit: '°F' };
    payload.measurements.power = {
      active: 5.77599,
      reactive: 1945.16,
      apparent: 6094.73,
      factor: 0.948,
      unit: 'kW',
    };
    await publish({ ...telemetry, payload });

    const message = await enrichedSample('breaker-001-it', 'telemetry', `${payload.timestamp}Z`);

    expectReadingsGood(message);
    expect(message.data_quality.readings.temperature.converted_from).toEqual({ value: 94.856, unit: '°F' });
    expect(message.decoded.temperature).toBeCloseTo(34.92, 9);
    expect(message.decoded['power.active']).toBeCloseTo(5775.99, 9);
    let latest: Json | undefined;
    await waitUntil(
      async () => {
        latest = (await series('breaker-001-it', 'power.active')).find(
          (point) => point.time === new Date(`${payload.timestamp}Z`).toISOString(),
        );
        return latest !== undefined;
      },
      'the converted point',
      20_000,
    );
    expect(latest?.value).toBeCloseTo(5775.99, 6);
  });

  it('turns the simulator trends on iot/{id}/trends into windows and stores them', async () => {
    await publish(trends);

    const message = await enrichedSample('breaker-001-it', 'trends');

    expectReadingsGood(message);
    expect(Object.keys(message.measurements)).toEqual(['voltage.phase_a', 'current.phase_a']);
    expect(message.measurements['current.phase_a']).toMatchObject({ last: 52.36, avg: 50.4 });
    const points = await series('breaker-001-it', 'current.phase_a.avg');
    expect(points.at(-1)).toMatchObject({ value: 50.4 });
  });

  it('reads the simulator status on iot/{id}/status and stores its uptime', async () => {
    await publish(status);

    const message = await enrichedSample('breaker-001-it', 'status');

    expect(message.status).toMatchObject({ online: true, uptime_s: 45_000, counters: { message_count: 6 } });
    const points = await series('breaker-001-it', 'status.uptime_s');
    expect(points.at(-1)).toMatchObject({ value: 45_000 });
  });

  it("enriches 003's flat generator record, flagging the absent pressure", async () => {
    await publish(generator);

    const message = await enrichedSample('sensor-007-it', 'telemetry');

    expectReadingsGood(message);
    expect(message.data_quality).toMatchObject({ reasons: ['MISSING_REQUIRED'], missing: ['pressure'] });
    const points = await series('sensor-007-it', 'humidity');
    expect(points.at(-1)).toMatchObject({ value: 41.7 });
  });

  it("enriches 004's F2 one-component message on its cmnd topic", async () => {
    await publish(controller);

    const message = await enrichedSample('f2-e4fd45f654be-it', 'telemetry');

    expectReadingsGood(message);
    expect(message.measurements).toEqual({ door_sensors: { door_1: false, door_2: true } });
    expect(message.tags).toEqual({ mode: 'access-control-mode', connector: 'J1' });
    const points = await series('f2-e4fd45f654be-it', 'door_sensors.door_2');
    expect(points.at(-1)).toMatchObject({ value: true });
  });

  it('previews each prototype message as the pipeline enriched it (POST /api/preview)', async () => {
    const cases: [PrototypeMessage, string, string][] = [
      [telemetry, 'breaker-001-it', 'telemetry'],
      [trends, 'breaker-001-it', 'trends'],
      [status, 'breaker-001-it', 'status'],
      [generator, 'sensor-007-it', 'telemetry'],
      [controller, 'f2-e4fd45f654be-it', 'telemetry'],
    ];
    for (const [message, deviceId, eventType] of cases) {
      const { status: code, body: preview } = await api('/api/preview', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ topic: message.topic, payload: message.payload }),
      });
      expect(code, message.topic).toBe(200);
      expect(preview.outcome, message.topic).toBe('enriched');
      const enriched = await enrichedSample(deviceId, eventType, preview.message.timestamp);
      expect(preview.message.enrichment_info.mapping, message.topic).toEqual(
        enriched.enrichment_info.mapping,
      );
      expect(preview.message.measurements, message.topic).toEqual(enriched.measurements);
      expect(preview.message.data_quality, message.topic).toEqual(enriched.data_quality);
    }
  });

  it('edits mappings through the API: versioned, validated, removable', async () => {
    const body = {
      name: 'Legacy sensors',
      description: 'Flat records on legacy/{deviceId}.',
      match: { topic: 'legacy/{deviceId}' },
      deviceType: 'environmental_sensor',
      eventType: 'telemetry',
      steps: [{ op: 'move', from: 'temp', to: 'measurements.temperature' }],
    };
    const put = (payload: unknown) =>
      api('/api/ingest-mappings/legacy-env', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });

    expect((await put(body)).status).toBe(201);
    expect((await put(body)).body).toMatchObject({ mappingId: 'legacy-env', version: 2 });
    const unknownType = await put({ ...body, deviceType: 'no_such_type' });
    expect(unknownType).toMatchObject({ status: 400, body: { error: { code: 'INVALID_DEFINITION' } } });
    const badSegment = await put({ ...body, steps: [{ op: 'move', fromTopic: 'kind', to: 'x' }] });
    expect(badSegment.status).toBe(400);
    expect((await api('/api/ingest-mappings/legacy-env', { method: 'DELETE' })).status).toBe(204);
    expect((await api('/api/ingest-mappings/legacy-env')).status).toBe(404);
  });
});
