import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { seedRegistry } from '../../../registry-data/index.js';
import type { Application, DeviceType } from '../../core/contract/registry.js';
import {
  type ApplicationInput,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '../../ports/registry.js';
import type { TableNames } from '../../shared/tables.js';
import { DynamoRegistryStore } from './registry-store.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

const [breaker, meter] = seedRegistry.deviceTypes as [DeviceType, DeviceType, ...DeviceType[]];
const breakerV2: DeviceType = { ...breaker, typeId: 'smart_breaker_v2', name: 'Smart Breaker v2' };

const app = (overrides: Partial<ApplicationInput> = {}): ApplicationInput => ({
  name: 'Grid Monitor',
  description: 'Watches breakers.',
  version: '1.0.0',
  developer: 'IoT Solutions Inc',
  contactEmail: 'owner@example.com',
  category: 'monitoring',
  platform: 'web',
  deviceTypes: ['smart_breaker'],
  ...overrides,
});

let dynamo: TestDynamo;
let tables: TableNames;
let store: DynamoRegistryStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  tables = await dynamo.freshTables();
  store = new DynamoRegistryStore({ client: dynamo.client, tables });
  for (const deviceType of [breaker, meter, breakerV2]) await store.createDeviceType({ deviceType });
});

describe('device types', () => {
  it('stores a definition and reads it back with its rules', async () => {
    const rules = seedRegistry.alertRules.find((set) => set.deviceType === 'smart_meter')?.rules ?? [];
    await store.deleteDeviceType('smart_meter');

    const created = await store.putDeviceType({ deviceType: meter, alertRules: rules });
    const read = await store.getDeviceType('smart_meter');

    expect(created.deviceType.version).toBe(1);
    expect(read?.deviceType).toEqual({ ...meter, version: 1 });
    expect(read?.alertRules).toEqual(rules);
  });

  it('lists all types ordered by id', async () => {
    const types = await store.listDeviceTypes();

    expect(types.map((t) => t.deviceType.typeId)).toEqual([
      'smart_breaker',
      'smart_breaker_v2',
      'smart_meter',
    ]);
  });

  it('bumps the version on every replace and keeps the rules when they are left out', async () => {
    await store.putDeviceType({ deviceType: breaker, alertRules: [] }, { expectedVersion: 1 });
    const rules = seedRegistry.alertRules.find((set) => set.deviceType === 'smart_breaker')?.rules ?? [];
    await store.putDeviceType({ deviceType: breaker, alertRules: rules });

    const third = await store.putDeviceType(
      { deviceType: { ...breaker, name: 'Renamed' } },
      { expectedVersion: 3 },
    );

    expect(third.deviceType.version).toBe(4);
    expect((await store.getDeviceType('smart_breaker'))?.deviceType.name).toBe('Renamed');
    expect((await store.getDeviceType('smart_breaker'))?.alertRules).toEqual(rules);
  });

  it('refuses a stale expected version with a ConflictError', async () => {
    await store.putDeviceType({ deviceType: breaker });

    await expect(store.putDeviceType({ deviceType: breaker }, { expectedVersion: 1 })).rejects.toMatchObject({
      name: 'ConflictError',
      reason: 'version_mismatch',
    });
    expect((await store.getDeviceType('smart_breaker'))?.deviceType.version).toBe(2);
  });

  it('lets only one of two concurrent replaces of the same version win', async () => {
    const results = await Promise.allSettled([
      store.putDeviceType({ deviceType: { ...breaker, name: 'A' } }, { expectedVersion: 1 }),
      store.putDeviceType({ deviceType: { ...breaker, name: 'B' } }, { expectedVersion: 1 }),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')?.reason).toBeInstanceOf(ConflictError);
  });

  it('refuses to create a type that exists', async () => {
    await expect(store.createDeviceType({ deviceType: breaker })).rejects.toBeInstanceOf(ConflictError);
  });

  it('refuses an invalid definition with the field named', async () => {
    const invalid = { ...breaker, updateFrequencySeconds: 0 };

    await expect(store.putDeviceType({ deviceType: invalid })).rejects.toMatchObject({
      name: 'ValidationError',
      details: [expect.stringContaining('deviceType.updateFrequencySeconds')],
    });
  });

  it('validates the type id before building a key', async () => {
    await expect(store.getDeviceType('Smart Breaker')).rejects.toBeInstanceOf(ValidationError);
  });

  it('deletes a type no active application uses, and reports a missing one', async () => {
    await store.deleteDeviceType('smart_meter');

    expect(await store.getDeviceType('smart_meter')).toBeUndefined();
    await expect(store.deleteDeviceType('smart_meter')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to delete a type an active application uses', async () => {
    await store.createApplication(app());

    await expect(store.deleteDeviceType('smart_breaker')).rejects.toMatchObject({ reason: 'in_use' });
  });
});

describe('applications', () => {
  it('creates an application with an id and times, and reads it back in full', async () => {
    const created = await store.createApplication(app());

    expect(created.applicationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status).toBe('active');
    expect(await store.getApplication(created.applicationId)).toEqual(created);
  });

  it('refuses a duplicate name in another letter case', async () => {
    await store.createApplication(app({ name: 'Grid Monitor' }));

    await expect(store.createApplication(app({ name: '  GRID monitor' }))).rejects.toMatchObject({
      name: 'ConflictError',
      reason: 'duplicate_name',
    });
    expect(await store.listApplications()).toHaveLength(1);
  });

  it('lets exactly one of two concurrent creates with the same name win', async () => {
    const results = await Promise.allSettled([
      store.createApplication(app({ name: 'Race' })),
      store.createApplication(app({ name: 'RACE' })),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await store.listApplications()).toHaveLength(1);
  });

  it('keeps the fields a partial update leaves out', async () => {
    const created = await store.createApplication(app({ deviceTypes: ['smart_breaker', 'smart_meter'] }));

    const updated = await store.updateApplication(created.applicationId, { description: 'New text.' });

    expect(updated).toEqual({ ...created, description: 'New text.', updatedAt: updated.updatedAt });
    expect((await store.getApplication(created.applicationId))?.deviceTypes).toEqual([
      'smart_breaker',
      'smart_meter',
    ]);
    expect(await store.activeApplicationsFor('smart_meter')).toHaveLength(1);
  });

  it('treats an undefined field in a patch as left out', async () => {
    const created = await store.createApplication(app());

    const updated = await store.updateApplication(created.applicationId, {
      deviceTypes: undefined,
      name: 'Other',
    });

    expect(updated.deviceTypes).toEqual(['smart_breaker']);
  });

  it('frees the old name on rename and claims the new one', async () => {
    const first = await store.createApplication(app({ name: 'Alpha' }));
    await store.createApplication(app({ name: 'Beta' }));

    await store.updateApplication(first.applicationId, { name: 'Gamma' });

    await expect(store.createApplication(app({ name: 'alpha' }))).resolves.toMatchObject({ name: 'alpha' });
    await expect(store.updateApplication(first.applicationId, { name: 'BETA' })).rejects.toMatchObject({
      reason: 'duplicate_name',
    });
    expect((await store.getApplication(first.applicationId))?.name).toBe('Gamma');
  });

  it('allows a change of letter case of its own name', async () => {
    const created = await store.createApplication(app({ name: 'Alpha' }));

    await expect(store.updateApplication(created.applicationId, { name: 'ALPHA' })).resolves.toMatchObject({
      name: 'ALPHA',
    });
  });

  it('frees the name and the index entries on delete', async () => {
    const created = await store.createApplication(app({ name: 'Alpha' }));

    await store.deleteApplication(created.applicationId);

    expect(await store.getApplication(created.applicationId)).toBeUndefined();
    expect(await store.activeApplicationsFor('smart_breaker')).toEqual([]);
    await expect(store.createApplication(app({ name: 'ALPHA' }))).resolves.toBeDefined();
    await expect(store.deleteApplication(created.applicationId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses device types that do not exist', async () => {
    await expect(store.createApplication(app({ deviceTypes: ['no_such_type'] }))).rejects.toMatchObject({
      name: 'ValidationError',
      details: [expect.stringContaining('no_such_type')],
    });
  });

  it('returns only active applications registered for exactly the type asked', async () => {
    const exact = await store.createApplication(app({ name: 'Exact' }));
    await store.createApplication(app({ name: 'Version two', deviceTypes: ['smart_breaker_v2'] }));
    await store.createApplication(app({ name: 'Inactive', status: 'inactive' }));
    const paused = await store.createApplication(app({ name: 'Paused later' }));
    await store.updateApplication(paused.applicationId, { status: 'pending' });
    const moved = await store.createApplication(app({ name: 'Moved away' }));
    await store.updateApplication(moved.applicationId, { deviceTypes: ['smart_meter'] });

    const active = await store.activeApplicationsFor('smart_breaker');

    expect(active.map((a) => a.applicationId)).toEqual([exact.applicationId]);
    expect((await store.activeApplicationsFor('smart_breaker_v2')).map((a) => a.name)).toEqual([
      'Version two',
    ]);
  });

  it('filters the list by exact device type and status', async () => {
    await store.createApplication(app({ name: 'B1' }));
    await store.createApplication(app({ name: 'B2', status: 'pending' }));
    await store.createApplication(app({ name: 'V2', deviceTypes: ['smart_breaker_v2'] }));
    await store.createApplication(app({ name: 'M1', deviceTypes: ['smart_meter'], status: 'pending' }));

    expect((await store.listApplications({ deviceType: 'smart_breaker' })).map((a) => a.name)).toEqual([
      'B1',
      'B2',
    ]);
    expect((await store.listApplications({ status: 'pending' })).map((a) => a.name)).toEqual(['B2', 'M1']);
    expect(
      (await store.listApplications({ deviceType: 'smart_breaker', status: 'pending' })).map((a) => a.name),
    ).toEqual(['B2']);
  });

  it('never carries contactEmail in list results', async () => {
    await store.createApplication(app({ name: 'One' }));
    await store.createApplication(app({ name: 'Two', deviceTypes: ['smart_meter'] }));

    const lists = [
      await store.listApplications(),
      await store.listApplications({ deviceType: 'smart_meter' }),
      await store.listApplications({ status: 'active' }),
      await store.activeApplicationsFor('smart_breaker'),
    ];

    for (const list of lists) {
      expect(list.length).toBeGreaterThan(0);
      for (const entry of list) expect(entry).not.toHaveProperty('contactEmail');
    }
    expect(JSON.stringify(lists)).not.toContain('@example.com');
  });

  it('keeps name claims and index items out of the list', async () => {
    await store.createApplication(app({ deviceTypes: ['smart_breaker', 'smart_meter'] }));

    const raw = await dynamo.client.send(new ScanCommand({ TableName: tables.applications }));

    expect(raw.Items).toHaveLength(4); // record, name claim, two type-index items
    expect(await store.listApplications()).toHaveLength(1);
  });

  it('takes over a name claim orphaned by a crash once the grace period is over', async () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const clocked = new DynamoRegistryStore({
      client: dynamo.client,
      tables,
      now: () => now,
      claimGraceMs: 1000,
    });
    const orphanOwner = '11111111-2222-4333-8444-555555555555';
    await dynamo.client.send(
      new PutCommand({
        TableName: tables.applications,
        Item: { applicationId: 'name#orphan', kind: 'nameClaim', owner: orphanOwner, claimedAt: now },
      }),
    );

    await expect(clocked.createApplication(app({ name: 'Orphan' }))).rejects.toMatchObject({
      reason: 'duplicate_name',
    });
    now += 5000;
    await expect(clocked.createApplication(app({ name: 'Orphan' }))).resolves.toMatchObject({
      name: 'Orphan',
    });
  });

  it('refuses an invalid body and an invalid id', async () => {
    await expect(store.createApplication(app({ contactEmail: 'nope' }))).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(store.getApplication('not-a-uuid')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.updateApplication('00000000-0000-4000-8000-000000000000', {})).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('keeps the given id and times of a seed application', async () => {
    const seed = seedRegistry.applications[0] as Application;

    const created = await store.createApplication(seed);

    expect(created).toEqual(seed);
    await expect(store.createApplication({ ...seed, name: 'Different' })).rejects.toMatchObject({
      reason: 'already_exists',
    });
    await expect(store.createApplication(app({ name: seed.name.toUpperCase() }))).rejects.toMatchObject({
      reason: 'duplicate_name',
    });
  });
});
