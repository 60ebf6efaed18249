/**
 * Issue 14 over real HTTP against the local platform (MQTT, the local log, dynalite, DuckDB): the
 * payload preview answers what the pipeline does and stores nothing (every count the API shows is the
 * same before and after); it tells an alert onset from a continuation by reading the stored state; the
 * draft type preview counts the kept messages a changed range would change; every flagged message is
 * kept for the inspector; the app registry's free-text category and by-device-type alias.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from './runtime.js';

const TOKEN = 'preview-token';

let dataDir: string;
let platform: LocalPlatform;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-preview-'));
  platform = await startLocalPlatform({
    dataDir,
    deviceBookkeepingMs: 200,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    apiToken: TOKEN,
  });
  // Start-up takes a few seconds, more on a loaded machine.
}, 120_000);

afterAll(async () => {
  try {
    await platform?.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: responses are inspected freely
  body: any;
}

async function http(method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${platform.httpUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function publish(messages: readonly { topic: string; payload: unknown }[]) {
  const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: `preview-${Date.now()}` });
  for (const { topic, payload } of messages) {
    await client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), {
      qos: 1,
    });
  }
  await client.endAsync();
}

const envTopic = (deviceId: string) => `dt/environmental_sensor/${deviceId}/telemetry`;
const envReading = (deviceId: string, temperature: number, offsetMs = 0) => ({
  device_id: deviceId,
  event_type: 'telemetry',
  timestamp: new Date(Date.now() - offsetMs).toISOString(),
  measurements: { temperature, humidity: 45, pressure: 1012 },
});

const recent = async (stage: string, deviceId?: string) =>
  (
    await http(
      'GET',
      `/api/messages?stage=${stage}&limit=200${deviceId ? `&deviceId=${encodeURIComponent(deviceId)}` : ''}`,
    )
  ).body.items as { id: string; body: { data_quality?: { verdict: string } } }[];

/** Everything the API shows that a stored or published message would change. */
async function counts() {
  const stats = (await http('GET', '/api/stats?window=60m')).body;
  return {
    totals: stats.totals,
    storedPoints: stats.pipeline.storedPoints,
    raw: (await recent('raw')).length,
    enriched: (await recent('enriched')).length,
    dlq: (await recent('dlq')).length,
    alerts: (await http('GET', '/api/alerts?limit=500')).body.items.length,
    devices: (await http('GET', '/api/devices?limit=500')).body.items.length,
  };
}

