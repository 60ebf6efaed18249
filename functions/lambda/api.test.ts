/**
 * The API Lambda's composition over real DynamoDB calls (dynalite) and a mocked Timestream: the same
 * stores and adapters the deployed function uses, behind API Gateway HTTP API (payload 2.0) events.
 */
import { QueryCommand, TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { seedRegistry } from '../../local/dynamodb/seed.js';
import { seedRegistry as seedData } from '../../registry-data/index.js';
import { DynamoDeviceStore, DynamoRegistryStore } from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore, StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import { apiEvent, type TestRequest } from '../handlers/api/test-support.js';
import type { TableNames } from '../shared/tables.js';
import { LAMBDA_ENV, silentObservability } from './test-support.js';

let createApiLambda: typeof import('./api.js').createApiLambda;
let dynamo: TestDynamo;
let tables: TableNames;
let handler: ReturnType<typeof import('./api.js').createApiLambda>;
const timestream = mockClient(TimestreamQueryClient);
const NOW = Date.now();

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  // The module's cold start reads the environment and creates its clients (no call is made).
  ({ createApiLambda } = await import('./api.js'));
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await dynamo.close();
});
beforeEach(async () => {
  timestream.reset();
  tables = await dynamo.freshTables();
  await seedRegistry({ registry: new DynamoRegistryStore({ client: dynamo.client, tables }) }, seedData);
  handler = createApiLambda({
    dynamo: dynamo.client,
    timestream: new TimestreamQueryClient({ region: 'eu-west-1' }),
    tables,
    timestreamDatabase: 'iot-cloud-dev',
    timestreamTable: 'telemetry',
    version: '0.1.0-test',
    observability: silentObservability(),
    registryRefreshMs: 60_000,
    now: () => NOW,
  });
});

async function call(request: TestRequest) {
  const result = await handler(apiEvent(request));
  return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
}

const registration = {
  name: 'Cloud Console',
  developer: 'Ops',
  contactEmail: 'ops@example.net',
  platform: 'web',
  category: 'monitoring',
  deviceTypes: ['smart_meter'],
  version: '1.0.0',
};

describe('API Lambda', () => {
  it('refuses a write that arrives without the JWT authorizer claims, accepts one with them', async () => {
    const request = {
      method: 'POST',
      path: '/api/applications',
      body: JSON.stringify(registration),
      headers: { 'content-type': 'application/json' },
    };

    expect(await call(request)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const created = await call({ ...request, claims: { sub: 'cognito-user-1' } });
    expect(created).toMatchObject({ status: 201, body: { name: 'Cloud Console' } });
    const listed = await call({ method: 'GET', path: '/api/applications?deviceType=smart_meter' });
    expect(listed.body.items.map((a: { name: string }) => a.name)).toContain('Cloud Console');
    expect(JSON.stringify(listed.body)).not.toContain('@example');
  });

  it('lists devices from the devices table with their status', async () => {
    const devices = new DynamoDeviceStore({ client: dynamo.client, tableName: tables.devices });
    await devices.recordSeen({ deviceId: 'meter-1', deviceType: 'smart_meter', time: NOW - 1000, count: 3 });

    const answer = await call({ method: 'GET', path: '/api/devices?deviceType=smart_meter' });

    expect(answer.body.items).toEqual([
      expect.objectContaining({ deviceId: 'meter-1', messageCount: 3, status: 'online' }),
    ]);
  });

  it('reads telemetry from Timestream with the checked query', async () => {
    timestream.on(QueryCommand).resolves({
      ColumnInfo: [
        { Name: 'time_ms', Type: { ScalarType: 'BIGINT' } },
        { Name: 'value', Type: { ScalarType: 'DOUBLE' } },
        { Name: 'suspect_measures', Type: { ScalarType: 'VARCHAR' } },
      ],
      Rows: [{ Data: [{ ScalarValue: String(NOW - 5000) }, { ScalarValue: '12.5' }, { NullValue: true }] }],
    });

    const answer = await call({ method: 'GET', path: '/api/devices/meter-1/telemetry?measure=demand' });

    expect(answer.body.points).toEqual([
      { time: new Date(NOW - 5000).toISOString(), value: 12.5, quality: 'GOOD' },
    ]);
    const sql = timestream.commandCalls(QueryCommand)[0]?.args[0].input.QueryString ?? '';
    expect(sql).toContain(`FROM "iot-cloud-dev"."telemetry" WHERE device_id = 'meter-1'`);
  });

  it('reports measured stats from the pipeline-stats table', async () => {
    const stats = new DynamoPipelineStatsStore({
      client: dynamo.client,
      tableName: tables.pipelineStats,
      now: () => NOW,
    });
    await stats.flush(
      new StatsBatch()
        .raw(NOW - 30_000, 4)
        .deadLetter(NOW - 30_000, 'INVALID_JSON')
        .latency(NOW - 30_000, 180)
        .latency(NOW - 30_000, 190),
    );

    const answer = await call({ method: 'GET', path: '/api/stats?window=15m' });

    expect(answer).toMatchObject({ status: 200, body: { windowMinutes: 15, totals: { raw: 4, dlq: 1 } } });
    expect(answer.body.pipeline.latencyMs.samples).toBe(2);
    expect(answer.body.pipeline.latencyMs.p50).toBeGreaterThanOrEqual(180);
    expect(answer.body.pipeline).not.toHaveProperty('consumerLag');
  });

  it('fails its cold start naming a missing variable', async () => {
    vi.stubEnv('TIMESTREAM_TABLE', '');
    vi.resetModules();
    try {
      await expect(import('./api.js')).rejects.toThrow('environment variable TIMESTREAM_TABLE is not set');
    } finally {
      vi.stubEnv('TIMESTREAM_TABLE', LAMBDA_ENV.TIMESTREAM_TABLE ?? 'telemetry');
    }
  });

  it('reports health from the registry table', async () => {
    expect(await call({ method: 'GET', path: '/api/health' })).toMatchObject({
      status: 200,
      body: { status: 'ok', version: '0.1.0-test', components: { registry: 'ok' } },
    });
  });
});
