/**
 * The local ingest path, IoT Core + topic rule + SQS in AWS: device messages arrive at an MQTT broker
 * (embedded aedes, or an external broker such as Mosquitto), the ingest rule projects each one into an
 * envelope, and envelopes are handed to the same ingest-bridge handler in SQS-shaped batches.
 *
 * An acknowledgement means stored. The embedded broker acknowledges a QoS 1 publish only once the
 * bridge has appended it to the stream (the local log resolves after fsync; Kafka after its acks):
 * aedes runs `authorizePublish` before it writes the PUBACK (aedes lib/handlers/publish.js: authorize,
 * then PUBACK, then hand on), so the append happens there. With an external broker the platform's
 * client holds each message's PUBACK back in `handleMessage` the same way, on a persistent session.
 * Group commit: publishes that arrive while the bridge is busy share its next call (one fsync per
 * partition); a device waits for its PUBACK while the log is behind, which is the back-pressure.
 *
 * Nothing is acknowledged and forgotten: a publish over IoT Core's payload limit is refused (the client
 * is disconnected: MQTT 3.1.1 has no negative PUBACK), a topic no rule matches goes to the dead-letter
 * topic with its reason, and a record the bridge keeps refusing is retried alone (so the messages
 * behind it flow on) and then dead-lettered; if even that fails the publish is refused, not
 * acknowledged.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import mqtt from 'mqtt';
import { toDlqRecord } from '../functions/core/dlq.js';
import type { StreamRecord } from '../functions/ports/stream.js';
import { IOT_CORE_MAX_PAYLOAD_BYTES } from '../functions/shared/aws-limits.js';
import { INGEST_RULE, mappedTopicRules } from '../functions/shared/iot-rules.js';
import { type CompiledRule, compileRule } from './rule-runner.js';

export type BridgeHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface MqttIngestOptions {
  readonly bridge: BridgeHandler;
  /** Appends dead letters (DlqRecord JSON) to the dead-letter topic; resolves once they are durable. */
  readonly deadLetter: (records: StreamRecord[]) => Promise<void>;
  /** Embedded broker port on 127.0.0.1 (0 = any free port); ignored with `externalBroker`. */
  readonly port?: number;
  /** Use this broker (mqtt://host:port) instead of the embedded one. */
  readonly externalBroker?: string;
  /**
   * Client id of the platform's persistent session on the external broker: the broker keeps the
   * messages that arrive while the platform is down for this id (default: a random one per start).
   */
  readonly sessionClientId?: string;
  readonly batchSize?: number;
  /** Bridge invocations in flight at once, like concurrent Lambda invocations (default 8). */
  readonly concurrency?: number;
  /** Bridge calls per record before it is dead-lettered (default 3). */
  readonly maxAttempts?: number;
  /** Wait before a refused record is tried again, as SQS's visibility timeout (default 200 ms). */
  readonly retryDelayMs?: number;
  /** A publish waiting longer than this for the stream makes `health()` report ingest as stuck (5 s). */
  readonly stuckAfterMs?: number;
  /**
   * A subscriber whose socket has this many bytes waiting to be written is disconnected (default
   * 1 MiB), so one that stops reading cannot hold up the publishers (aedes waits for each delivery).
   */
  readonly maxSubscriberBacklogBytes?: number;
  readonly onError?: (error: Error) => void;
  /**
   * Ingest mappings (issue 14): the topic filters the registry's mappings declare, read on
   * each publish no other rule matches, so a mapping added through the API is routed without a restart
   * (with an external broker, only the filters known at start are subscribed to).
   */
  readonly mappingTopics?: () => readonly string[];
}

export type IngestHealth = { readonly state: 'ok' } | { readonly state: 'stuck'; readonly detail: string };

export interface MqttIngest {
  /** Where devices connect. */
  readonly url: string;
  readonly counters: {
    /** Publishes the ingest rule matched. */
    received: number;
    /** Envelopes the bridge appended. */
    forwarded: number;
    /** Bridge refusals that were retried. */
    retried: number;
    /** Publishes stored in the dead-letter topic instead (topic not routed, refused past retries). */
    deadLettered: number;
    /** Publishes refused at the protocol level (client disconnected, no PUBACK). */
    refused: number;
    /** Subscribers disconnected because they stopped reading. */
    droppedSubscribers: number;
  };
  /** Publishes waiting for the stream (queued, in a bridge call, or retrying). */
  pending(): number;
  health(): IngestHealth;
  /**
   * Stops taking connections and publishes (new ones are refused, unacknowledged), waits until every
   * publish already taken is durable and acknowledged, then closes the broker or the client.
   */
  close(): Promise<void>;
}

