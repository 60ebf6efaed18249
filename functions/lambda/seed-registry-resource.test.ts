import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { DynamoRegistryStore } from '../adapters/dynamodb/index.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import { LAMBDA_ENV, silentObservability } from './test-support.js';

let dynamo: TestDynamo;
let registry: DynamoRegistryStore;
let createSeedRegistryResource: typeof import('./seed-registry-resource.js').createSeedRegistryResource;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createSeedRegistryResource } = await import('./seed-registry-resource.js'));
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await dynamo.close();
});
beforeEach(async () => {
  registry = new DynamoRegistryStore({ client: dynamo.client, tables: await dynamo.freshTables() });
});

function event(requestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/iot-cloud-dev-registry/1',
    RequestId: 'req-1',
    LogicalResourceId: 'RegistrySeed',
    ResourceType: 'Custom::RegistrySeed',
    ResourceProperties: { ServiceToken: 'x', DataHash: 'abc' },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update')
    return {
      ...base,
      RequestType: 'Update',
      PhysicalResourceId: 'iot-cloud-registry-seed',
      OldResourceProperties: { ServiceToken: 'x' },
    };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: 'iot-cloud-registry-seed' };
}

const resource = () =>
  createSeedRegistryResource({ registry, seed: seedRegistry, observability: silentObservability() });

describe('registry seed custom resource', () => {
  it('seeds every device type (with its alert rules) and application on Create', async () => {
    const response = await resource()(event('Create'));

    expect(response.PhysicalResourceId).toBe('iot-cloud-registry-seed');
    expect(response.Data?.CreatedDeviceTypes?.split(',').sort()).toEqual(
      seedRegistry.deviceTypes.map((t) => t.typeId).sort(),
    );
    const stored = await registry.listDeviceTypes();
    expect(stored).toHaveLength(seedRegistry.deviceTypes.length);
    expect(
      stored.find((t) => t.deviceType.typeId === 'environmental_sensor')?.alertRules.length,
    ).toBeGreaterThan(0);
    expect(await registry.listApplications()).toHaveLength(seedRegistry.applications.length);
  });

  it('is idempotent: an Update after a Create writes nothing and reports everything as skipped', async () => {
    await resource()(event('Create'));

    const response = await resource()(event('Update'));

    expect(response.Data?.CreatedDeviceTypes).toBe('');
    expect(response.Data?.CreatedApplications).toBe('');
    expect(response.Data?.SkippedDeviceTypes?.split(',')).toHaveLength(seedRegistry.deviceTypes.length);
    expect(await registry.listApplications()).toHaveLength(seedRegistry.applications.length);
  });

  it('never overwrites a device type edited after the seed', async () => {
    await resource()(event('Create'));
    const before = await registry.getDeviceType('smart_meter');
    await registry.putDeviceType({
      deviceType: {
        ...(before?.deviceType as NonNullable<typeof before>['deviceType']),
        description: 'edited by an operator',
      },
    });

    await resource()(event('Update'));

    const after = await registry.getDeviceType('smart_meter');
    expect(after?.deviceType.description).toBe('edited by an operator');
    expect(after?.deviceType.version).toBe((before?.deviceType.version ?? 0) + 1);
  });

  it('seeds again what was deleted, and only that', async () => {
    await resource()(event('Create'));
    // No active application uses this type, so it may be deleted.
    await registry.deleteDeviceType('f2_access_controller');

    const response = await resource()(event('Update'));

    expect(response.Data?.CreatedDeviceTypes).toBe('f2_access_controller');
    expect(response.Data?.CreatedApplications).toBe('');
  });

  it('keeps the data on Delete', async () => {
    await resource()(event('Create'));

    const response = await resource()(event('Delete'));

    expect(response).toEqual({ PhysicalResourceId: 'iot-cloud-registry-seed' });
    expect(await registry.listDeviceTypes()).toHaveLength(seedRegistry.deviceTypes.length);
  });
});
