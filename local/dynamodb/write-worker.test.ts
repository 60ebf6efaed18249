import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoMessageSampleStore,
  documentClient,
} from '../../functions/adapters/dynamodb/index.js';
import type { Alert } from '../../functions/core/index.js';
import { ensureTables } from './ensure-tables.js';
import { localTableNames } from './table-names.js';
import { type DynamoWriteWorker, startDynamoWriteWorker } from './write-worker-host.js';

const now = Date.now();
const alert: Alert = {
  alert_id: 'msg-1:overcurrent',
  device_id: 'breaker-001',
  device_type: 'smart_breaker',
  rule_id: 'overcurrent',
  rule_name: 'Overcurrent',
  path: 'current',
  operator: 'gt',
  value: 120,
  threshold: 100,
  unit: 'A',
  severity: 'high',
  triggered_at: new Date(now - 1000).toISOString(),
  raised_at: new Date(now).toISOString(),
  message_id: 'msg-1',
};

let worker: DynamoWriteWorker;
const tables = localTableNames('worker-test');

beforeAll(async () => {
  worker = await startDynamoWriteWorker();
  await ensureTables(worker.client, tables);
  await worker.useTables(tables);
});
afterAll(async () => {
  await worker.close();
});

describe('the DynamoDB write worker', () => {
  it('writes alerts, samples and device bookkeeping that this thread reads back', async () => {
    await worker.addAlerts([alert, alert]);
    await worker.addSample('raw', { id: 'raw.0.1', time: now, deviceId: 'breaker-001', body: { a: 1 } });
    await worker.recordSeen([{ deviceId: 'breaker-001', deviceType: 'smart_breaker', time: now, count: 3 }]);

    const client = documentClient(worker.client);
    const alerts = await new DynamoAlertStore({ client, tableName: tables.alerts }).recent({ limit: 10 });
    expect(alerts.map((a) => a.alert_id)).toEqual(['msg-1:overcurrent']);
    const samples = await new DynamoMessageSampleStore({ client, tableName: tables.messages }).recent('raw', {
      limit: 10,
    });
    expect(samples.map((s) => s.body)).toEqual([{ a: 1 }]);
    const device = await new DynamoDeviceStore({ client, tableName: tables.devices }).getDevice(
      'breaker-001',
    );
    expect(device?.messageCount).toBe(3);
  });

  it('rejects a bad write with the store’s reason, and keeps serving', async () => {
    await expect(worker.addSample('raw', { id: 'not valid!', time: now, body: {} })).rejects.toThrow(
      /invalid sample id/,
    );
    await expect(
      worker.recordSeen([
        { deviceId: 'breaker-002', deviceType: 'smart_breaker', time: now, count: 1 },
        { deviceId: 'Bad Id', deviceType: 'smart_breaker', time: now, count: 1 },
      ]),
    ).rejects.toThrow(/Bad Id/);
    const device = await new DynamoDeviceStore({
      client: documentClient(worker.client),
      tableName: tables.devices,
    }).getDevice('breaker-002');
    expect(device?.messageCount).toBe(1);
  });
});
