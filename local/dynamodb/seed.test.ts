import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRegistryStore, documentClient } from '../../functions/adapters/dynamodb/index.js';
import type { DeviceType } from '../../functions/core/contract/registry.js';
import { seedRegistry as seedData } from '../../registry-data/index.js';
import { type LocalDynamo, startDynalite } from './dynalite.js';
import { ensureTables } from './ensure-tables.js';
import { seedRegistry } from './seed.js';
import { localTableNames } from './table-names.js';

let local: LocalDynamo;
let store: DynamoRegistryStore;
let run = 0;

beforeAll(async () => {
  local = await startDynalite();
});
afterAll(async () => {
  await local.close();
});
beforeEach(async () => {
  const tables = localTableNames(`seed-${run++}`);
  await ensureTables(local.client, tables);
  store = new DynamoRegistryStore({ client: documentClient(local.client), tables });
});

describe('seedRegistry', () => {
  it('writes every seed device type with its alert rules, and the seed applications', async () => {
    const result = await seedRegistry({ registry: store }, seedData);

    expect(result.created.deviceTypes).toEqual(seedData.deviceTypes.map((t) => t.typeId));
    expect(result.created.applications).toHaveLength(seedData.applications.length);
    const breaker = await store.getDeviceType('smart_breaker');
    expect(breaker?.deviceType).toEqual(seedData.deviceTypes.find((t) => t.typeId === 'smart_breaker'));
    expect(breaker?.alertRules).toEqual(
      seedData.alertRules.find((set) => set.deviceType === 'smart_breaker')?.rules,
    );
    expect((await store.activeApplicationsFor('smart_meter')).map((a) => a.name)).toEqual([
      'Energy Analytics',
    ]);
  });

  it('is idempotent', async () => {
    await seedRegistry({ registry: store }, seedData);

    const again = await seedRegistry({ registry: store }, seedData);

    expect(again.created).toEqual({ deviceTypes: [], applications: [] });
    expect(await store.listDeviceTypes()).toHaveLength(seedData.deviceTypes.length);
    expect(await store.listApplications()).toHaveLength(seedData.applications.length);
  });

  it('never overwrites a device type or application edited after seeding', async () => {
    await seedRegistry({ registry: store }, seedData);
    const breaker = seedData.deviceTypes.find((t) => t.typeId === 'smart_breaker') as DeviceType;
    await store.putDeviceType({ deviceType: { ...breaker, name: 'Edited breaker' }, alertRules: [] });
    const app = seedData.applications[0];
    if (!app) throw new Error('the seed has applications');
    await store.updateApplication(app.applicationId, { description: 'Edited.' });

    await seedRegistry({ registry: store }, seedData);

    const stored = await store.getDeviceType('smart_breaker');
    expect(stored?.deviceType).toMatchObject({ name: 'Edited breaker', version: 2 });
    expect(stored?.alertRules).toEqual([]);
    expect((await store.getApplication(app.applicationId))?.description).toBe('Edited.');
  });
});
