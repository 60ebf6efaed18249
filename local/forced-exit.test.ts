/**
 * A second Ctrl+C during a drained stop exits at once, deliberately: exit code 130 (local/start.ts,
 * `npm start -- --help`), nothing native printed on the way out, and the next start serves what was
 * acknowledged before it (durability.test.ts checks every PUBACK across SIGINT and kill -9).
 *
 * The platform runs as `npm start` runs it, in a child process, with one preload that holds its HTTP
 * close open (stop-held.fixture.ts): the drain cannot finish before the second signal arrives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from './bench/platform-process.js';
import { FORCED_EXIT_CODE, SAME_SIGNAL_MS } from './forced-exit.js';

const HOLD_STOP = new URL('./stop-held.fixture.ts', import.meta.url).href;
const DEVICES = 10;
/** QoS 1 publishes each device keeps in flight: enough for a backlog the consumers are still on. */
const IN_FLIGHT = 40;
/** PUBACKs before the first signal. */
const ACKS_BEFORE_STOP = 3000;
const BASE_TIME = Date.now() - 30 * 60_000;
const deviceIds = Array.from({ length: DEVICES }, (_, i) => `forced-exit-${i}`);

async function until(what: string, condition: () => boolean | Promise<boolean>, withinMs = 30_000) {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Publishes from every device until stopped; `acknowledged` gets each device's PUBACKed seqs. */
function burst(mqttUrl: string, acknowledged: Map<string, Set<number>>): { stop: () => void } {
  let stopped = false;
  const clients = deviceIds.map((deviceId) => {
    const client = mqtt.connect(mqttUrl, { clientId: deviceId, reconnectPeriod: 0 });
    const acked = new Set<number>();
    acknowledged.set(deviceId, acked);
    let seq = 0;
    const publishNext = () => {
      if (stopped || !client.connected) return;
      const mine = seq++;
      const payload = JSON.stringify({
        device_id: deviceId,
        timestamp: new Date(BASE_TIME + mine * 10).toISOString(),
        event_type: 'telemetry',
        measurements: { energy: mine, demand: 12.5, power_factor: 0.95 },
      });
      client.publishAsync(`dt/smart_meter/${deviceId}/telemetry`, payload, { qos: 1 }).then(
        () => {
          acked.add(mine);
          publishNext();
        },
        () => undefined,
      );
    };
    client.on('connect', () => {
      for (let i = 0; i < IN_FLIGHT; i++) publishNext();
    });
    client.on('error', () => undefined);
    return client;
  });
  return {
    stop: () => {
      stopped = true;
      for (const client of clients) client.end(true);
    },
  };
}

async function storedEnergy(httpUrl: string, deviceId: string): Promise<number[]> {
  const from = new Date(BASE_TIME - 1000).toISOString();
  const to = new Date(BASE_TIME + 3_600_000).toISOString();
  const response = await fetch(
    `${httpUrl}/api/devices/${deviceId}/telemetry?measure=energy&from=${from}&to=${to}&limit=10000`,
  );
  const body = (await response.json()) as { points?: { value: number }[] };
  return (body.points ?? []).map((point) => point.value);
}

let dataDir: string;
let platform: PlatformProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-forced-exit-'));
});

afterAll(async () => {
  if (platform && platform.child.exitCode === null) platform.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start: a second Ctrl+C', () => {
  it('exits with the forced-exit code, prints no native error, and loses nothing acknowledged', {
    timeout: 180_000,
  }, async () => {
    const running = await startPlatformProcess({ dataDir, stderr: 'capture', preload: [HOLD_STOP] });
    platform = running;

    // A burst of acknowledged publishes: at the stop the consumers still have a backlog, so the
    // worker threads are in the middle of DuckDB and DynamoDB calls when the second signal comes.
    const acknowledged = new Map<string, Set<number>>();
    const publishing = burst(running.mqttUrl, acknowledged);
    const ackCount = () => [...acknowledged.values()].reduce((total, acked) => total + acked.size, 0);
    await until('the burst acknowledged', () => ackCount() >= ACKS_BEFORE_STOP, 60_000);

    running.child.kill('SIGINT');
    await until('the stop began', () => running.output().includes('stopping (at most'));
    // Past the window in which a signal counts as the echo of the first Ctrl+C. The child opens that
    // window when it handles the signal, just before it prints the line seen here; a busy child may
    // handle it long after the kill, so the wait counts from the line, not from the kill.
    await new Promise((resolve) => setTimeout(resolve, SAME_SIGNAL_MS + 200));
    expect(running.child.exitCode, running.output()).toBeNull();
    running.child.kill('SIGINT');

    const exit = await running.exited;
    expect(exit, running.output()).toEqual({ code: FORCED_EXIT_CODE, signal: null });
    expect(running.output()).toContain('second signal: exiting now');
    expect(running.output()).not.toMatch(/Napi|FATAL|Abort|Segmentation|terminate called/i);

    publishing.stop();

    // The next start stores every acknowledged message, once.
    platform = await startPlatformProcess({ dataDir, stderr: 'capture' });
    const next = platform;
    for (const deviceId of deviceIds) {
      const acked = acknowledged.get(deviceId) ?? new Set<number>();
      let stored: number[] = [];
      await until(
        `${deviceId}: every acknowledged message stored`,
        async () => {
          stored = await storedEnergy(next.httpUrl, deviceId);
          return [...acked].every((seq) => stored.includes(seq));
        },
        60_000,
      );
      expect(new Set(stored).size, `${deviceId}: stored twice`).toBe(stored.length);
    }
    next.child.kill('SIGINT');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  });
});
