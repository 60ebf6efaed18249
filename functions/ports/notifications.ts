/**
 * Ports of notification channels: where channels and their deliveries are kept, and how one channel
 * type sends one alert event. The core (functions/core/notifications.ts) decides what is sent; the
 * notifier (functions/handlers/notifier.ts) drives these.
 */
import type {
  NotificationChannel,
  NotificationChannelType,
  NotificationDelivery,
  StoredNotificationChannel,
} from '../core/contract/notification-channel.js';
import type { AlertEvent } from '../core/notifications.js';

export interface NotificationChannelStore {
  /** Creates or replaces a channel; `created` tells which. */
  put(
    channelId: string,
    channel: NotificationChannel,
  ): Promise<{ channel: StoredNotificationChannel; created: boolean }>;
  get(channelId: string): Promise<StoredNotificationChannel | undefined>;
  list(): Promise<StoredNotificationChannel[]>;
  /** Removes a channel and its deliveries record; false when there was no such channel. */
  delete(channelId: string): Promise<boolean>;
  /**
   * Records the outcome of one event's delivery to one channel: the same (channel, event) recorded
   * again replaces the earlier outcome (a redelivered event is one record).
   */
  recordDelivery(delivery: NotificationDelivery): Promise<void>;
  /** A channel's deliveries, newest first, at most `limit`, expired ones left out. */
  deliveries(channelId: string, limit: number): Promise<NotificationDelivery[]>;
}

/** One attempt to send an event through one channel; throws with a short message on failure. */
export type ChannelSender = (channel: StoredNotificationChannel, event: AlertEvent) => Promise<void>;

export type ChannelSenders = Readonly<Record<NotificationChannelType, ChannelSender>>;

/** A failure that retrying cannot fix (a URL now refused, no topic configured): not retried. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}
