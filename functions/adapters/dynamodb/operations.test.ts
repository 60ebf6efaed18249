import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationProgress } from '../../ports/data-ops.js';
import { DynamoOperationStore } from './operations.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

const LEASE_MS = 15 * 60_000;

/** `leased: false`: the local runtime's store, whose locks hold until released. */
const freshStore = async (clock: { now: number }, leased = true) => {
  const tableName = (await dynamo.freshTables()).operations;
  const operations = new DynamoOperationStore({
    client: dynamo.client,
    tableName,
    ...(leased ? { replayLeaseMs: LEASE_MS } : {}),
    retentionSeconds: 3600,
    now: () => clock.now,
  });
  return { operations, tableName };
};
const store = async (clock: { now: number }, leased = true) => (await freshStore(clock, leased)).operations;

const replay = (id: string, deviceType: string, state: OperationProgress['state'] = 'running') =>
  ({
    id,
    kind: 'replay',
    state,
    request: { deviceType, from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' },
    startedAt: '2026-12-06T04:00:00.000Z',
    scanned: 0,
    matched: 0,
    sent: 0,
    skipped: {},
    truncated: false,
  }) satisfies OperationProgress;

describe('DynamoOperationStore', () => {
  it('keeps progress by id and forgets it past its retention', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const operations = await store(clock);
    const redrive: OperationProgress = {
      ...replay('rd-aaaaaaaaaaaaaaaaaaaa', 'x'),
      kind: 'redrive',
      request: { reason: 'UNKNOWN_DEVICE_TYPE' },
      state: 'done',
      sent: 3,
      skipped: { 'an older attempt of a message sent': 1 },
    };
    await operations.put(redrive);
    expect(await operations.get(redrive.id)).toEqual(redrive);
    expect(await operations.get('rd-bbbbbbbbbbbbbbbbbbbb')).toBeUndefined();
    clock.now += 3601_000;
    expect(await operations.get(redrive.id)).toBeUndefined();
  });

  it('lets one replay run per device type and frees the type when it finishes', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const operations = await store(clock);
    const first = replay('rp-first000000000000000', 'probe');
    expect(await operations.claimReplay(first, 'probe')).toBeUndefined();
    expect(await operations.get(first.id)).toEqual(first);

    // Same type: refused with the running one; another type is free.
    expect(await operations.claimReplay(replay('rp-second00000000000000', 'probe'), 'probe')).toEqual(first);
    expect(await operations.runningReplay('probe')).toEqual(first);
    expect(await operations.claimReplay(replay('rp-other000000000000000', 'meter'), 'meter')).toBeUndefined();

    await operations.put({ ...first, state: 'done', sent: 2 });
    expect(await operations.runningReplay('probe')).toBeUndefined();
    const third = replay('rp-third000000000000000', 'probe');
    expect(await operations.claimReplay(third, 'probe')).toBeUndefined();

    // The first replay's late progress must not release the third's lock.
    await operations.put({ ...first, state: 'failed', error: 'late' });
    expect(await operations.runningReplay('probe')).toEqual(third);
  });

  it('frees a type whose replay never finished once the lease is over', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const operations = await store(clock);
    const stuck = replay('rp-stuck000000000000000', 'probe');
    expect(await operations.claimReplay(stuck, 'probe')).toBeUndefined();
    clock.now += LEASE_MS - 1;
    expect(await operations.claimReplay(replay('rp-early000000000000000', 'probe'), 'probe')).toEqual(stuck);
    clock.now += 1;
    expect(await operations.runningReplay('probe')).toBeUndefined();
    expect(await operations.claimReplay(replay('rp-after000000000000000', 'probe'), 'probe')).toBeUndefined();
  });

  it('lets exactly one of concurrent claims of a type win', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const operations = await store(clock);
    const claims = await Promise.all(
      ['a', 'b', 'c', 'd'].map((n) => operations.claimReplay(replay(`rp-${n.repeat(20)}`, 'probe'), 'probe')),
    );
    expect(claims.filter((conflict) => conflict === undefined)).toHaveLength(1);
  });

  it('without a lease, holds a type until its replay ends, however long that takes', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const operations = await store(clock, false);
    const long = replay('rp-long0000000000000000', 'probe');
    expect(await operations.claimReplay(long, 'probe')).toBeUndefined();

    clock.now += 7 * 24 * 3600_000;

    expect(await operations.claimReplay(replay('rp-later000000000000000', 'probe'), 'probe')).toEqual(long);
    await operations.put({ ...long, state: 'interrupted', error: 'interrupted: test' });
    expect(await operations.claimReplay(replay('rp-after000000000000000', 'probe'), 'probe')).toBeUndefined();
  });

  it('lists the operations stored as running, and a claimed replay whose progress was never written', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const { operations, tableName } = await freshStore(clock, false);
    const running = replay('rp-running0000000000000', 'probe');
    const unwritten = replay('rp-unwritten00000000000', 'meter');
    await operations.claimReplay(running, 'probe');
    await operations.claimReplay(unwritten, 'meter');
    // As if the process died between the claim and the progress's put.
    await dynamo.client.send(new DeleteCommand({ TableName: tableName, Key: { pk: `op#${unwritten.id}` } }));
    await operations.put(replay('rp-done000000000000000', 'other', 'done'));
    await operations.put({ ...replay('rd-running0000000000000', 'x'), kind: 'redrive' });

    const listed = await operations.listRunning();

    expect(listed.map((progress) => progress.id).sort()).toEqual(
      ['rd-running0000000000000', running.id, unwritten.id].sort(),
    );
  });

  it('lets a claim take a type whose lock still names a finished replay', async () => {
    const clock = { now: Date.parse('2026-12-06T04:00:00Z') };
    const { operations, tableName } = await freshStore(clock, false);
    const finished = replay('rp-finished000000000000', 'probe');
    await operations.claimReplay(finished, 'probe');
    await operations.put({ ...finished, state: 'done' });
    // As if the process died between the progress's put and the lock's release.
    await dynamo.client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'replay-lock#probe' },
        UpdateExpression: 'SET #state = :running',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':running': 'running' },
      }),
    );

    expect(await operations.runningReplay('probe')).toBeUndefined();
    expect(await operations.claimReplay(replay('rp-next0000000000000000', 'probe'), 'probe')).toBeUndefined();
  });
});