describe('POST /api/preview', () => {
  it('answers what the pipeline would do and stores nothing', async () => {
    // Prepare: one real message through the pipeline, fully kept, so the counts are settled.
    await publish([{ topic: envTopic('env-real-1'), payload: envReading('env-real-1', 20) }]);
    await until('the real message stored and sampled', async () => {
      const now = await counts();
      const kept = now.storedPoints >= 3 && now.raw >= 1 && now.enriched >= 1 && now.devices >= 1;
      // Every consumer caught up too: nothing of the real message may still land between the two counts.
      return kept && platform.status().lag === 0 ? now : undefined;
    });
    const before = await counts();

    // Act: an enriched, an alerting and two rejected payloads.
    const good = await http('POST', '/api/preview', {
      topic: envTopic('env-preview-1'),
      payload: envReading('env-preview-1', 21.5),
    });
    const alerting = await http('POST', '/api/preview', {
      topic: envTopic('env-preview-1'),
      payload: envReading('env-preview-1', 55),
    });
    const wrongTopic = await http('POST', '/api/preview', {
      topic: 'devices/env-preview-1/raw', // no rule routes it
      payload: envReading('env-preview-1', 21.5),
    });
    const malformed = await http('POST', '/api/preview', {
      topic: envTopic('env-preview-1'),
      payload: '{"device_id": "env-preview-1", ',
    });
    const after = await counts();

    // Assess
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({
      outcome: 'enriched',
      stored: false,
      deviceId: 'env-preview-1',
      deviceType: 'environmental_sensor',
      verdict: 'GOOD',
      alerts: { wouldRaise: [], alertStateKnown: true },
    });
    expect(good.body.message.enrichment_info.service).toBe('iot-cloud-preview');
    expect(good.body.timeseries.map((p: { measure: string }) => p.measure).sort()).toEqual([
      'humidity',
      'pressure',
      'temperature',
    ]);
    expect(alerting.body.alerts.wouldRaise.map((a: { rule_id: string }) => a.rule_id)).toEqual([
      'temperature-high',
    ]);
    expect(wrongTopic.body).toMatchObject({
      outcome: 'rejected',
      rejection: { stage: 'ingest', reason: 'INVALID_TOPIC' },
    });
    expect(malformed.body).toMatchObject({ outcome: 'rejected', rejection: { stage: 'enrich' } });
    expect(malformed.body.rejection.reason).toMatch(/^[A-Z_]+$/);
    expect(after).toEqual(before);
    expect((await http('GET', '/api/devices/env-preview-1')).status).toBe(404);
  });

  it('reads the stored alert state: a match of an active condition raises nothing new', async () => {
    // Prepare: a real onset for env-alert-1.
    await publish([{ topic: envTopic('env-alert-1'), payload: envReading('env-alert-1', 50) }]);
    await until('the real alert', async () => {
      const items = (await http('GET', '/api/alerts?deviceId=env-alert-1')).body.items;
      return items.length === 1 ? items : undefined;
    });

    // Act
    const again = await http('POST', '/api/preview', {
      topic: envTopic('env-alert-1'),
      payload: envReading('env-alert-1', 52),
    });

    // Assess
    expect(again.body.alerts).toMatchObject({
      wouldRaise: [],
      continuing: ['temperature-high'],
      alertStateKnown: true,
    });
    expect((await http('GET', '/api/alerts?deviceId=env-alert-1')).body.items).toHaveLength(1);
  });

  it('refuses a payload over IoT Core’s 128 KB, naming the field', async () => {
    const answer = await http('POST', '/api/preview', { payload: 'x'.repeat(128 * 1024 + 1) });

    expect(answer.status).toBe(413);
    expect(answer.body.error.details[0].field).toBe('payload');
  });

  it('needs a payload', async () => {
    const answer = await http('POST', '/api/preview', { topic: envTopic('env-preview-1') });

    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].field).toBe('payload');
  });
});

describe('the inspector keeps every flagged message', () => {
  it('keeps all non-GOOD messages of a device, not a sample', async () => {
    // Prepare: 30 BAD messages (humidity out of its valid range) in one burst, past any sampling rate.
    const messages = Array.from({ length: 30 }, (_, i) => ({
      topic: 'dt/environmental_sensor/env-flagged-1/telemetry',
      payload: {
        ...envReading('env-flagged-1', 20, 30_000 - i * 1000),
        measurements: { temperature: 20, humidity: 150, pressure: 1012 },
      },
    }));

    // Act
    await publish(messages);

    // Assess
    const kept = await until('30 flagged samples', async () => {
      const items = await recent('enriched', 'env-flagged-1');
      return items.length >= 30 ? items : undefined;
    });
    expect(kept).toHaveLength(30);
    expect(kept.every((sample) => sample.body.data_quality?.verdict !== 'GOOD')).toBe(true);
    expect(new Set(kept.map((sample) => sample.id)).size).toBe(30);
  });

  it('keeps every dead letter', async () => {
    const before = (await recent('dlq')).length;
    await publish(
      Array.from({ length: 20 }, (_, i) => ({
        topic: 'dt/environmental_sensor/env-broken-1/telemetry',
        payload: `{"device_id": "env-broken-1", "n": ${i}`,
      })),
    );

    const letters = await until('20 more dead letters', async () => {
      const items = await recent('dlq');
      return items.length >= before + 20 ? items : undefined;
    });
    expect(letters.length).toBe(before + 20);
  });
});