const QUEUE_ARN = 'arn:aws:sqs:local:000000000000:iot-cloud-ingest-buffer';
const DEFAULT_MAX_SUBSCRIBER_BACKLOG_BYTES = 1024 * 1024;
/** A subscriber whose socket has not drained for this long is dropped. */
const SUBSCRIBER_STALL_MS = 1000;
/** aedes' own backstop for a socket that never drains (its default is 60 s). */
const SUBSCRIBER_DRAIN_TIMEOUT_MS = 5000;
/** Time the clients get to read their last PUBACKs before their sockets are destroyed on close. */
const CLOSE_GRACE_MS = 500;

function sqsRecord(body: string, sentAt: number): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: 'local',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentAt),
      SenderId: 'local-iot-rule',
      ApproximateFirstReceiveTimestamp: String(sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'local',
  };
}

/** A publish on its way to the stream; `settle` acknowledges it (or refuses it, with an error). */
interface Pending {
  readonly record: SQSRecord;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly receivedAt: number;
  attempts: number;
  readonly settle: (error?: Error) => void;
}

class RefusedPublishError extends Error {
  override readonly name = 'RefusedPublishError';
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

export async function startMqttIngest(options: MqttIngestOptions): Promise<MqttIngest> {
  const rule = compileRule(INGEST_RULE);
  // Ingest mappings (issue 14): the mapped-topic rules, recompiled when the declared filters change.
  let mapped: { key: string; rules: readonly CompiledRule[] } = { key: '', rules: [] };
  const mappedRules = (): readonly CompiledRule[] => {
    const filters = options.mappingTopics?.() ?? [];
    const key = filters.join('\n');
    if (key !== mapped.key) {
      try {
        mapped = { key, rules: mappedTopicRules(filters).map(compileRule) };
      } catch (error) {
        // Overlapping filters: keep routing with the previous rules, and say why.
        options.onError?.(asError(error));
        mapped = { key, rules: mapped.rules };
      }
    }
    return mapped.rules;
  };
  const evaluate = (input: Parameters<CompiledRule['evaluate']>[0]) => {
    const envelope = rule.evaluate(input);
    if (envelope) return envelope;
    for (const extra of mappedRules()) {
      const projected = extra.evaluate(input);
      if (projected) return projected;
    }
    return undefined;
  };
  const batchSize = options.batchSize ?? 100;
  const concurrency = options.concurrency ?? 8;
  const maxAttempts = options.maxAttempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const stuckAfterMs = options.stuckAfterMs ?? 5000;
  const counters = {
    received: 0,
    forwarded: 0,
    retried: 0,
    deadLettered: 0,
    refused: 0,
    droppedSubscribers: 0,
  };
  const queue: Pending[] = [];
  /** Everything taken and not yet settled, in arrival order (a Set keeps insertion order). */
  const unsettled = new Set<Pending>();
  const work = new Set<Promise<void>>();
  let workers = 0;
  let scheduled = false;
  let closed = false;
  let drainWaiters: (() => void)[] = [];

  const track = (promise: Promise<void>) => {
    work.add(promise);
    void promise.finally(() => {
      work.delete(promise);
      if (unsettled.size === 0 && work.size === 0) {
        const waiters = drainWaiters;
        drainWaiters = [];
        for (const resolve of waiters) resolve();
      }
    });
  };
  const drained = () =>
    unsettled.size === 0 && work.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => drainWaiters.push(resolve));

  const settle = (pending: Pending, error?: Error) => {
    unsettled.delete(pending);
    pending.settle(error);
  };

  /** Dead-letters a publish; resolves once the dead letter is durable. */
  const deadLetter = async (
    message: { topic: string; payload: Uint8Array; receivedAt: number },
    rejection: Parameters<typeof toDlqRecord>[0]['rejection'],
  ) => {
    // Keep as much of the original as a record may hold: IoT Core's limit bounds every payload that
    // reaches a dead letter here (an external broker may pass larger ones: their head is kept).
    const original =
      message.payload.byteLength > IOT_CORE_MAX_PAYLOAD_BYTES
        ? message.payload.subarray(0, IOT_CORE_MAX_PAYLOAD_BYTES)
        : message.payload;
    const letter = {
      ...toDlqRecord({
        rejection,
        original,
        receivedAt: message.receivedAt,
        failedAt: Date.now(),
        stage: 'ingest-rule',
        source: { mqttTopic: message.topic },
      }),
      original_size_bytes: message.payload.byteLength,
    };
    await options.deadLetter([{ key: 'unknown', value: Buffer.from(JSON.stringify(letter)) }]);
    counters.deadLettered++;
  };

