import type { SQSEvent } from 'aws-lambda';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { StreamRecord } from '../functions/ports/stream.js';
import { IOT_CORE_MAX_PAYLOAD_BYTES } from '../functions/shared/aws-limits.js';
import { startAedes, waitUntil } from '../simulator/transports/test-broker.js';
import { startMqttIngest } from './mqtt-ingest.js';

/** SUBSCRIBER_DRAIN_TIMEOUT_MS of mqtt-ingest.ts: how long aedes waits on a subscriber that never drains. */
const AEDES_DRAIN_TIMEOUT_MS = 5000;

/** Dead letters kept in memory, parsed. */
const deadLetterSink = () => {
  const letters: Record<string, unknown>[] = [];
  return {
    letters,
    deadLetter: async (records: StreamRecord[]) => {
      for (const r of records) letters.push(JSON.parse(Buffer.from(r.value).toString()));
    },
  };
};
const noDeadLetters = async () => {
  throw new Error('no dead letter expected');
};

/** A bridge that records every batch and accepts it. */
const recordingBridge = (events: SQSEvent[]) => async (event: SQSEvent) => {
  events.push(event);
  return { batchItemFailures: [] };
};

const envelopes = (events: SQSEvent[]) => events.flatMap((e) => e.Records.map((r) => JSON.parse(r.body)));

async function publish(url: string, messages: [string, string | Buffer][]) {
  const client = await mqtt.connectAsync(url, {
    clientId: `device-${Math.random().toString(16).slice(2, 8)}`,
  });
  for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1 });
  await client.endAsync();
}

