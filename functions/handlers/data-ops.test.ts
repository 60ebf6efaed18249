/**
 * The data operations over fixed retained records and a recording producer; progress in the operations
 * table on dynalite (the store both runtimes use), fresh tables per test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoOperationStore } from '../adapters/dynamodb/operations.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import { CONTRACT_VERSION, type DlqRecord } from '../core/contract/messages.js';
import type { OperationProgress, RetainedRecord, TopicRangeReader } from '../ports/data-ops.js';
import type { FailedBatchStore } from '../ports/failed-batches.js';
import type { StreamProducer, StreamRecord } from '../ports/stream.js';
import { TOPICS } from '../shared/stream.js';
import { createDataOps, ReplayConflictError, settledOperation, UnknownDeviceError } from './data-ops.js';
import { onFailureDocument } from './on-failure-test-support.js';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

/** The operations table of a fresh set of tables; no lease, as in the local runtime. */
const operationStore = async () =>
  new DynamoOperationStore({ client: dynamo.client, tableName: (await dynamo.freshTables()).operations });

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const WINDOW = { from: T0 - 60_000, to: T0 + 60_000 };

/** A reader over fixed records per topic, honouring the range like the real ones. */
function fixedReader(topics: Record<string, RetainedRecord[]>, gate?: Promise<void>): TopicRangeReader {
  return {
    async readByTime(topic, range, visit) {
      await gate;
      const records = (topics[topic] ?? []).filter(
        (r) => r.timestamp >= range.from && r.timestamp < range.to,
      );
      if (records.length > 0) await visit(records);
    },
  };
}

function recordingProducer() {
  const sent: { topic: string; record: StreamRecord }[] = [];
  const producer: StreamProducer = {
    send: async (topic, records) => {
      for (const record of records) sent.push({ topic, record });
    },
  };
  return { producer, sent };
}

const deadLetter = (overrides: Partial<DlqRecord> = {}, offset = 0): RetainedRecord => {
  const record: DlqRecord = {
    contract_version: CONTRACT_VERSION,
    reason: 'UNKNOWN_DEVICE_TYPE',
    detail: 'no registered type',
    received_at: new Date(T0).toISOString(),
    failed_at: new Date(T0 + 5).toISOString(),
    stage: 'enrich',
    device_id: 'probe-1',
    source: { mqtt_topic: 'dt/probe/probe-1/telemetry' },
    original_base64: Buffer.from('{"device_id":"probe-1"}').toString('base64'),
    original_size_bytes: 23,
    ...overrides,
  };
  return {
    topic: TOPICS.dlq,
    partition: 0,
    offset,
    timestamp: T0,
    key: 'probe-1',
    value: Buffer.from(JSON.stringify(record)),
    headers: {},
  };
};

const raw = (
  deviceId: string,
  type: string,
  offset: number,
  headers: Record<string, string> = {},
): RetainedRecord => ({
  topic: TOPICS.raw,
  partition: 0,
  offset,
  timestamp: T0 + offset,
  key: deviceId,
  value: Buffer.from(`{"device_id":"${deviceId}"}`),
  headers: { mqtt_topic: `dt/${type}/${deviceId}/telemetry`, received_at: String(T0 + offset), ...headers },
});

const NOW = T0 + 10_000;

const dataOpsOver = async (
  topics: Record<string, RetainedRecord[]>,
  gate?: Promise<void>,
  options: { operations?: DynamoOperationStore; failedBatches?: FailedBatchStore } = {},
) => {
  const { producer, sent } = recordingProducer();
  const operations = options.operations ?? (await operationStore());
  const ops = createDataOps({
    reader: fixedReader(topics, gate),
    producer,
    operations,
    ...(options.failedBatches ? { failedBatches: options.failedBatches } : {}),
    deviceTypeOf: async (id) => (id === 'probe-1' ? 'probe' : undefined),
    now: () => NOW,
  });
  return { ops, sent, operations };
};

/** A gate the reader waits on, so an operation stays running until the test opens it. */
function readGate() {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { gate, open };
}

