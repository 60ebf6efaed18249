/**
 * Data operations in AWS (issue 16), end to end but for the network: the API Lambda's composition
 * (functions/lambda/api.ts) invokes the data-ops Lambda's composition (functions/lambda/data-ops.ts)
 * through a Lambda client that runs it in-process, progress is kept in the operations table on
 * dynalite, and the stream is a fixed set of retained records with a recording producer.
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDeviceStore } from '../adapters/dynamodb/index.js';
import { DynamoOperationStore } from '../adapters/dynamodb/operations.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import { CONTRACT_VERSION, type DlqRecord } from '../core/contract/messages.js';
import { apiEvent, type TestRequest } from '../handlers/api/test-support.js';
import type { RetainedRecord, TopicRangeReader } from '../ports/data-ops.js';
import type { StreamRecord } from '../ports/stream.js';
import { TOPICS } from '../shared/stream.js';
import type { TableNames } from '../shared/tables.js';
import { LAMBDA_ENV, silentObservability } from './test-support.js';

type ApiModule = typeof import('./api.js');
type DataOpsModule = typeof import('./data-ops.js');
let api: ApiModule;
let dataOpsModule: DataOpsModule;
let dynamo: TestDynamo;
let tables: TableNames;

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const NOW = T0 + 3_600_000;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  // The entries read their configuration at import (cold start); no call is made.
  api = await import('./api.js');
  dataOpsModule = await import('./data-ops.js');
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await dynamo.close();
});

const deadLetter = (offset: number): RetainedRecord => {
  const record: DlqRecord = {
    contract_version: CONTRACT_VERSION,
    reason: 'UNKNOWN_DEVICE_TYPE',
    detail: 'no registered type',
    received_at: new Date(T0).toISOString(),
    failed_at: new Date(T0 + 5).toISOString(),
    stage: 'enrich',
    device_id: `probe-${offset}`,
    source: { mqtt_topic: `dt/probe/probe-${offset}/telemetry` },
    original_base64: Buffer.from(`{"device_id":"probe-${offset}"}`).toString('base64'),
    original_size_bytes: 22,
  };
  return {
    topic: TOPICS.dlq,
    partition: 0,
    offset,
    timestamp: T0 + offset,
    key: `probe-${offset}`,
    value: Buffer.from(JSON.stringify(record)),
    headers: {},
  };
};

const raw = (deviceId: string, type: string, offset: number): RetainedRecord => ({
  topic: TOPICS.raw,
  partition: 0,
  offset,
  timestamp: T0 + offset,
  key: deviceId,
  value: Buffer.from(`{"device_id":"${deviceId}"}`),
  headers: { mqtt_topic: `dt/${type}/${deviceId}/telemetry`, received_at: String(T0 + offset) },
});

const RETAINED: Record<string, RetainedRecord[]> = {
  [TOPICS.dlq]: [deadLetter(1), deadLetter(2)],
  [TOPICS.raw]: [raw('probe-1', 'probe', 1), raw('meter-1', 'smart_meter', 2), raw('probe-1', 'probe', 3)],
};

/** The API Lambda over the test tables, invoking the data-ops function through `lambda`. */
const apiLambda = (lambda: Pick<LambdaClient, 'send'>, now?: () => number) =>
  api.createApiLambda({
    dynamo: dynamo.client,
    timestream: new TimestreamQueryClient({ region: 'eu-west-1' }),
    timestreamDatabase: 'iot-cloud-dev',
    timestreamTable: 'telemetry',
    tables,
    version: '0.1.0-test',
    observability: silentObservability(),
    registryRefreshMs: 60_000,
    ...(now ? { now } : {}),
    dataOps: { lambda, functionName: 'data-ops-fn', operationsTable: tables.operations },
  });

