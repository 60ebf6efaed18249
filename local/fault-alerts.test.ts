/**
 * Fault injection through the local platform over MQTT (issues 12 and 15): simulated devices publish
 * with the simulator's faults switched on, and the platform's alert rules answer them.
 * - overload: a breaker loaded 2-3x in the afternoon raises `load-percentage-high`; the same breaker
 *   without the fault raises nothing.
 * - silence: a meter that stops publishing raises the no-data rule `meter-silent` (shortened to its 60 s
 *   floor through the registry API), and clears it once it publishes again; a meter publishing all
 *   along raises nothing.
 * - a silent reading (issue 15): an environmental sensor that goes on publishing without its humidity
 *   raises `humidity-silent` (shortened to 60 s) from its device record, and clears it once humidity
 *   returns. It runs alongside the silenced meter (both wait out the same windows).
 * Every wait is bounded: the no-data evaluator measures silence from the start of its 60 s window, so
 * a raise takes up to two windows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../functions/ports/registry.js';
import { parseFaultSpec } from '../simulator/faults.js';
import { createSimulatedFleet, createTransport, runFleet } from '../simulator/index.js';
import { type LocalPlatform, startLocalPlatform } from './runtime.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let dataDir: string;
let platform: LocalPlatform;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-fault-alerts-'));
  platform = await startLocalPlatform({
    dataDir,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    deviceBookkeepingMs: 200,
    // The rule edit below takes effect within a second, and the evaluator looks often.
    registryRefreshMs: 1000,
    noDataIntervalMs: 500,
  });
}, 60_000);

afterAll(async () => {
  try {
    await platform?.stop();
  } finally {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);

/** Polls an async condition every 250 ms until it holds, or fails after `timeoutMs`. */
async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const alertsOf = async (deviceId: string): Promise<AlertRecord[]> => {
  const response = await fetch(`${platform.httpUrl}/api/alerts?deviceId=${deviceId}&limit=500`);
  if (!response.ok) throw new Error(`/api/alerts: HTTP ${response.status}`);
  return ((await response.json()) as { items: AlertRecord[] }).items;
};

/** Sets a no-data rule's `silentSeconds` through the registry API. */
async function setSilentSeconds(typeId: string, ruleId: string, silentSeconds: number): Promise<void> {
  const typeUrl = `${platform.httpUrl}/api/device-types/${typeId}`;
  const definition = (await (await fetch(typeUrl)).json()) as {
    alertRules: { ruleId: string; silentSeconds?: number }[];
  };
  const rules = definition.alertRules.map((rule) =>
    rule.ruleId === ruleId ? { ...rule, silentSeconds } : rule,
  );
  expect(rules.some((rule) => rule.ruleId === ruleId && rule.silentSeconds === silentSeconds)).toBe(true);
  const edit = await fetch(typeUrl, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...definition, alertRules: rules }),
  });
  expect(edit.status).toBe(200);
}

