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

const store = async (clock: { now: number }) =>
  new DynamoOperationStore({
    client: dynamo.client,
    tableName: (await dynamo.freshTables()).operations,
    replayLeaseMs: LEASE_MS,
    retentionSeconds: 3600,
    now: () => clock.now,
  });

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
});