describe('local MQTT ingest', () => {
  it('turns device publishes on the embedded broker into rule envelopes in SQS-shaped batches', async () => {
    const events: SQSEvent[] = [];
    const ingest = await startMqttIngest({
      port: 0,
      bridge: recordingBridge(events),
      deadLetter: noDeadLetters,
    });
    try {
      await publish(ingest.url, [
        ['dt/smart_meter/meter-00001/telemetry', '{"a":1}'],
        ['dt/smart_meter/meter-00001/status', Buffer.from([0xff, 0x01])],
      ]);
      // Acknowledged means handed on: no waiting needed.
      expect(envelopes(events)).toHaveLength(2);

      const [first, second] = envelopes(events);
      expect(first).toMatchObject({
        topic: 'dt/smart_meter/meter-00001/telemetry',
        device_id: 'meter-00001',
        device_type: 'smart_meter',
      });
      expect(Buffer.from(first.payload, 'base64').toString()).toBe('{"a":1}');
      expect(Buffer.from(second.payload, 'base64')).toEqual(Buffer.from([0xff, 0x01]));
      expect(events[0]?.Records[0]).toMatchObject({ eventSource: 'aws:sqs' });
    } finally {
      await ingest.close();
    }
  });

  it('redelivers what the bridge reports as failed', async () => {
    let calls = 0;
    const delivered: string[] = [];
    const ingest = await startMqttIngest({
      port: 0,
      deadLetter: noDeadLetters,
      retryDelayMs: 10,
      bridge: async (event) => {
        calls++;
        if (calls === 1)
          return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
        for (const r of event.Records) delivered.push(JSON.parse(r.body).topic);
        return { batchItemFailures: [] };
      },
    });
    try {
      await publish(ingest.url, [['dt/smart_meter/m1/telemetry', '{}']]);
      expect(delivered).toHaveLength(1);

      expect(ingest.counters).toMatchObject({ received: 1, forwarded: 1, retried: 1 });
    } finally {
      await ingest.close();
    }
  });

  it('reads from an external broker instead of the embedded one', async () => {
    const broker = await startAedes();
    const events: SQSEvent[] = [];
    const ingest = await startMqttIngest({
      externalBroker: broker.url,
      bridge: recordingBridge(events),
      deadLetter: noDeadLetters,
    });
    try {
      await publish(broker.url, [['dt/environmental_sensor/env-1/telemetry', '{"t":1}']]);
      await waitUntil(() => envelopes(events).length === 1, 'one envelope');

      expect(envelopes(events)[0]).toMatchObject({ device_id: 'env-1' });
    } finally {
      await ingest.close();
      await broker.close();
    }
  });

  it('keeps a persistent session on an external broker: a restart gets what arrived while it was down', async () => {
    const broker = await startAedes();
    const events: SQSEvent[] = [];
    const options = {
      externalBroker: broker.url,
      sessionClientId: 'iot-cloud-ingest-test',
      bridge: recordingBridge(events),
      deadLetter: noDeadLetters,
    };
    try {
      const first = await startMqttIngest(options);
      await first.close();
      await publish(broker.url, [
        ['dt/smart_meter/m-offline/telemetry', '{"n":1}'],
        ['dt/smart_meter/m-offline/telemetry', '{"n":2}'],
      ]);

      const second = await startMqttIngest(options);
      try {
        await waitUntil(() => envelopes(events).length === 2, 'the messages the broker kept');
        expect(envelopes(events).map((e) => Buffer.from(e.payload, 'base64').toString())).toEqual([
          '{"n":1}',
          '{"n":2}',
        ]);
      } finally {
        await second.close();
      }
    } finally {
      await broker.close();
    }
  });

  it('names the MQTT port when it is already taken', async () => {
    const first = await startMqttIngest({
      port: 0,
      bridge: async () => ({ batchItemFailures: [] }),
      deadLetter: noDeadLetters,
    });
    const port = Number(new URL(first.url).port);
    try {
      await expect(
        startMqttIngest({ port, bridge: async () => ({ batchItemFailures: [] }), deadLetter: noDeadLetters }),
      ).rejects.toThrow(`MQTT port ${port}`);
    } finally {
      await first.close();
    }
  });

  it('acknowledges a publish only once the bridge has appended it', async () => {
    let release: () => void = () => {};
    const appended = new Promise<void>((resolve) => {
      release = resolve;
    });
    let bridgeCalled = false;
    const ingest = await startMqttIngest({
      port: 0,
      deadLetter: noDeadLetters,
      bridge: async () => {
        bridgeCalled = true;
        await appended;
        return { batchItemFailures: [] };
      },
    });
    const client = await mqtt.connectAsync(ingest.url, { clientId: 'device-waits' });
    try {
      let acknowledged = false;
      const publishing = client.publishAsync('dt/smart_meter/m1/telemetry', '{}', { qos: 1 }).then(() => {
        acknowledged = true;
      });
      await waitUntil(() => bridgeCalled, 'the bridge call');
      // A round trip on the same connection: the PUBACK would have arrived before this one's answer.
      await client.subscribeAsync('nothing/here', { qos: 1 });
      expect(acknowledged).toBe(false);

      release();
      await publishing;
      expect(acknowledged).toBe(true);
    } finally {
      await client.endAsync();
      await ingest.close();
    }
  });

  it("refuses a publish over IoT Core's payload limit by disconnecting the client, and takes the next one", async () => {
    const events: SQSEvent[] = [];
    const ingest = await startMqttIngest({
      port: 0,
      bridge: recordingBridge(events),
      deadLetter: noDeadLetters,
    });
    try {
      const client = await mqtt.connectAsync(ingest.url, { clientId: 'device-big', reconnectPeriod: 0 });
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      void client
        .publishAsync('dt/smart_meter/m1/telemetry', Buffer.alloc(IOT_CORE_MAX_PAYLOAD_BYTES + 1), { qos: 1 })
        .catch(() => undefined);
      await closed;
      client.end(true);

      await publish(ingest.url, [
        ['dt/smart_meter/m1/telemetry', Buffer.alloc(IOT_CORE_MAX_PAYLOAD_BYTES, 0x20)],
        ['dt/smart_meter/m1/telemetry', '{"next":1}'],
      ]);

      expect(envelopes(events).map((e) => Buffer.from(e.payload, 'base64').byteLength)).toEqual([
        IOT_CORE_MAX_PAYLOAD_BYTES,
        10,
      ]);
      expect(ingest.counters.refused).toBe(1);
    } finally {
      await ingest.close();
    }
  });

  it('dead-letters a publish on a topic no rule matches, with the reason and the original', async () => {
    const sink = deadLetterSink();
    const events: SQSEvent[] = [];
    const ingest = await startMqttIngest({
      port: 0,
      bridge: recordingBridge(events),
      deadLetter: sink.deadLetter,
    });
    try {
      await publish(ingest.url, [['not/a/device/topic/at/all', 'stray']]);

      expect(events).toHaveLength(0);
      expect(sink.letters).toHaveLength(1);
      expect(sink.letters[0]).toMatchObject({
        reason: 'TOPIC_NOT_ROUTED',
        stage: 'ingest-rule',
        source: { mqtt_topic: 'not/a/device/topic/at/all' },
        original_base64: Buffer.from('stray').toString('base64'),
      });
    } finally {
      await ingest.close();
    }
  });

  it('retries a record the bridge keeps refusing alone, lets the others through, reports it stuck, then dead-letters it', async () => {
    const sink = deadLetterSink();
    const stored: string[] = [];
    const ingest = await startMqttIngest({
      port: 0,
      deadLetter: sink.deadLetter,
      // The publish is `stuck` from its first retry until the last attempt, two delays later: long
      // enough that the check after waiting for the retry cannot miss it on a loaded machine.
      retryDelayMs: 1000,
      maxAttempts: 3,
      // Like the real bridge: one record the stream refuses fails the whole batch.
      bridge: async (event) => {
        const topics = event.Records.map((r) => JSON.parse(r.body).topic as string);
        if (topics.some((t) => t.includes('poison')))
          return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
        stored.push(...topics);
        return { batchItemFailures: [] };
      },
    });
    try {
      const poisoned = publish(ingest.url, [['dt/smart_meter/poison/telemetry', 'x']]);
      await waitUntil(() => ingest.counters.retried > 0, 'a retry');
      expect(ingest.health()).toMatchObject({ state: 'stuck' });

      await publish(ingest.url, [
        ['dt/smart_meter/good-1/telemetry', '{}'],
        ['dt/smart_meter/good-2/telemetry', '{}'],
      ]);
      expect(stored).toEqual(['dt/smart_meter/good-1/telemetry', 'dt/smart_meter/good-2/telemetry']);

      await poisoned;
      expect(sink.letters).toMatchObject([
        { reason: 'PROCESSING_FAILED', source: { mqtt_topic: 'dt/smart_meter/poison/telemetry' } },
      ]);
      expect(ingest.health()).toEqual({ state: 'ok' });
    } finally {
      await ingest.close();
    }
  });

  it("drops a subscriber that stops reading, so it does not hold up another device's publishes", async () => {
    const ingest = await startMqttIngest({
      port: 0,
      bridge: async () => ({ batchItemFailures: [] }),
      deadLetter: noDeadLetters,
    });
    const subscriber = await mqtt.connectAsync(ingest.url, {
      clientId: 'stalled-subscriber',
      reconnectPeriod: 0,
    });
    const busy = await mqtt.connectAsync(ingest.url, { clientId: 'device-busy' });
    const other = await mqtt.connectAsync(ingest.url, { clientId: 'device-other' });
    try {
      await subscriber.subscribeAsync('dt/#', { qos: 0 });
      // Stop reading: mqtt.js pipes its socket into its parser, so unpipe before pausing.
      subscriber.stream.unpipe();
      subscriber.stream.pause();
      // More than the loopback socket buffers hold, so the broker's writes to the subscriber back up.
      const big = Buffer.alloc(120 * 1024, 0x20);
      const flood = Array.from({ length: 150 }, () =>
        busy.publishAsync('dt/smart_meter/busy/telemetry', big, { qos: 1 }),
      );
      await waitUntil(
        () => ingest.counters.droppedSubscribers === 1,
        'the stalled subscriber dropped',
        10_000,
      );

      const started = Date.now();
      for (let i = 0; i < 20; i++)
        await other.publishAsync('dt/smart_meter/other/telemetry', `{"i":${i}}`, { qos: 1 });
      const otherPublishesMs = Date.now() - started;
      await Promise.all(flood);
      // A stall would last aedes' drain timeout: that is the bound, not a guess at this machine's speed.
      // Only the other device's publishes are timed; how fast the 18 MB flood drains is not the point.
      expect(otherPublishesMs).toBeLessThan(AEDES_DRAIN_TIMEOUT_MS);
    } finally {
      subscriber.end(true);
      await busy.endAsync();
      await other.endAsync();
      await ingest.close();
    }
  });
});