/** What the deployed stack wires, with the network replaced: invocations run in-process. */
function deployment(gate?: Promise<void>) {
  const sent: { topic: string; record: StreamRecord }[] = [];
  const reader: TopicRangeReader = {
    async readByTime(topic, range, visit) {
      await gate;
      const records = (RETAINED[topic] ?? []).filter(
        (r) => r.timestamp >= range.from && r.timestamp < range.to,
      );
      if (records.length > 0) await visit(records);
    },
  };
  const dataOpsHandler = dataOpsModule.createDataOpsLambda({
    reader,
    producer: {
      send: async (topic, records) => {
        for (const record of records) sent.push({ topic, record });
      },
    },
    operations: new DynamoOperationStore({
      client: dynamo.client,
      tableName: tables.operations,
      replayLeaseMs: dataOpsModule.REPLAY_LEASE_MS,
      now: () => NOW,
    }),
    observability: silentObservability(),
    now: () => NOW,
  });
  const invocations: { type: string | undefined; payload: unknown }[] = [];
  /** Event invocations not yet run ("Lambda's queue"): the test runs them explicitly. */
  const queued: (() => Promise<unknown>)[] = [];
  const lambda = {
    send: async (command: InvokeCommand): Promise<InvokeCommandOutput> => {
      expect(command).toBeInstanceOf(InvokeCommand);
      expect(command.input.FunctionName).toBe('data-ops-fn');
      const payload = JSON.parse(new TextDecoder().decode(command.input.Payload as Uint8Array));
      invocations.push({ type: command.input.InvocationType, payload });
      if (command.input.InvocationType === 'Event') {
        queued.push(() => dataOpsHandler(payload));
        return { StatusCode: 202, $metadata: {} };
      }
      const answer = await dataOpsHandler(payload);
      return {
        StatusCode: 200,
        Payload: new TextEncoder().encode(JSON.stringify(answer)) as InvokeCommandOutput['Payload'],
        $metadata: {},
      };
    },
  };
  const apiHandler = apiLambda(lambda, () => NOW);
  const call = async (request: TestRequest) => {
    const result = await apiHandler(apiEvent(request));
    return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
  };
  const write = (path: string, body: unknown) =>
    call({
      method: 'POST',
      path,
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      claims: { sub: 'operator-1' },
    });
  return {
    call,
    write,
    sent,
    invocations,
    /** Runs the oldest queued event. */
    runNext: () => (queued.shift() as () => Promise<unknown>)(),
    drain: () => Promise.all(queued.splice(0).map((run) => run())),
  };
}

const window = { from: new Date(T0).toISOString(), to: new Date(T0 + 60_000).toISOString() };

