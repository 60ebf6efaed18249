/**
 * Issue 16's done-when, end to end over MQTT and HTTP on the local platform: a dead letter fixed by a
 * registry edit and redriven, and a replay after a range change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, type LocalTimeseriesStore, startLocalPlatform } from './runtime.js';

const TOKEN = 'data-ops-test-token';
let dataDir: string;
let platform: LocalPlatform;
const testStart = Date.now();

/** Polls `condition` (sync or async) until it holds, up to a deadline. */
async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function api(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${platform.httpUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function publish(messages: [string, string][]) {
  const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: `data-ops-test-${Date.now()}` });
  for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1 });
  await client.endAsync();
}

/** Waits until the pipeline has no lag and `done` holds on its status. */
const settled = (what: string, done: (status: ReturnType<LocalPlatform['status']>) => boolean) =>
  waitUntil(() => platform.status().lag === 0 && done(platform.status()), what, 30_000);

async function series(deviceId: string, measure: string) {
  const from = new Date(testStart - 3_600_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const answer = await api(
    'GET',
    `/api/devices/${deviceId}/telemetry?measure=${measure}&from=${from}&to=${to}`,
  );
  return answer.body.points as { time: string; value: number; quality: string }[];
}

/** The newest enriched sample of a device that satisfies `test` (samples are written asynchronously). */
async function enrichedSample(deviceId: string, test: (message: Record<string, unknown>) => boolean) {
  let found: Record<string, unknown> | undefined;
  await waitUntil(
    async () => {
      const answer = await api('GET', `/api/messages?stage=enriched&deviceId=${deviceId}&limit=50`);
      const items = (answer.body.items as { body: Record<string, unknown> }[]) ?? [];
      found = items.map((item) => item.body).find(test);
      return found !== undefined;
    },
    `an enriched sample of ${deviceId}`,
    15_000,
  );
  return found as Record<string, unknown>;
}

const probeType = (typeId: string, max: number) => ({
  name: `Test probe ${typeId}`,
  description: 'A probe the data-operations test registers.',
  category: 'environmental_monitoring',
  capabilities: ['temperature_monitoring'],
  manufacturers: [{ name: 'Test', models: ['T-1'] }],
  dataFormat: 'json',
  updateFrequencySeconds: 30,
  retentionDays: 30,
  dimensions: [],
  measurements: {
    temp: {
      description: 'Temperature.',
      unit: '°C',
      dataType: 'number',
      required: true,
      validRange: { min: 0, max },
    },
  },
});

const telemetry = (deviceId: string, temp: number, secondsAgo: number) =>
  JSON.stringify({
    device_id: deviceId,
    timestamp: new Date(testStart - secondsAgo * 1000).toISOString(),
    event_type: 'telemetry',
    measurements: { temp },
  });

const startPlatform = async (timeseries: LocalTimeseriesStore) => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-data-ops-'));
  platform = await startLocalPlatform({
    dataDir,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    apiToken: TOKEN,
    deviceBookkeepingMs: 200,
    registryRefreshMs: 3_600_000,
    timeseries,
  });
};

