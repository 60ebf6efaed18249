/**
 * The local ingest path, IoT Core + topic rule + SQS in AWS: device messages arrive at an MQTT broker
 * (embedded aedes, or an external broker such as Mosquitto), the ingest rule projects each one into an
 * envelope, and envelopes are handed to the same ingest-bridge handler in SQS-shaped batches.
 *
 * The buffer stands in for the SQS queue: batches of up to `batchSize`, flushed at least every
 * `batchWindowMs`, and records the bridge reports as failed go back to the front of the queue. It is
 * in memory: a clean stop flushes it; a crash can lose what it holds (at most one batch window).
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Aedes } from 'aedes';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import mqtt from 'mqtt';
import { INGEST_RULE } from '../functions/shared/iot-rules.js';
import { compileRule } from './rule-runner.js';

export type BridgeHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface MqttIngestOptions {
  readonly bridge: BridgeHandler;
  /** Embedded broker port on 127.0.0.1 (0 = any free port); ignored with `externalBroker`. */
  readonly port?: number;
  /** Use this broker (mqtt://host:port) instead of the embedded one. */
  readonly externalBroker?: string;
  readonly batchSize?: number;
  /** Bridge invocations in flight at once, like concurrent Lambda invocations (default 8). */
  readonly concurrency?: number;
  /** Longest wait of a partial batch (default 10 ms: a message waits for it before it reaches the log). */
  readonly batchWindowMs?: number;
  readonly onError?: (error: Error) => void;
}

export interface MqttIngest {
  /** Where devices connect. */
  readonly url: string;
  readonly counters: { received: number; forwarded: number; retried: number };
  /** Envelopes waiting for the bridge. */
  pending(): number;
  /** Stops taking messages, flushes the buffer through the bridge, closes the broker or the client. */
  close(): Promise<void>;
}

const QUEUE_ARN = 'arn:aws:sqs:local:000000000000:iot-cloud-ingest-buffer';

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

export async function startMqttIngest(options: MqttIngestOptions): Promise<MqttIngest> {
  const rule = compileRule(INGEST_RULE);
  const batchSize = options.batchSize ?? 100;
  const batchWindowMs = options.batchWindowMs ?? 10;
  const queue: SQSRecord[] = [];
  const counters = { received: 0, forwarded: 0, retried: 0 };
  const concurrency = options.concurrency ?? 8;
  const workers = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  let shutdownAttempts = 0;
  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      if (closed && ++shutdownAttempts > 5) {
        options.onError?.(
          new Error(
            `stopping with ${queue.length} messages the bridge kept refusing; they were not handed on`,
          ),
        );
        queue.length = 0;
        return;
      }
      const batch = queue.splice(0, batchSize);
      let response: SQSBatchResponse;
      try {
        response = await options.bridge({ Records: batch });
      } catch (error) {
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
        response = { batchItemFailures: batch.map((r) => ({ itemIdentifier: r.messageId })) };
      }
      const failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const failed = batch.filter((r) => failedIds.has(r.messageId));
      counters.forwarded += batch.length - failed.length;
      if (failed.length > 0) {
        counters.retried += failed.length;
        queue.unshift(...failed);
        // Back off before redelivering, as SQS would after a visibility timeout.
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (closed) continue;
        break;
      }
    }
  };

  // Full batches go out at once, up to `concurrency` at a time (the log group-commits them); a
  // partial batch waits at most `batchWindowMs`.
  const startWorkers = () => {
    while (workers.size < concurrency && queue.length > 0) {
      const worker: Promise<void> = flush().finally(() => {
        workers.delete(worker);
        if (queue.length > 0) scheduleFlush();
      });
      workers.add(worker);
      if (queue.length < batchSize) break;
    }
  };

  const scheduleFlush = () => {
    if (queue.length >= batchSize) {
      startWorkers();
      return;
    }
    timer ??= setTimeout(() => {
      timer = undefined;
      startWorkers();
    }, batchWindowMs);
  };

  const accept = (topic: string, payload: Uint8Array, clientId?: string) => {
    if (closed) return;
    const receivedAt = Date.now();
    const envelope = rule.evaluate({ topic, payload, receivedAt, ...(clientId ? { clientId } : {}) });
    if (!envelope) return;
    counters.received++;
    queue.push(sqsRecord(JSON.stringify(envelope), receivedAt));
    scheduleFlush();
  };

  const drainAndStop = async () => {
    closed = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    while (workers.size > 0) await Promise.all(workers);
    await flush();
  };

  if (options.externalBroker) {
    const client = await mqtt.connectAsync(options.externalBroker, {
      clientId: `iot-cloud-rule-runner-${randomUUID().slice(0, 8)}`,
      reconnectPeriod: 1000,
    });
    client.on('error', (error) => options.onError?.(error));
    client.on('message', (topic, payload) => accept(topic, payload));
    await client.subscribeAsync(INGEST_RULE.topicFilter, { qos: 1 });
    return {
      url: options.externalBroker,
      counters,
      pending: () => queue.length,
      close: async () => {
        await client.endAsync();
        await drainAndStop();
      },
    };
  }

  const broker = await Aedes.createBroker();
  broker.on('publish', (packet, client) => {
    // Only device publishes; the broker's own $SYS messages have no client.
    if (client && typeof packet.topic === 'string') accept(packet.topic, packet.payload as Buffer, client.id);
  });
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
    pending: () => queue.length,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await drainAndStop();
    },
  };
}
