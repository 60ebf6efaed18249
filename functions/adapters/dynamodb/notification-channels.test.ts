import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationDelivery } from '../../core/contract/notification-channel.js';
import { DynamoNotificationChannelStore } from './notification-channels.js';
import { startTestDynamo, type TestDynamo } from './test-support.js';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

const store = async (now: () => number = Date.now) =>
  new DynamoNotificationChannelStore({
    client: dynamo.client,
    tableName: (await dynamo.freshTables()).notifications,
    deliveryRetentionSeconds: 60,
    now,
  });

const delivery = (alertId: string, eventAt: string): NotificationDelivery => ({
  channelId: 'ops',
  alertId,
  transition: 'raised',
  deviceId: 'breaker-7',
  severity: 'high',
  status: 'delivered',
  attempts: 1,
  eventAt,
  firstAttemptAt: eventAt,
  completedAt: eventAt,
});

describe('DynamoNotificationChannelStore', () => {
  it('keeps the secret for the senders and lists channels in one query', async () => {
    const channels = await store();
    await channels.put('ops', {
      type: 'webhook',
      url: 'https://h.example.com/',
      secret: 'a-secret-of-16-chars',
      minSeverity: 'low',
    });
    await channels.put('mail', { type: 'sns', minSeverity: 'critical' });

    expect(await channels.get('ops')).toMatchObject({ secret: 'a-secret-of-16-chars' });
    expect((await channels.list()).map((c) => c.channelId).sort()).toEqual(['mail', 'ops']);
  });

  it('records a redelivered event once, newest first, and forgets expired deliveries', async () => {
    let now = Date.parse('2026-12-06T03:00:00Z');
    const channels = await store(() => now);
    await channels.recordDelivery(delivery('a-1', '2026-12-06T03:00:00.000Z'));
    await channels.recordDelivery(delivery('a-2', '2026-12-06T03:00:05.000Z'));
    await channels.recordDelivery({ ...delivery('a-1', '2026-12-06T03:00:00.000Z'), attempts: 2 });

    expect((await channels.deliveries('ops', 10)).map((d) => [d.alertId, d.attempts])).toEqual([
      ['a-2', 1],
      ['a-1', 2],
    ]);
    now += 61_000;
    expect(await channels.deliveries('ops', 10)).toEqual([]);
  });

  it('deletes a channel with its deliveries', async () => {
    const channels = await store();
    await channels.put('ops', { type: 'webhook', url: 'https://h.example.com/', minSeverity: 'low' });
    await channels.recordDelivery(delivery('a-1', '2026-12-06T03:00:00.000Z'));

    expect(await channels.delete('ops')).toBe(true);
    expect(await channels.delete('ops')).toBe(false);
    expect(await channels.deliveries('ops', 10)).toEqual([]);
    expect(await channels.get('ops')).toBeUndefined();
  });

  it('refuses a malformed channel id before any query', async () => {
    const channels = await store();

    await expect(channels.get('../x')).rejects.toThrow(/invalid channel id/);
  });
});
