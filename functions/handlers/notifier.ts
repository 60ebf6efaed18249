/**
 * The notifier: sends alert events (raises and clears) to the notification channels that want them,
 * at least once, with retries and backoff, and keeps each delivery's outcome (with its last error when
 * it failed for good) in the channel's deliveries record.
 *
 * It runs apart from the alert path, which never waits on it: locally as its own consumer group on
 * `iot.alerts`, in AWS as a Lambda on the alerts table's stream. A receiver that keeps failing costs
 * its own deliveries a bounded number of attempts and is then recorded as failed; other channels and
 * other devices are delivered concurrently meanwhile. Events of one device reach one channel in order
 * (a raise before its clear). A batch completes once every delivery is sent or given up and recorded;
 * only a failure to record (the store down) fails the batch, so the runtime redelivers it.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type {
  NotificationDelivery,
  StoredNotificationChannel,
} from '../core/contract/notification-channel.js';
import {
  type AlertEvent,
  channelWants,
  DEFAULT_RETRY_POLICY,
  parseAlertEvent,
  type RetryPolicy,
  retryDelayMs,
  transitionOf,
} from '../core/notifications.js';
import {
  type ChannelSenders,
  type NotificationChannelStore,
  PermanentDeliveryError,
} from '../ports/notifications.js';
import type { KafkaEvent, KafkaHandler } from '../ports/stream.js';
import { eachRecord, recordValue } from './kafka-records.js';

export interface NotifierDependencies {
  readonly channels: Pick<NotificationChannelStore, 'list' | 'recordDelivery'>;
  readonly senders: ChannelSenders;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retry?: RetryPolicy;
  /** How long the channel list is reused before it is read again. @default 10 s */
  readonly channelCacheMs?: number;
  /** Deliveries in flight at once, over all channels. @default 16 */
  readonly concurrency?: number;
  /** Told about each finished delivery (the metrics' deliveries and failures counters). */
  /** Told about each finished delivery, with the channel it went to (its type labels the metrics). */
  readonly onDelivery?: (delivery: NotificationDelivery, channel: StoredNotificationChannel) => void;
  /** Told about events that are not alert events (skipped). Never given a secret or a URL. */
  readonly onSkipped?: (reason: string) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface NotifyOutcome {
  readonly delivered: number;
  readonly failed: number;
}

const MAX_ERROR_LENGTH = 500;

