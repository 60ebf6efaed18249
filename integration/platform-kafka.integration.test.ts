/**
 * The whole local platform on the real broker: `npm start -- --kafka-brokers host:port` (MQTT ingest,
 * bridge, enrich and time-series writer consumer groups on Kafka, DuckDB), devices publishing QoS 1
 * over MQTT, and the platform stopped and started again between two rounds. Every message the broker
 * acknowledged must be stored exactly once, read back through the HTTP API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from './kafka/broker.js';
import { waitFor } from './kafka/support.js';

const brokers = inject('kafkaBrokers');
const dataDir = mkdtempSync(join(tmpdir(), 'iot-cloud-platform-'));
const DEVICES = ['env-it-01', 'env-it-02', 'env-it-03', 'env-it-04'];
const PER_DEVICE_PER_ROUND = 50;
// Recent, one second apart per device, distinct across rounds: each message is one point in time.
const BASE = Date.now() - 15 * 60_000;

interface Platform {
  readonly process: ChildProcess;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  output(): string;
}

/**
 * Starts `npm start` on ports the OS picks (port 0), read from its start-up lines as bench:e2e does: a
 * port probed free here could be taken by the platform's own DynamoDB listener before it binds it.
 */
async function startPlatform(): Promise<Platform> {
  const child = spawn(
    'npm',
    [
      'start',
      '--silent',
      '--',
      '--kafka-brokers',
      brokers,
      '--data-dir',
      dataDir,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--no-simulator',
      '--status-every',
      '60',
    ],
    // Its own process group: the stop signal reaches npm and the platform, as Ctrl+C does.
    { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const urls = () => ({
    httpUrl: /API\s+(http:\/\/\S+)\/api\/health/.exec(output)?.[1],
    mqttUrl: /MQTT\s+(mqtt:\/\/\S+)/.exec(output)?.[1],
  });
  await waitFor(
    'the platform to start',
    () => output,
    () => (urls().httpUrl !== undefined && urls().mqttUrl !== undefined) || child.exitCode !== null,
    120_000,
  );
  const { httpUrl, mqttUrl } = urls();
  if (child.exitCode !== null || !httpUrl || !mqttUrl)
    throw new Error(`npm start exited ${child.exitCode}:\n${output}`);
  return { process: child, mqttUrl, httpUrl, output: () => output };
}

async function stopPlatform(platform: Platform): Promise<string> {
  // 'close', not 'exit': npm exits on the signal at once, the platform (which holds the pipes) after
  // its drain.
  const closed = new Promise<void>((resolve) => platform.process.once('close', () => resolve()));
  if (platform.process.exitCode === null && platform.process.pid !== undefined) {
    process.kill(-platform.process.pid, 'SIGTERM');
  }
  await closed;
  return platform.output();
}

/** Publishes one round over QoS 1 from each device; resolves to the times whose PUBACK came back. */
async function publishRound(url: string, round: number): Promise<Map<string, number[]>> {
  const acknowledged = new Map<string, number[]>();
  await Promise.all(
    DEVICES.map(async (deviceId) => {
      const client = await mqtt.connectAsync(url, { clientId: `${deviceId}-r${round}`, reconnectPeriod: 0 });
      const times: number[] = [];
      try {
        for (let i = 0; i < PER_DEVICE_PER_ROUND; i++) {
          const time = BASE + (round * PER_DEVICE_PER_ROUND + i) * 1000;
          await client.publishAsync(
            `dt/environmental_sensor/${deviceId}/telemetry`,
            JSON.stringify({
              device_id: deviceId,
              timestamp: new Date(time).toISOString(),
              event_type: 'telemetry',
              measurements: { temperature: 20 + (i % 10) / 10, humidity: 40, pressure: 1013.2 },
            }),
            { qos: 1 },
          );
          times.push(time);
        }
      } finally {
        await client.endAsync();
      }
      acknowledged.set(deviceId, times);
    }),
  );
  return acknowledged;
}

async function storedTimes(httpUrl: string, deviceId: string): Promise<number[]> {
  const query = new URLSearchParams({
    measure: 'temperature',
    from: new Date(BASE - 60_000).toISOString(),
    to: new Date(Date.now() + 60_000).toISOString(),
    limit: '1000',
  });
  const response = await fetch(`${httpUrl}/api/devices/${deviceId}/telemetry?${query}`);
  if (response.status === 404) return [];
  const body = (await response.json()) as { points?: { time: string }[] };
  return (body.points ?? []).map((point) => Date.parse(point.time)).sort((a, b) => a - b);
}

let running: Platform | undefined;

afterAll(async () => {
  try {
    if (running) await stopPlatform(running);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('npm start -- --kafka-brokers on Apache Kafka', () => {
  it('stores every acknowledged message exactly once across a restart of the platform', async () => {
    running = await startPlatform();
    const first = await publishRound(running.mqttUrl, 0);
    // Stopped right after the last PUBACK: what is still on its way must survive the restart.
    const firstOutput = await stopPlatform(running);
    running = await startPlatform();
    const second = await publishRound(running.mqttUrl, 1);
    const platform = running;
    const expected = new Map(
      DEVICES.map((id) => [id, [...(first.get(id) ?? []), ...(second.get(id) ?? [])]]),
    );

    const stored = new Map<string, number[]>();
    for (const deviceId of DEVICES) {
      stored.set(
        deviceId,
        await waitFor(
          `${deviceId}'s ${2 * PER_DEVICE_PER_ROUND} points`,
          () => storedTimes(platform.httpUrl, deviceId),
          (times) => times.length >= 2 * PER_DEVICE_PER_ROUND,
          120_000,
        ),
      );
    }

    expect(firstOutput).toContain('stopped cleanly');
    for (const deviceId of DEVICES) {
      expect(expected.get(deviceId)).toHaveLength(2 * PER_DEVICE_PER_ROUND);
      expect(stored.get(deviceId)).toEqual(expected.get(deviceId));
    }
  });
});