describe('POST /api/device-types/{typeId}/preview', () => {
  it('counts the kept messages whose verdict a widened range changes, and stores nothing', async () => {
    // Prepare: three readings above the valid range (85 °C) and two inside it.
    await publish([
      ...[90, 95, 99].map((t, i) => ({
        topic: envTopic('env-draft-1'),
        payload: envReading('env-draft-1', t, 10_000 - i * 1000),
      })),
      ...[20, 22].map((t, i) => ({
        topic: envTopic('env-draft-1'),
        payload: envReading('env-draft-1', t, 5_000 - i * 1000),
      })),
    ]);
    await until('the three flagged messages kept', async () => {
      const items = await recent('enriched', 'env-draft-1');
      return items.filter((s) => s.body.data_quality?.verdict !== 'GOOD').length === 3 ? items : undefined;
    });
    // The inspector samples the newest record of each partition: once the last message is sampled at
    // both stages, nothing more will be kept, so the counts below are settled.
    const lastSampled = async (stage: string) =>
      (await recent(stage, 'env-draft-1')).some(
        (s) => (s.body as { measurements?: { temperature?: number } }).measurements?.temperature === 22,
      );
    await until('the last message sampled', async () =>
      (await lastSampled('raw')) && (await lastSampled('enriched')) ? true : undefined,
    );
    const current = (await http('GET', '/api/device-types/environmental_sensor')).body;
    const draft = {
      ...current,
      measurements: {
        ...current.measurements,
        temperature: { ...current.measurements.temperature, validRange: { min: -40, max: 100 } },
      },
    };
    const before = await counts();

    // Act
    const refused = await http('POST', '/api/device-types/environmental_sensor/preview', draft);
    const answer = await http('POST', '/api/device-types/environmental_sensor/preview', draft, TOKEN);
    const after = await counts();

    // Assess
    expect(refused.status).toBe(401);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ typeId: 'environmental_sensor', stored: false, changed: 3 });
    expect(answer.body.changes.map((c: { deviceId: string }) => c.deviceId)).toEqual([
      'env-draft-1',
      'env-draft-1',
      'env-draft-1',
    ]);
    for (const change of answer.body.changes) {
      expect(change.before.verdict).not.toBe('GOOD');
      expect(change.after.verdict).toBe('GOOD');
      expect(change.readings).toEqual([{ path: 'temperature', before: 'BAD', after: 'GOOD' }]);
    }
    expect(answer.body.ofType).toBeGreaterThanOrEqual(3 + answer.body.unchanged);
    expect(after).toEqual(before);
    expect((await http('GET', '/api/device-types/environmental_sensor')).body.version).toBe(current.version);
  });

  it('validates the draft like a PUT', async () => {
    const answer = await http(
      'POST',
      '/api/device-types/environmental_sensor/preview',
      { typeId: 'smart_meter', name: 'x' },
      TOKEN,
    );

    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_BODY');
  });
});

describe('app registry migration', () => {
  it('takes a free-text category and answers by-device-type like ?deviceType=', async () => {
    const created = await http(
      'POST',
      '/api/applications',
      {
        name: 'Prototype Monitor',
        developer: 'Ops',
        contactEmail: 'ops@example.org',
        version: '1.0.0',
        platform: 'web',
        category: 'Monitoring',
        deviceTypes: ['environmental_sensor'],
      },
      TOKEN,
    );
    const tooLong = await http(
      'POST',
      '/api/applications',
      {
        name: 'Too Long',
        developer: 'Ops',
        contactEmail: 'ops@example.org',
        version: '1.0.0',
        platform: 'web',
        category: 'x'.repeat(51),
        deviceTypes: ['environmental_sensor'],
      },
      TOKEN,
    );
    const alias = await http('GET', '/api/applications/by-device-type/environmental_sensor');
    const filter = await http('GET', '/api/applications?deviceType=environmental_sensor');

    expect(created.status).toBe(201);
    expect(created.body.category).toBe('Monitoring');
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details.map((d: { field: string }) => d.field)).toContain('category');
    expect(alias.status).toBe(200);
    expect(alias.body).toEqual(filter.body);
    expect(alias.body.items.map((a: { name: string }) => a.name)).toContain('Prototype Monitor');
    expect((await http('GET', '/api/applications/by-device-type/Not-A-Type')).status).toBe(400);
  });
});