const errorText = (error: unknown): string => {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 3)}...` : text;
};

/** A small semaphore: at most `limit` tasks run at once. */
function limiter(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** What one delivery needs: the senders and the store, the retry policy and clock, the shared limit. */
interface DeliveryContext {
  readonly channels: Pick<NotificationChannelStore, 'recordDelivery'>;
  readonly senders: ChannelSenders;
  readonly retry: RetryPolicy;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly limit: ReturnType<typeof limiter>;
  readonly onDelivery?: NotifierDependencies['onDelivery'];
}

/** Attempts one delivery until it succeeds, fails for good, or runs out of attempts; records it. */
async function deliver(
  context: DeliveryContext,
  channel: StoredNotificationChannel,
  event: AlertEvent,
): Promise<NotificationDelivery> {
  const { now, retry } = context;
  const firstAttemptAt = new Date(now()).toISOString();
  let attempts = 0;
  let lastError: string | undefined;
  for (;;) {
    attempts++;
    try {
      await context.limit(() => context.senders[channel.type](channel, event));
      lastError = undefined;
      break;
    } catch (error) {
      lastError = errorText(error);
      if (error instanceof PermanentDeliveryError || attempts >= retry.maxAttempts) break;
      await context.sleep(retryDelayMs(attempts, retry, context.random));
    }
  }
  const delivery: NotificationDelivery = {
    channelId: channel.channelId,
    alertId: event.alert_id,
    transition: transitionOf(event),
    deviceId: event.device_id,
    severity: event.severity,
    status: lastError === undefined ? 'delivered' : 'failed',
    attempts,
    ...(lastError === undefined ? {} : { lastError }),
    eventAt: event.raised_at ?? firstAttemptAt,
    firstAttemptAt,
    completedAt: new Date(now()).toISOString(),
  };
  await context.channels.recordDelivery(delivery);
  context.onDelivery?.(delivery, channel);
  return delivery;
}

/** The events each channel wants, one sequence per (channel, device), each in the events' order. */
function deliverySequences(
  events: readonly AlertEvent[],
  channels: readonly StoredNotificationChannel[],
): { channel: StoredNotificationChannel; events: AlertEvent[] }[] {
  const sequences = new Map<string, { channel: StoredNotificationChannel; events: AlertEvent[] }>();
  for (const event of events) {
    for (const channel of channels) {
      if (!channelWants(channel, event)) continue;
      const key = `${channel.channelId}\u0000${event.device_id}`;
      const sequence = sequences.get(key) ?? { channel, events: [] };
      sequence.events.push(event);
      sequences.set(key, sequence);
    }
  }
  return [...sequences.values()];
}

/** Parses raw values into alert events; what is not one is reported and skipped. */
function eventsOf(values: Iterable<unknown>, onSkipped?: (reason: string) => void): AlertEvent[] {
  const events: AlertEvent[] = [];
  for (const value of values) {
    const parsed = parseAlertEvent(value);
    if ('event' in parsed) events.push(parsed.event);
    else onSkipped?.(`not an alert event: ${parsed.error}`);
  }
  return events;
}

/** The JSON values of `iot.alerts` records; a record that is not JSON is reported and skipped. */
function kafkaValues(event: KafkaEvent, onSkipped?: (reason: string) => void): unknown[] {
  const values: unknown[] = [];
  for (const record of eachRecord(event)) {
    try {
      values.push(JSON.parse(recordValue(record).toString('utf8')));
    } catch {
      onSkipped?.(`iot.alerts record ${record.partition}/${record.offset} is not JSON`);
    }
  }
  return values;
}

/**
 * The alert bodies of the alerts table's stream. Only INSERTs of alert items are notified (the event
 * source's filter already keeps to those; checked again here): MODIFY (acknowledgements, clears kept
 * on the raise's item) and REMOVE (TTL) are not alert events, nor are claim and state items.
 */
function dynamoStreamValues(event: DynamoDBStreamEvent, onSkipped?: (reason: string) => void): unknown[] {
  const values: unknown[] = [];
  for (const record of event.Records) {
    if (record.eventName !== 'INSERT') continue;
    const body = record.dynamodb?.NewImage?.body?.S;
    if (body === undefined || record.dynamodb?.NewImage?.alertId?.S === undefined) continue;
    try {
      values.push(JSON.parse(body));
    } catch {
      onSkipped?.(`stream record ${record.eventID ?? '?'}: body is not JSON`);
    }
  }
  return values;
}

export function createNotifier(dependencies: NotifierDependencies) {
  const now = dependencies.now ?? Date.now;
  const cacheMs = dependencies.channelCacheMs ?? 10_000;
  const { onSkipped } = dependencies;
  const context: DeliveryContext = {
    channels: dependencies.channels,
    senders: dependencies.senders,
    retry: dependencies.retry ?? DEFAULT_RETRY_POLICY,
    now,
    sleep: dependencies.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    random: dependencies.random ?? Math.random,
    limit: limiter(dependencies.concurrency ?? 16),
    ...(dependencies.onDelivery ? { onDelivery: dependencies.onDelivery } : {}),
  };
  let cached: { channels: StoredNotificationChannel[]; readAt: number } | undefined;

  const currentChannels = async () => {
    if (!cached || now() - cached.readAt >= cacheMs) {
      cached = { channels: await dependencies.channels.list(), readAt: now() };
    }
    return cached.channels;
  };

  /** Notifies every channel that wants each event; resolves once all are delivered or given up. */
  async function notify(events: readonly AlertEvent[]): Promise<NotifyOutcome> {
    if (events.length === 0) return { delivered: 0, failed: 0 };
    const channels = await currentChannels();
    // One sequence per (channel, device): in order within it, concurrent across them.
    const outcomes = await Promise.all(
      deliverySequences(events, channels).map(async ({ channel, events: inOrder }) => {
        const done: NotificationDelivery[] = [];
        for (const event of inOrder) done.push(await deliver(context, channel, event));
        return done;
      }),
    );
    const all = outcomes.flat();
    return {
      delivered: all.filter((d) => d.status === 'delivered').length,
      failed: all.filter((d) => d.status === 'failed').length,
    };
  }

  /** Local runtime: a consumer of `iot.alerts` (the Kafka event shape). */
  const kafkaHandler: KafkaHandler = async (event: KafkaEvent) => {
    await notify(eventsOf(kafkaValues(event, onSkipped), onSkipped));
    return { batchItemFailures: [] };
  };

  /** AWS: the alerts table's stream (alert items' INSERTs only, see dynamoStreamValues). */
  const dynamoStreamHandler = async (event: DynamoDBStreamEvent): Promise<NotifyOutcome> =>
    notify(eventsOf(dynamoStreamValues(event, onSkipped), onSkipped));

  return { notify, kafkaHandler, dynamoStreamHandler };
}

export type Notifier = ReturnType<typeof createNotifier>;
