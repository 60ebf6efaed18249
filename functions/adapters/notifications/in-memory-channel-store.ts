/**
 * An in-memory NotificationChannelStore: for unit tests of the API and the notifier (the DynamoDB
 * store is tested on dynalite). Same contract: deliveries newest first, one entry per (channel, event).
 */
import {
  NotificationChannel,
  type NotificationDelivery,
  type StoredNotificationChannel,
} from '../../core/contract/notification-channel.js';
import type { NotificationChannelStore } from '../../ports/notifications.js';

export class InMemoryNotificationChannelStore implements NotificationChannelStore {
  private readonly channels = new Map<string, StoredNotificationChannel>();
  private readonly records = new Map<string, Map<string, NotificationDelivery>>();

  constructor(private readonly now: () => number = Date.now) {}

  async put(channelId: string, channel: NotificationChannel) {
    const created = !this.channels.has(channelId);
    const stored = {
      ...NotificationChannel.parse(channel),
      channelId,
      updatedAt: new Date(this.now()).toISOString(),
    };
    this.channels.set(channelId, stored);
    return { channel: stored, created };
  }

  async get(channelId: string) {
    return this.channels.get(channelId);
  }

  async list() {
    return [...this.channels.values()];
  }

  async delete(channelId: string) {
    this.records.delete(channelId);
    return this.channels.delete(channelId);
  }

  async recordDelivery(delivery: NotificationDelivery) {
    const record = this.records.get(delivery.channelId) ?? new Map<string, NotificationDelivery>();
    record.set(`${delivery.eventAt}#${delivery.alertId}`, delivery);
    this.records.set(delivery.channelId, record);
  }

  async deliveries(channelId: string, limit: number) {
    const record = this.records.get(channelId) ?? new Map<string, NotificationDelivery>();
    return [...record.entries()]
      .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
      .slice(0, limit)
      .map(([, delivery]) => delivery);
  }
}