describe('redrive', () => {
  it('sends the original bytes back to iot.raw with the receipt time, topic and a redrive count one higher', async () => {
    const { ops, sent } = await dataOpsOver({ [TOPICS.dlq]: [deadLetter({ redrive_count: 2 })] });

    const progress = await ops.redrive({ ...WINDOW, reason: 'UNKNOWN_DEVICE_TYPE' });

    expect(progress).toMatchObject({ kind: 'redrive', state: 'done', matched: 1, sent: 1 });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topic).toBe(TOPICS.raw);
    expect(sent[0]?.record).toMatchObject({
      key: 'probe-1',
      headers: { mqtt_topic: 'dt/probe/probe-1/telemetry', received_at: String(T0), redrive_count: '3' },
    });
    expect(Buffer.from(sent[0]?.record.value ?? []).toString()).toBe('{"device_id":"probe-1"}');
    expect(await ops.operation(progress.id)).toEqual(progress);
  });

  it('sends a message once, from its latest attempt, and skips stages it cannot send back', async () => {
    const { ops, sent } = await dataOpsOver({
      [TOPICS.dlq]: [
        deadLetter({}, 0),
        deadLetter({ redrive_count: 1, failed_at: new Date(T0 + 9_000).toISOString() }, 1),
        deadLetter({ stage: 'ingest-bridge', reason: 'INVALID_TOPIC' }, 2),
      ],
    });

    const progress = await ops.redrive(WINDOW);

    expect(progress).toMatchObject({ matched: 3, sent: 1 });
    expect(Object.values(progress.skipped).reduce((a, b) => a + b, 0)).toBe(2);
    expect(sent[0]?.record.headers?.redrive_count).toBe('2');
  });

  it("in AWS also sends back the failed batches' records, each to its topic, a message in both sources once", async () => {
    const enrichedRecord: RetainedRecord = {
      topic: TOPICS.enriched,
      partition: 2,
      offset: 9,
      timestamp: T0 + 4,
      key: 'probe-1',
      value: Buffer.from('{"device_id":"probe-1","device_metadata":{"device_type":"probe"}}'),
      headers: {},
    };
    // raw('probe-1', ...) holds the dead letter's very message: same MQTT topic, same bytes.
    const body = onFailureDocument([raw('probe-1', 'probe', 0), raw('probe-2', 'probe', 3), enrichedRecord]);
    const failedBatches: FailedBatchStore = {
      readSince: async (_since, visit) =>
        void (await visit({ key: 'aws/lambda/x', writtenAt: T0 + 5_000, body })),
    };
    const { ops, sent } = await dataOpsOver({ [TOPICS.dlq]: [deadLetter()] }, undefined, { failedBatches });

    const progress = await ops.redrive(WINDOW);

    expect(progress).toMatchObject({ state: 'done', matched: 4, sent: 3 });
    expect(progress.skipped).toEqual({ 'sent from the dead-letter topic': 1 });
    expect(sent.map((s) => [s.topic, s.record.key, s.record.headers?.redrive_count])).toEqual([
      [TOPICS.raw, 'probe-1', '1'],
      [TOPICS.raw, 'probe-2', '1'],
      [TOPICS.enriched, 'probe-1', '1'],
    ]);
  });

  it('sends nothing for a filter that matches nothing', async () => {
    const { ops, sent } = await dataOpsOver({ [TOPICS.dlq]: [deadLetter()] });
    expect(await ops.redrive({ ...WINDOW, deviceType: 'other' })).toMatchObject({ matched: 0, sent: 0 });
    expect(sent).toEqual([]);
  });
});

describe('replay', () => {
  it('sends the raw records of the type back with the replay id, never an earlier replay copy', async () => {
    const { ops, sent } = await dataOpsOver({
      [TOPICS.raw]: [
        raw('probe-1', 'probe', 1),
        raw('other-1', 'other', 2),
        raw('probe-2', 'probe', 3),
        raw('probe-1', 'probe', 4, { replay_id: 'rp-aaaaaaaaaaaa' }),
      ],
    });

    const started = await ops.startReplay({ target: { deviceType: 'probe' }, ...WINDOW });
    await ops.idle();

    expect(await ops.operation(started.id)).toMatchObject({ state: 'done', matched: 2, sent: 2 });
    expect(sent.map((s) => s.record.key)).toEqual(['probe-1', 'probe-2']);
    expect(sent[0]?.record.headers).toMatchObject({ replay_id: started.id, received_at: String(T0 + 1) });
  });

  it('refuses a second replay of the same device type while one runs, and allows it after', async () => {
    const { gate, open } = readGate();
    const { ops } = await dataOpsOver({ [TOPICS.raw]: [raw('probe-1', 'probe', 1)] }, gate);
    const first = await ops.startReplay({ target: { deviceType: 'probe' }, ...WINDOW });

    // A device replay is locked by the device's type.
    await expect(ops.startReplay({ target: { deviceId: 'probe-1' }, ...WINDOW })).rejects.toBeInstanceOf(
      ReplayConflictError,
    );
    open();
    await ops.idle();
    expect((await ops.operation(first.id))?.state).toBe('done');
    await expect(ops.startReplay({ target: { deviceType: 'probe' }, ...WINDOW })).resolves.toMatchObject({
      state: 'running',
    });
    await ops.idle();
  });

  it('stop ends a running replay at its next batch, as interrupted, frees its type, and waits for it', async () => {
    const { gate, open } = readGate();
    const { ops, sent, operations } = await dataOpsOver({ [TOPICS.raw]: [raw('probe-1', 'probe', 1)] }, gate);
    const started = await ops.startReplay({ target: { deviceType: 'probe' }, ...WINDOW });

    const stopped = ops.stop();
    open();
    await stopped;

    expect(await ops.operation(started.id)).toMatchObject({
      state: 'interrupted',
      error: expect.stringMatching(/^interrupted: the platform stopped/),
    });
    expect(sent).toEqual([]);
    expect(await operations.runningReplay('probe')).toBeUndefined();
  });

  it('refuses a device replay for a device never seen', async () => {
    const { ops } = await dataOpsOver({});
    await expect(ops.startReplay({ target: { deviceId: 'ghost-1' }, ...WINDOW })).rejects.toBeInstanceOf(
      UnknownDeviceError,
    );
  });
});