describe('data operations in AWS', () => {
  beforeEach(async () => {
    tables = await dynamo.freshTables();
  });

  it('triage is a synchronous invocation that answers the groups', async () => {
    const { call, invocations } = deployment();
    const answer = await call({ method: 'GET', path: `/api/dlq/groups?from=${window.from}&to=${window.to}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ total: 2, truncated: false });
    expect(answer.body.groups).toHaveLength(2);
    expect(invocations).toEqual([
      { type: 'RequestResponse', payload: { action: 'triage', from: T0, to: T0 + 60_000 } },
    ]);
  });

  it('a redrive answers 202 with its id, runs in the data-ops function, and its progress is read back', async () => {
    const { call, write, sent, invocations, drain } = deployment();
    const accepted = await write('/api/dlq/redrive', { reason: 'UNKNOWN_DEVICE_TYPE', ...window });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ kind: 'redrive', state: 'running', sent: 0 });
    expect(invocations).toEqual([
      {
        type: 'Event',
        payload: {
          action: 'redrive',
          id: accepted.body.id,
          filter: { reason: 'UNKNOWN_DEVICE_TYPE', from: T0, to: T0 + 60_000 },
        },
      },
    ]);
    await drain();
    const progress = await call({ method: 'GET', path: `/api/dlq/redrives/${accepted.body.id}` });
    expect(progress).toMatchObject({ status: 200, body: { id: accepted.body.id, state: 'done', sent: 2 } });
    expect(sent.map((s) => [s.topic, s.record.key, s.record.headers?.redrive_count])).toEqual([
      [TOPICS.raw, 'probe-1', '1'],
      [TOPICS.raw, 'probe-2', '1'],
    ]);
  });

  it('a device replay resolves the type; of two racing replays of a type the function claim lets one run', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { call, write, sent, runNext, drain } = deployment(gate);
    const devices = new DynamoDeviceStore({ client: dynamo.client, tableName: tables.devices });
    await devices.recordSeen({ deviceId: 'probe-1', deviceType: 'probe', time: T0, count: 2 });

    const unknown = await write('/api/replay', { deviceId: 'ghost-1', ...window });
    expect(unknown.status).toBe(404);

    const first = await write('/api/replay', { deviceId: 'probe-1', ...window });
    expect(first).toMatchObject({ status: 202, body: { kind: 'replay', request: { deviceType: 'probe' } } });
    // Lambda has not run the event yet: the API sees no lock, so the function's claim decides.
    const raced = await write('/api/replay', { deviceType: 'probe', ...window });
    expect(raced.status).toBe(202);

    const firstRun = runNext();
    // The first holds the lock once its progress is stored (its read waits on the gate).
    const store = new DynamoOperationStore({
      client: dynamo.client,
      tableName: tables.operations,
      replayLeaseMs: 1,
      now: () => NOW,
    });
    const deadline = Date.now() + 5_000;
    while ((await store.runningReplay('probe')) === undefined) {
      if (Date.now() > deadline) throw new Error('the first replay never claimed its type');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await runNext();
    const racedDone = await call({ method: 'GET', path: `/api/replays/${raced.body.id}` });
    expect(racedDone.body).toMatchObject({ state: 'failed', sent: 0 });
    expect(racedDone.body.error).toContain('REPLAY_RUNNING');

    open();
    await firstRun;
    const firstDone = await call({ method: 'GET', path: `/api/replays/${first.body.id}` });
    expect(firstDone.body).toMatchObject({ state: 'done', matched: 2, sent: 2 });
    expect(sent.map((s) => s.record.headers?.replay_id)).toEqual([first.body.id, first.body.id]);

    // Done: the type is free again.
    const again = await write('/api/replay', { deviceType: 'probe', ...window });
    expect(again.status).toBe(202);
    await drain();
    const againDone = await call({ method: 'GET', path: `/api/replays/${again.body.id}` });
    expect(againDone.body).toMatchObject({ state: 'done', sent: 2 });
  });

  it('answers 409 without invoking while a replay of the type holds the lock', async () => {
    const { write, invocations } = deployment();
    const store = new DynamoOperationStore({
      client: dynamo.client,
      tableName: tables.operations,
      replayLeaseMs: 60_000,
      now: () => NOW,
    });
    await store.claimReplay(
      {
        id: 'rp-running0000000000000',
        kind: 'replay',
        state: 'running',
        request: { deviceType: 'probe' },
        startedAt: new Date(NOW).toISOString(),
        scanned: 0,
        matched: 0,
        sent: 0,
        skipped: {},
        truncated: false,
      },
      'probe',
    );
    const refused = await write('/api/replay', { deviceType: 'probe', ...window });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('REPLAY_RUNNING');
    expect(invocations).toEqual([]);
  });

  it('a replay whose invocation died reads interrupted past the function timeout, and frees its type', async () => {
    const { call, write } = deployment();
    const startedAt = NOW - dataOpsModule.REPLAY_LEASE_MS;
    // What an invocation that timed out left: its claim and its last progress, never finished.
    const died = new DynamoOperationStore({
      client: dynamo.client,
      tableName: tables.operations,
      replayLeaseMs: dataOpsModule.REPLAY_LEASE_MS,
      now: () => startedAt,
    });
    const id = 'rp-timedout000000000000';
    await died.claimReplay(
      {
        id,
        kind: 'replay',
        state: 'running',
        request: { deviceType: 'probe' },
        startedAt: new Date(startedAt).toISOString(),
        scanned: 40,
        matched: 30,
        sent: 20,
        skipped: {},
        truncated: false,
      },
      'probe',
    );

    const progress = await call({ method: 'GET', path: `/api/replays/${id}` });

    expect(progress).toMatchObject({
      status: 200,
      body: { id, state: 'interrupted', sent: 20, finishedAt: new Date(NOW).toISOString() },
    });
    expect(progress.body.error).toMatch(
      /^interrupted: not finished within the data-ops function's timeout \(900 s\)/,
    );
    expect((await write('/api/replay', { deviceType: 'probe', ...window })).status).toBe(202);
  });

  it('a function error on triage is a 500, not an empty answer', async () => {
    const failing = apiLambda({
      send: async () => ({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: new TextEncoder().encode('{"errorMessage":"broker unreachable"}'),
        $metadata: {},
      }),
    });
    const result = await failing(apiEvent({ method: 'GET', path: '/api/dlq/groups' }));
    expect(result.statusCode).toBe(500);
  });

  it('refuses a malformed invocation', async () => {
    const handler = dataOpsModule.createDataOpsLambda({
      reader: { readByTime: async () => undefined },
      producer: { send: async () => undefined },
      operations: new DynamoOperationStore({
        client: dynamo.client,
        tableName: tables.operations,
        replayLeaseMs: 1,
      }),
      observability: silentObservability(),
    });
    await expect(handler({ action: 'redrive', id: 'x', filter: {} })).rejects.toThrow(
      /not a data-ops invocation/,
    );
  });
});
