/**
 * Data-operation progress across restarts of the local platform (issue 16): kept in the operations
 * table on dynalite, so a restart on the same data directory reads the same progress, and an operation
 * a dead process left running is reported interrupted, its replay lock released.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../functions/adapters/dynamodb/index.js';
import { DynamoOperationStore } from '../functions/adapters/dynamodb/operations.js';
import type { OperationProgress } from '../functions/ports/data-ops.js';
import { ensureTables, localTableNames, startDynalite } from './dynamodb/index.js';
import { type LocalPlatform, startLocalPlatform } from './runtime.js';

let dataDir: string;
let platform: LocalPlatform | undefined;
const testStart = Date.now();
const window = {
  from: new Date(testStart - 60_000).toISOString(),
  to: new Date(testStart + 3_600_000).toISOString(),
};

const start = async () => {
  platform = await startLocalPlatform({
    dataDir,
    mqttPort: 0,
    httpPort: 0,
    simulatedDevices: 0,
    registryRefreshMs: 3_600_000,
  });
  return platform;
};

const stop = async () => {
  await platform?.stop();
  platform = undefined;
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-data-ops-restart-'));
});
afterAll(async () => {
  try {
    await stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** Polls `condition` until it holds, up to a deadline. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function api(method: string, path: string, body?: unknown) {
  const running = platform as LocalPlatform;
  const response = await fetch(`${running.httpUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

/** Progress as a process killed mid-operation left it: running, part of it sent. */
const leftRunning = (id: string, kind: OperationProgress['kind'], deviceType: string): OperationProgress => ({
  id,
  kind,
  state: 'running',
  request: { deviceType, ...window },
  startedAt: new Date(testStart).toISOString(),
  scanned: 300,
  matched: 250,
  sent: 200,
  skipped: {},
  truncated: false,
});

describe('data-operation progress across restarts', { timeout: 90_000 }, () => {
  it('reads the same redrive progress after a restart on the same data directory', async () => {
    const running = await start();
    const client = await mqtt.connectAsync(running.mqttUrl, { clientId: `restart-test-${Date.now()}` });
    await client.publishAsync(
      'dt/probe_restart/probe-rs-1/telemetry',
      JSON.stringify({
        device_id: 'probe-rs-1',
        timestamp: new Date(testStart).toISOString(),
        event_type: 'telemetry',
        measurements: { temp: 20 },
      }),
      { qos: 1 },
    );
    await client.endAsync();
    await waitUntil(() => running.status().dlq >= 1 && running.status().lag === 0, 'the dead letter', 30_000);
    const redrive = await api('POST', '/api/dlq/redrive', { deviceType: 'probe_restart', ...window });
    expect(redrive).toMatchObject({ status: 201, body: { state: 'done', matched: 1, sent: 1 } });
    const before = await api('GET', `/api/dlq/redrives/${redrive.body.id as string}`);
    expect(before.status).toBe(200);

    await stop();
    await start();

    expect(await api('GET', `/api/dlq/redrives/${redrive.body.id as string}`)).toEqual(before);
  });

  it('reports an operation a dead process left running as interrupted, and frees its replay lock', async () => {
    await stop();
    // What a process killed mid-operation (kill -9) leaves in its table: a redrive and a claimed replay.
    const dynamo = await startDynalite({ dataDir: join(dataDir, 'dynamodb') });
    // Created by the first test's platform already; here too, so this test also runs alone.
    await ensureTables(dynamo.client, localTableNames());
    const store = new DynamoOperationStore({
      client: documentClient(dynamo.client),
      tableName: localTableNames().operations,
    });
    const redrive = leftRunning('rd-killed0000000000000', 'redrive', 'probe_restart');
    const replay = leftRunning('rp-killed0000000000000', 'replay', 'probe_restart');
    await store.put(redrive);
    expect(await store.claimReplay(replay, 'probe_restart')).toBeUndefined();
    await dynamo.close();

    await start();

    for (const [path, id] of [
      ['/api/dlq/redrives', redrive.id],
      ['/api/replays', replay.id],
    ]) {
      const progress = await api('GET', `${path}/${id}`);
      expect(progress).toMatchObject({
        status: 200,
        body: { id, state: 'interrupted', scanned: 300, matched: 250, sent: 200 },
      });
      expect(progress.body.error).toMatch(/^interrupted: the process running it stopped/);
      expect(Date.parse(progress.body.finishedAt as string)).toBeGreaterThanOrEqual(testStart);
    }
    const next = await api('POST', '/api/replay', { deviceType: 'probe_restart', ...window });
    expect(next).toMatchObject({ status: 202, body: { state: 'running' } });
  });
});