  /** One bridge call; records it refuses are retried alone after a delay, then dead-lettered. */
  const deliver = async (batch: Pending[]): Promise<void> => {
    let response: SQSBatchResponse;
    let failure: Error | undefined;
    try {
      response = await options.bridge({ Records: batch.map((p) => p.record) });
    } catch (error) {
      failure = asError(error);
      response = { batchItemFailures: batch.map((p) => ({ itemIdentifier: p.record.messageId })) };
    }
    const failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const pending of batch) {
      if (!failedIds.has(pending.record.messageId)) {
        counters.forwarded++;
        settle(pending);
        continue;
      }
      pending.attempts++;
      if (pending.attempts >= maxAttempts) {
        track(giveUp(pending, failure));
        continue;
      }
      counters.retried++;
      // Alone, so one record the stream refuses does not hold back the ones it came with.
      track(new Promise<void>((resolve) => setTimeout(resolve, retryDelayMs)).then(() => deliver([pending])));
    }
  };

  const giveUp = async (pending: Pending, failure: Error | undefined) => {
    const detail = `the ingest bridge refused it ${pending.attempts} times${failure ? `: ${failure.message}` : ''}`;
    try {
      await deadLetter(pending, { reason: 'PROCESSING_FAILED', detail });
      options.onError?.(new Error(`dead-lettered a publish on ${pending.topic}: ${detail}`));
      settle(pending);
    } catch (error) {
      // Not stored anywhere: refuse it, so the client keeps it and sends it again.
      options.onError?.(
        new Error(`refused a publish on ${pending.topic}: ${detail}; the dead-letter topic refused it too`),
      );
      counters.refused++;
      settle(pending, new RefusedPublishError(`not stored: ${asError(error).message}`));
    }
  };

  // Group commit: whatever arrived while the workers were busy goes out in their next calls.
  const pump = () => {
    scheduled = false;
    while (workers < concurrency && queue.length > 0) {
      const batch = queue.splice(0, batchSize);
      workers++;
      track(
        deliver(batch).finally(() => {
          workers--;
          pump();
        }),
      );
    }
  };

  /**
   * Takes one publish; resolves once it is durable (in the stream, or as a dead letter), rejects when
   * it is refused (then it must not be acknowledged).
   */
  const take = (topic: string, payload: Uint8Array, clientId?: string): Promise<void> => {
    if (closed) return Promise.reject(new RefusedPublishError('the platform is stopping'));
    const receivedAt = Date.now();
    const envelope = evaluate({ topic, payload, receivedAt, ...(clientId ? { clientId } : {}) });
    if (!envelope) {
      const pending = deadLetter(
        { topic, payload, receivedAt },
        {
          reason: 'TOPIC_NOT_ROUTED',
          detail: `no ingest rule matches topic "${topic.slice(0, 256)}" (devices publish to ${[INGEST_RULE.topicFilter, ...mappedRules().map((r) => r.declaration.topicFilter)].join(', ')})`,
        },
      );
      track(pending.catch(() => undefined));
      return pending;
    }
    if (payload.byteLength > IOT_CORE_MAX_PAYLOAD_BYTES) {
      // Only an external broker lets one through (the embedded one refuses it before the rule).
      const pending = deadLetter(
        { topic, payload, receivedAt },
        {
          reason: 'PROCESSING_FAILED',
          detail: `payload is ${payload.byteLength} bytes, over IoT Core's ${IOT_CORE_MAX_PAYLOAD_BYTES}; the first ${IOT_CORE_MAX_PAYLOAD_BYTES} are kept`,
        },
      );
      track(pending.catch(() => undefined));
      return pending;
    }
    counters.received++;
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = {
        record: sqsRecord(JSON.stringify(envelope), receivedAt),
        topic,
        payload,
        receivedAt,
        attempts: 0,
        settle: (error) => (error ? reject(error) : resolve()),
      };
      unsettled.add(pending);
      queue.push(pending);
      // The publishes of one socket read arrive in one turn of the event loop: let them share a call.
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    });
  };

  const health = (): IngestHealth => {
    const oldest = unsettled.values().next().value;
    if (oldest === undefined) return { state: 'ok' };
    const waitedMs = Date.now() - oldest.receivedAt;
    if (waitedMs <= stuckAfterMs && oldest.attempts === 0) return { state: 'ok' };
    return {
      state: 'stuck',
      detail: `${unsettled.size} publishes wait for the stream; the oldest (${oldest.topic}) for ${waitedMs} ms after ${oldest.attempts} refused attempt(s)`,
    };
  };

  if (options.externalBroker) {
    // A persistent session (clean: false) with QoS 1: the broker keeps what arrives while the platform
    // is down and sends it again until the platform acknowledges it, which it does once it is stored.
    const client = await mqtt.connectAsync(options.externalBroker, {
      clientId: options.sessionClientId ?? `iot-cloud-ingest-${randomUUID().slice(0, 8)}`,
      clean: false,
      reconnectPeriod: 1000,
    });
    client.on('error', (error) => options.onError?.(error));
    // mqtt.js sends a message's PUBACK when this calls back; it takes the next message after that,
    // so with a broker the platform stores one message at a time (see docs/local-durability.md).
    client.handleMessage = (packet, callback) => {
      if (packet.cmd !== 'publish') return callback();
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      take(packet.topic, payload).then(
        () => callback(),
        (error: unknown) => callback(asError(error)),
      );
    };
    await client.subscribeAsync(
      [INGEST_RULE.topicFilter, ...mappedRules().map((r) => r.declaration.topicFilter)],
      { qos: 1 },
    );
    return {
      url: options.externalBroker,
      counters,
      pending: () => unsettled.size,
      health,
      close: async () => {
        closed = true;
        await drained();
        await client.endAsync();
      },
    };
  }

  const maxBacklog = options.maxSubscriberBacklogBytes ?? DEFAULT_MAX_SUBSCRIBER_BACKLOG_BYTES;
  const dropped = new WeakSet<Client>();
  const dropSubscriber = (client: Client, reason: string) => {
    if (dropped.has(client)) return;
    dropped.add(client);
    counters.droppedSubscribers++;
    options.onError?.(new Error(`disconnected subscriber ${client.id}: ${reason}`));
    client.conn.destroy();
  };
  const broker = await Aedes.createBroker({
    drainTimeout: SUBSCRIBER_DRAIN_TIMEOUT_MS,
    // Runs before aedes writes the PUBACK (and before QoS 0 and 2 publishes are handed on): a publish
    // is acknowledged only once it is durable; an error disconnects the client, unacknowledged.
    authorizePublish: (client, packet, callback) => {
      if (!client) return callback(null);
      if (packet.topic.startsWith('$SYS')) return callback(new Error('$SYS topics are reserved'));
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      if (payload.byteLength > IOT_CORE_MAX_PAYLOAD_BYTES) {
        counters.refused++;
        const reason = `payload of ${payload.byteLength} bytes is over IoT Core's limit of ${IOT_CORE_MAX_PAYLOAD_BYTES}`;
        options.onError?.(
          new Error(`refused a publish of ${client.id} on ${packet.topic.slice(0, 256)}: ${reason}`),
        );
        return callback(new RefusedPublishError(reason));
      }
      take(packet.topic, payload, client.id).then(
        () => callback(null),
        (error: unknown) => callback(asError(error)),
      );
    },
    // A subscriber far behind gets nothing more: it is dropped (see the sweep below).
    authorizeForward: (client, packet) => {
      const conn = client.conn as net.Socket;
      if (conn.writableLength <= maxBacklog) return packet;
      setImmediate(() => dropSubscriber(client, `${conn.writableLength} bytes unread`));
      return null;
    },
  });
  // aedes waits for every delivery before it takes the publisher's next packets, so a subscriber that
  // stops reading would hold up every device (for aedes' drain timeout, 60 s by default). One whose
  // socket has not drained for SUBSCRIBER_STALL_MS is dropped.
  const stalledSince = new Map<Client, number>();
  const connected = new Set<Client>();
  broker.on('client', (client) => connected.add(client));
  broker.on('clientDisconnect', (client) => {
    connected.delete(client);
    stalledSince.delete(client);
  });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const client of connected) {
      const conn = client.conn as net.Socket;
      if (!conn.writableNeedDrain) {
        stalledSince.delete(client);
        continue;
      }
      const since = stalledSince.get(client) ?? now;
      stalledSince.set(client, since);
      if (now - since >= SUBSCRIBER_STALL_MS) {
        stalledSince.delete(client);
        dropSubscriber(client, `its socket has not drained for ${now - since} ms`);
      }
    }
  }, SUBSCRIBER_STALL_MS / 4);
  sweep.unref();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = options.port ?? 1883;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `MQTT port ${port} on 127.0.0.1 is already in use (choose another with --mqtt-port, or use --broker)`,
            )
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `mqtt://127.0.0.1:${boundPort}`,
    counters,
    pending: () => unsettled.size,
    health,
    close: async () => {
      // New connections and publishes are refused from here; the ones taken are stored and acknowledged.
      closed = true;
      clearInterval(sweep);
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await drained();
      // Let the clients read their last PUBACKs, then close what is left.
      for (const socket of sockets) socket.end();
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const socket of sockets) socket.destroy();
      await serverClosed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
