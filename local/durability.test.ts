/**
 * The local durability promise, as the README states it: every QoS 1 publish the platform acknowledged
 * is stored exactly once, whether it is stopped with Ctrl+C (SIGINT) or killed (`kill -9`) mid-burst.
 *
 * The platform runs as `npm start` runs it (local/start.ts, no simulator) in a child process, on one
 * temporary data directory and OS-picked ports. Each round: devices publish QoS 1 as fast as the
 * acknowledgements allow, the platform is stopped or killed once a random number of PUBACKs arrived,
 * then restarted on the same directory. At the end every device's stored points are read through the
 * telemetry API: each acknowledged message is there, and no message is there twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from './bench/platform-process.js';

const DEVICES = 6;
/** QoS 1 publishes each device keeps in flight: a burst, well past what one fsync covers. */
const IN_FLIGHT = 40;
const BASE_TIME = Date.now() - 30 * 60_000;
/** Message `seq` of a device is stamped BASE_TIME + seq * 10 ms: one energy point per message. */
const STEP_MS = 10;

/** Both outputs kept, to show what the platform said when an expectation fails. */
const startPlatform = (dataDir: string) => startPlatformProcess({ dataDir, stderr: 'capture' });

const telemetry = (deviceId: string, seq: number) =>
  JSON.stringify({
    device_id: deviceId,
    timestamp: new Date(BASE_TIME + seq * STEP_MS).toISOString(),
    event_type: 'telemetry',
    measurements: { energy: seq, demand: 12.5, power_factor: 0.95 },
  });

/** What the devices were told: the sequence numbers each device got a PUBACK for. */
const acknowledged = new Map<string, Set<number>>();
const nextSeq = new Map<string, number>();
const deviceIds = Array.from({ length: DEVICES }, (_, i) => `durable-${i}`);

/**
 * Publishes from every device until the connection goes, `IN_FLIGHT` at a time; `onAck` sees the
 * running total of PUBACKs of this burst.
 */
function burst(mqttUrl: string, onAck: (total: number) => void): { stop: () => void } {
  let total = 0;
  let stopped = false;
  const clients: mqtt.MqttClient[] = [];
  for (const deviceId of deviceIds) {
    const client = mqtt.connect(mqttUrl, { clientId: `${deviceId}-${Date.now()}`, reconnectPeriod: 0 });
    clients.push(client);
    const acked = acknowledged.get(deviceId) ?? new Set<number>();
    acknowledged.set(deviceId, acked);
    const publishNext = () => {
      if (stopped || !client.connected) return;
      const seq = nextSeq.get(deviceId) ?? 0;
      nextSeq.set(deviceId, seq + 1);
      client.publishAsync(`dt/smart_meter/${deviceId}/telemetry`, telemetry(deviceId, seq), { qos: 1 }).then(
        () => {
          acked.add(seq);
          onAck(++total);
          publishNext();
        },
        () => undefined,
      );
    };
    client.on('connect', () => {
      for (let i = 0; i < IN_FLIGHT; i++) publishNext();
    });
    client.on('error', () => undefined);
  }
  return {
    stop: () => {
      stopped = true;
      for (const client of clients) client.end(true);
    },
  };
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url);
  return (await response.json()) as Record<string, unknown>;
}

/** Until every consumer has committed everything (twice in a row, a quarter second apart). Deadlines are generous: start-up took 12-17 s on a loaded 2-core machine (2.5 s quiet). */
async function drained(httpUrl: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let settled = 0;
  while (settled < 2) {
    if (Date.now() > deadline) throw new Error('the pipeline did not drain within 60 s');
    const stats = await getJson(`${httpUrl}/api/stats?window=15m`);
    const lag = (stats.pipeline as { consumerLag: number }).consumerLag;
    settled = lag === 0 ? settled + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let dataDir: string;
let platform: PlatformProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-durability-'));
});

afterAll(async () => {
  if (platform && platform.child.exitCode === null) platform.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('local durability: an acknowledged publish is stored exactly once', () => {
  it('across SIGINT and kill -9 in the middle of bursts', { timeout: 240_000 }, async () => {
    const rounds: NodeJS.Signals[] = ['SIGINT', 'SIGKILL', 'SIGINT', 'SIGKILL'];
    for (const signal of rounds) {
      const running = await startPlatform(dataDir);
      platform = running;
      // Somewhere in the burst, not at its start.
      const stopAfter = 300 + Math.floor(Math.random() * 1500);
      const { stop } = await new Promise<{ stop: () => void }>((resolve) => {
        let signalled = false;
        const publishing = burst(running.mqttUrl, (total) => {
          if (total >= stopAfter && !signalled) {
            signalled = true;
            running.child.kill(signal);
            resolve(publishing);
          }
        });
      });
      const exit = await running.exited;
      stop();
      if (signal === 'SIGINT') expect(exit, running.output()).toEqual({ code: 0, signal: null });
      else expect(exit.signal).toBe('SIGKILL');
    }

    platform = await startPlatform(dataDir);
    await drained(platform.httpUrl);

    const from = new Date(BASE_TIME - 1000).toISOString();
    const to = new Date(BASE_TIME + 3_600_000).toISOString();
    for (const deviceId of deviceIds) {
      const body = await getJson(
        `${platform.httpUrl}/api/devices/${deviceId}/telemetry?measure=energy&from=${from}&to=${to}&limit=10000`,
      );
      const stored = (body.points as { value: number }[]).map((point) => point.value);
      const acked = [...(acknowledged.get(deviceId) ?? [])];
      const missing = acked.filter((seq) => !stored.includes(seq));
      expect(missing, `${deviceId}: acknowledged but not stored`).toEqual([]);
      expect(new Set(stored).size, `${deviceId}: stored twice`).toBe(stored.length);
      // Nothing stored that was never published.
      expect(Math.max(...stored)).toBeLessThan(nextSeq.get(deviceId) ?? 0);
      expect(acked.length).toBeGreaterThan(0);
      // The device's counter is exact too: derived from what is stored, whatever the crashes did.
      const device = await getJson(`${platform.httpUrl}/api/devices/${deviceId}`);
      expect(device.messageCount, `${deviceId}: messageCount`).toBe(stored.length);
    }
    platform.child.kill('SIGINT');
    expect(await platform.exited).toEqual({ code: 0, signal: null });
  });
});