/** Progress as a process that died mid-operation left it: running, some of it sent. */
const leftRunning = (id: string, kind: OperationProgress['kind'], startedAt: number): OperationProgress => ({
  id,
  kind,
  state: 'running',
  request: {
    deviceType: 'probe',
    from: new Date(WINDOW.from).toISOString(),
    to: new Date(WINDOW.to).toISOString(),
  },
  startedAt: new Date(startedAt).toISOString(),
  scanned: 700,
  matched: 600,
  sent: 500,
  skipped: {},
  truncated: false,
});

describe('operations whose runner died', () => {
  it('recoverInterrupted ends what a previous process left running, with its counts, and frees its type', async () => {
    const operations = await operationStore();
    const redrive = leftRunning('rd-deadredrive00000000', 'redrive', T0);
    const replay = leftRunning('rp-deadreplay000000000', 'replay', T0);
    await operations.put(redrive);
    expect(await operations.claimReplay(replay, 'probe')).toBeUndefined();
    const { ops } = await dataOpsOver({ [TOPICS.raw]: [raw('probe-1', 'probe', 1)] }, undefined, {
      operations,
    });

    const ended = await ops.recoverInterrupted();

    expect(ended.map((progress) => progress.id).sort()).toEqual([redrive.id, replay.id].sort());
    for (const id of [redrive.id, replay.id]) {
      expect(await ops.operation(id)).toMatchObject({
        state: 'interrupted',
        scanned: 700,
        matched: 600,
        sent: 500,
        finishedAt: new Date(NOW).toISOString(),
        error: expect.stringMatching(/^interrupted: the process running it stopped/),
      });
    }
    await expect(ops.startReplay({ target: { deviceType: 'probe' }, ...WINDOW })).resolves.toMatchObject({
      state: 'running',
    });
    await ops.idle();
    expect(await ops.recoverInterrupted()).toEqual([]);
  });

  it('recoverInterrupted leaves the replays this instance runs', async () => {
    const { gate, open } = readGate();
    const { ops } = await dataOpsOver({ [TOPICS.raw]: [raw('probe-1', 'probe', 1)] }, gate);
    const started = await ops.startReplay({ target: { deviceType: 'probe' }, ...WINDOW });

    expect(await ops.recoverInterrupted()).toEqual([]);

    open();
    await ops.idle();
    expect(await ops.operation(started.id)).toMatchObject({ state: 'done', sent: 1 });
  });

  it('settledOperation reads a running operation started a lease ago as interrupted, ended at its deadline', async () => {
    const lease = 60_000;
    const operations = await operationStore();
    const stale = leftRunning('rd-stale00000000000000', 'redrive', NOW - lease);
    const fresh = leftRunning('rd-fresh00000000000000', 'redrive', NOW - lease + 1);
    await operations.put(stale);
    await operations.put(fresh);

    expect(await settledOperation(operations, stale.id, NOW, lease)).toMatchObject({
      state: 'interrupted',
      sent: 500,
      finishedAt: new Date(NOW).toISOString(),
      error: expect.stringMatching(
        /^interrupted: not finished within the data-ops function's timeout \(60 s\)/,
      ),
    });
    expect(await settledOperation(operations, fresh.id, NOW, lease)).toEqual(fresh);
  });
});