const stopPlatform = async () => {
  try {
    await platform?.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
};

// Per sink: the writes must be idempotent in each (DuckDB's anti-join, the DynamoDB sink's
// if_not_exists updates), so a message redriven twice is stored once.
describe.each(['duckdb', 'dynamodb'] as const)(
  'dead-letter triage and redrive over MQTT, %s sink',
  { timeout: 60_000 },
  (sink) => {
    beforeAll(() => startPlatform(sink));
    afterAll(stopPlatform);
    const payload = telemetry('probe-rd-1', 21.5, 30);

    it('groups the dead letter of an unknown device type, with its original bytes', async () => {
      await publish([['dt/probe_redrive/probe-rd-1/telemetry', payload]]);
      await settled('the dead letter', (status) => status.dlq >= 1);

      const answer = await api('GET', '/api/dlq/groups');

      expect(answer.status).toBe(200);
      const groups = answer.body.groups as {
        reason: string;
        deviceType: string;
        deviceId: string;
        count: number;
        examples: { original_base64: string }[];
      }[];
      const group = groups.find((g) => g.deviceId === 'probe-rd-1');
      expect(group).toMatchObject({ reason: 'UNKNOWN_DEVICE_TYPE', deviceType: 'probe_redrive', count: 1 });
      expect(Buffer.from(group?.examples[0]?.original_base64 ?? '', 'base64').toString()).toBe(payload);
    });

    it('sends it back once the type is registered: enriched with a redrive count and stored once', async () => {
      expect(
        (await api('PUT', '/api/device-types/probe_redrive', probeType('probe_redrive', 50))).status,
      ).toBe(201);
      const before = platform.status();

      const redrive = await api('POST', '/api/dlq/redrive', {
        reason: 'UNKNOWN_DEVICE_TYPE',
        deviceType: 'probe_redrive',
        from: new Date(testStart - 60_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      });

      expect(redrive.status).toBe(201);
      expect(redrive.body).toMatchObject({ kind: 'redrive', state: 'done', matched: 1, sent: 1 });
      await settled('the redriven message', (status) => status.enriched === before.enriched + 1);
      expect(platform.status().dlq).toBe(before.dlq);
      expect(await series('probe-rd-1', 'temp')).toEqual([
        expect.objectContaining({ value: 21.5, quality: 'GOOD' }),
      ]);
      const enriched = await enrichedSample('probe-rd-1', () => true);
      expect(enriched.enrichment_info).toMatchObject({
        redrive_count: 1,
        registry_version: 'probe_redrive@1',
      });
      const progress = await api('GET', `/api/dlq/redrives/${redrive.body.id as string}`);
      expect(progress).toMatchObject({ status: 200, body: { id: redrive.body.id, state: 'done', sent: 1 } });
    });

    it('stores nothing new on a second redrive of the same dead letter', async () => {
      const before = platform.status();
      const seriesBefore = await series('probe-rd-1', 'temp');

      const redrive = await api('POST', '/api/dlq/redrive', {
        reason: 'UNKNOWN_DEVICE_TYPE',
        deviceId: 'probe-rd-1',
        from: new Date(testStart - 60_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      });

      expect(redrive.body).toMatchObject({ state: 'done', sent: 1 });
      await settled('the second redrive', (status) => status.enriched === before.enriched + 1);
      expect(await series('probe-rd-1', 'temp')).toEqual(seriesBefore);
      expect(seriesBefore).toHaveLength(1);
    });
  },
);

// Per sink: DuckDB deletes and inserts a replayed message's points in one transaction, the DynamoDB
// sink updates its items (functions/adapters/dynamodb/timeseries/rewrite.ts).
describe.each(['duckdb', 'dynamodb'] as const)(
  'replay after a range change over MQTT, %s sink',
  { timeout: 60_000 },
  (sink) => {
    beforeAll(() => startPlatform(sink));
    afterAll(stopPlatform);

    it('rewrites the verdicts and points by the new definition, each point once', async () => {
      expect((await api('PUT', '/api/device-types/probe_replay', probeType('probe_replay', 50))).status).toBe(
        201,
      );
      const before = platform.status();
      await publish([
        ['dt/probe_replay/probe-rp-1/telemetry', telemetry('probe-rp-1', 10, 50)],
        ['dt/probe_replay/probe-rp-1/telemetry', telemetry('probe-rp-1', 40, 40)],
        ['dt/probe_replay/probe-rp-1/telemetry', telemetry('probe-rp-1', 45, 30)],
      ]);
      await settled('three enriched messages', (status) => status.enriched === before.enriched + 3);
      expect((await series('probe-rp-1', 'temp')).map((p) => p.value)).toEqual([10, 40, 45]);
      const current = await api('GET', '/api/device-types/probe_replay');
      const narrowed = await api('PUT', '/api/device-types/probe_replay', {
        ...probeType('probe_replay', 42),
        version: current.body.version,
      });
      expect(narrowed.status).toBe(200);
      const beforeReplay = platform.status();

      const replay = await api('POST', '/api/replay', {
        deviceType: 'probe_replay',
        from: new Date(testStart - 60_000).toISOString(),
        to: new Date(Date.now() + 1_000).toISOString(),
      });

      expect(replay.status).toBe(202);
      let progress: Answer = replay;
      await waitUntil(
        async () => {
          progress = await api('GET', `/api/replays/${replay.body.id as string}`);
          return progress.body.state !== 'running';
        },
        'the replay to finish',
        15_000,
      );
      expect(progress.body).toMatchObject({ state: 'done', matched: 3, sent: 3 });
      await settled('the replayed messages', (status) => status.enriched === beforeReplay.enriched + 3);
      // 45 is outside the new range: BAD, so no longer stored; 10 and 40 stay, once each.
      expect((await series('probe-rp-1', 'temp')).map((p) => p.value)).toEqual([10, 40]);
      const replayed = await enrichedSample('probe-rp-1', (message) => {
        const info = message.enrichment_info as { replay_id?: string };
        return info.replay_id === replay.body.id;
      });
      expect((replayed.enrichment_info as { registry_version: string }).registry_version).toBe(
        'probe_replay@2',
      );
    });
  },
);