/** Runs one device of `type` over MQTT to the local broker. */
function publish(
  deviceId: string,
  type: string,
  options: {
    faults?: string;
    startTime?: number;
    intervalSeconds: number;
    realTime: boolean;
    count?: number;
    signal?: AbortSignal;
  },
) {
  const fleet = createSimulatedFleet({
    devices: 1,
    deviceIds: [deviceId],
    types: [type],
    seed: 3,
    startTime: options.startTime ?? Date.now(),
    schedule: { mode: 'interval', seconds: options.intervalSeconds },
    ...(options.faults ? { faults: parseFaultSpec(options.faults) } : {}),
  });
  return runFleet({
    fleet,
    transport: createTransport({ kind: 'mqtt', url: platform.mqttUrl, connectionMode: 'per-device' }),
    realTime: options.realTime,
    ...(options.count === undefined ? {} : { count: options.count }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

describe('simulator faults raise alerts through the local platform', () => {
  it('an overloaded breaker raises load-percentage-high; without the fault it does not', async () => {
    // Prepare: an afternoon (the model's load follows the UTC hour and peaks at 15:00), where 2-3x the
    // load is far past 85 %: today 13:00 once it is 10 minutes past, else yesterday 17:00. Either stays
    // inside the platform's 24 h staleness limit and out of the future.
    const today = Math.floor(Date.now() / DAY) * DAY;
    const startTime =
      Date.now() >= today + 13 * HOUR + 10 * 60_000 ? today + 13 * HOUR : today - DAY + 17 * HOUR;

    // Act: 80 messages 5 s apart (under 7 simulated minutes), published as fast as acknowledged.
    const [faulty, healthy] = await Promise.all([
      publish('fault-breaker-1', 'smart_breaker', {
        faults: 'overload=1',
        startTime,
        intervalSeconds: 5,
        realTime: false,
        count: 80,
      }),
      publish('steady-breaker-1', 'smart_breaker', {
        startTime,
        intervalSeconds: 5,
        realTime: false,
        count: 80,
      }),
    ]);

    // Assess
    expect(faulty.delivery).toMatchObject({ sent: 80, acked: 80, failed: 0 });
    expect(healthy.delivery).toMatchObject({ sent: 80, acked: 80, failed: 0 });
    await waitUntil(
      async () => (await alertsOf('fault-breaker-1')).some((a) => a.rule_id === 'load-percentage-high'),
      'load-percentage-high for the overloaded breaker',
      30_000,
    );
    // Both devices' messages went through the same pipeline: once the healthy one's are all counted and
    // every consumer (the alerts one too) has caught up, it has had every chance to raise.
    await waitUntil(
      async () => {
        const response = await fetch(`${platform.httpUrl}/api/devices/steady-breaker-1`);
        const counted =
          response.ok && ((await response.json()) as { messageCount: number }).messageCount >= 80;
        return counted && platform.status().lag === 0;
      },
      'the healthy breaker stored and every consumer caught up',
      30_000,
    );
    const healthyRules = (await alertsOf('steady-breaker-1')).map((a) => a.rule_id);
    expect(healthyRules).not.toContain('load-percentage-high');
  }, 90_000);

  // Concurrent with the silent-reading test below: each waits out up to two 60 s windows.
  it.concurrent('a silenced meter raises meter-silent and clears it when it publishes again; a steady one does not', async () => {
    // Prepare: meter-silent at its 60 s floor (default 3 x 60 s), through the registry API.
    await setSilentSeconds('smart_meter', 'meter-silent', 60);
    // Both meters are known to the platform (their first messages bookkept).
    await Promise.all(
      ['silent-meter-1', 'steady-meter-1'].map((id) =>
        publish(id, 'smart_meter', { intervalSeconds: 1, realTime: false, count: 2 }),
      ),
    );
    await waitUntil(
      async () =>
        (await fetch(`${platform.httpUrl}/api/devices/silent-meter-1`)).ok &&
        (await fetch(`${platform.httpUrl}/api/devices/steady-meter-1`)).ok,
      'both meters bookkept',
      30_000,
    );

    // Act: the silenced meter runs with silence=1 (it publishes nothing), the steady one every 5 s.
    const stop = new AbortController();
    const runs = Promise.all([
      publish('silent-meter-1', 'smart_meter', {
        faults: 'silence=1',
        intervalSeconds: 5,
        realTime: true,
        signal: stop.signal,
      }),
      publish('steady-meter-1', 'smart_meter', { intervalSeconds: 5, realTime: true, signal: stop.signal }),
    ]);
    let raised: AlertRecord | undefined;
    try {
      await waitUntil(
        async () => {
          raised = (await alertsOf('silent-meter-1')).find(
            (a) => a.rule_id === 'meter-silent' && a.transition === 'raised',
          );
          return raised !== undefined;
        },
        'meter-silent for the silenced meter',
        // Two 60 s windows at most, plus the evaluator's period.
        150_000,
      );
    } finally {
      stop.abort();
    }
    const [silenced, steady] = await runs;

    // Assess: the silenced meter sent nothing at all while the steady one kept publishing.
    expect(silenced.delivery.sent).toBe(0);
    expect(steady.delivery.acked).toBeGreaterThan(0);
    expect(raised).toMatchObject({ rule_kind: 'no_data', threshold: 60, lifecycle: { state: 'active' } });
    expect(raised?.value).toBeGreaterThan(60);
    expect((await alertsOf('steady-meter-1')).map((a) => a.rule_id)).not.toContain('meter-silent');

    // Act: it publishes again. Assess: the evaluator clears the alert by its condition.
    await publish('silent-meter-1', 'smart_meter', { intervalSeconds: 1, realTime: false, count: 1 });
    await waitUntil(
      async () =>
        (await alertsOf('silent-meter-1')).some(
          (a) => a.raised_alert_id === raised?.alert_id && a.cleared_by === 'condition',
        ),
      'the clear of meter-silent',
      90_000,
    );
  }, 300_000);

  it.concurrent('a sensor that goes on without its humidity raises humidity-silent, and clears it when humidity returns', async () => {
    // Prepare: humidity-silent at its 60 s floor (600 s shipped); the sensor reports humidity once.
    await setSilentSeconds('environmental_sensor', 'humidity-silent', 60);
    const sensor = await mqtt.connectAsync(platform.mqttUrl, { clientId: 'env-quiet-humidity-1' });
    const report = (measurements: Record<string, number>) =>
      sensor.publishAsync(
        'dt/environmental_sensor/env-quiet-humidity-1/telemetry',
        JSON.stringify({
          device_id: 'env-quiet-humidity-1',
          device_type: 'environmental_sensor',
          timestamp: new Date().toISOString(),
          event_type: 'telemetry',
          measurements,
        }),
        { qos: 1 },
      );
    const alerts = async () =>
      (await alertsOf('env-quiet-humidity-1')).filter((a) => a.rule_id === 'humidity-silent');
    let raised: AlertRecord | undefined;
    try {
      await report({ temperature: 21, humidity: 40, pressure: 1013 });

      // Act: temperature and pressure every 5 s, humidity no more.
      const reporting = setInterval(() => void report({ temperature: 21, pressure: 1013 }), 5000);
      try {
        await waitUntil(
          async () => {
            raised = (await alerts()).find((a) => a.transition === 'raised');
            return raised !== undefined;
          },
          'humidity-silent for the sensor without humidity',
          // Two 60 s windows at most, plus the evaluator's period.
          150_000,
        );
      } finally {
        clearInterval(reporting);
      }

      // Assess: raised on the reading, while the device itself kept reporting.
      expect(raised).toMatchObject({ rule_kind: 'no_data', path: 'humidity', threshold: 60 });
      expect(raised?.value).toBeGreaterThan(60);
      const device = (await (await fetch(`${platform.httpUrl}/api/devices/env-quiet-humidity-1`)).json()) as {
        lastSeen: string;
      };
      expect(Date.parse(device.lastSeen)).toBeGreaterThan(Date.parse(raised?.triggered_at ?? '') - 10_000);

      // Act: humidity again. Assess: the evaluator clears the alert by its condition.
      await report({ temperature: 21, humidity: 41, pressure: 1013 });
      await waitUntil(
        async () =>
          (await alerts()).some(
            (a) => a.raised_alert_id === raised?.alert_id && a.cleared_by === 'condition',
          ),
        'the clear of humidity-silent',
        90_000,
      );
    } finally {
      await sensor.endAsync();
    }
  }, 300_000);
});
