import type { SQSEvent } from 'aws-lambda';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startAedes, waitUntil } from '../simulator/transports/test-broker.js';
import { startMqttIngest } from './mqtt-ingest.js';

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
    });
    try {
      await publish(ingest.url, [
        ['dt/smart_meter/meter-00001/telemetry', '{"a":1}'],
        ['dt/smart_meter/meter-00001/status', Buffer.from([0xff, 0x01])],
        ['not/a/device/topic/at/all', 'ignored'],
      ]);
      await waitUntil(() => envelopes(events).length === 2, 'two envelopes');

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
      await waitUntil(() => delivered.length === 1, 'redelivery');

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

  it('names the MQTT port when it is already taken', async () => {
    const first = await startMqttIngest({ port: 0, bridge: async () => ({ batchItemFailures: [] }) });
    const port = Number(new URL(first.url).port);
    try {
      await expect(
        startMqttIngest({ port, bridge: async () => ({ batchItemFailures: [] }) }),
      ).rejects.toThrow(`MQTT port ${port}`);
    } finally {
      await first.close();
    }
  });
});
