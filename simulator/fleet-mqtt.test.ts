import { describe, expect, it } from 'vitest';
import { createSimulatedFleet, createTransport, runFleet } from './index.js';
import {
  mosquittoTestsEnabled,
  startAedes,
  startMosquitto,
  startSubscriber,
  waitUntil,
} from './transports/test-broker.js';

const START = Date.parse('2026-11-23T00:00:00.000Z');

/** Publishes 300 messages from a 12-device mixed fleet and checks them at a subscriber on `dt/#`. */
async function publishFleetTo(url: string, protocolVersion: 4 | 5) {
  const subscriber = await startSubscriber(url, 'dt/#', protocolVersion);
  try {
    const fleet = createSimulatedFleet({
      devices: 12,
      seed: 9,
      startTime: START,
      schedule: { mode: 'rate', messagesPerSecond: 200 },
    });
    const transport = createTransport({ kind: 'mqtt', url, protocolVersion, connectionMode: 'per-device' });

    const summary = await runFleet({ fleet, transport, realTime: false, count: 300 });

    await waitUntil(() => subscriber.messages.length >= 300, '300 messages at the subscriber');
    expect(summary.delivery).toEqual({ sent: 300, acked: 300, failed: 0 });
    expect(subscriber.messages).toHaveLength(300);
    const topics = subscriber.messages.map((m) => m.topic);
    for (const topic of topics)
      expect(topic).toMatch(
        /^dt\/(smart_breaker|smart_meter|environmental_sensor|f2_access_controller)\/[a-z0-9]+-\d{5}\/(telemetry|trends|status|event)$/,
      );
    expect(new Set(topics.map((t) => t.split('/')[2])).size).toBe(12);
    for (const message of subscriber.messages) {
      const body = JSON.parse(message.payload.toString()) as { device_id: string; event_type: string };
      expect(message.topic).toContain(`/${body.device_id}/${body.event_type}`);
    }
  } finally {
    await subscriber.close();
  }
}

describe('a simulated fleet over real MQTT', () => {
  it('arrives complete over the embedded aedes broker with MQTT 3.1.1', async () => {
    const broker = await startAedes();
    try {
      await publishFleetTo(broker.url, 4);
    } finally {
      await broker.close();
    }
  });

  it.skipIf(!mosquittoTestsEnabled())("arrives complete over Debian's Mosquitto with MQTT 5", async () => {
    const broker = await startMosquitto();
    try {
      await publishFleetTo(broker.url, 5);
    } finally {
      await broker.close();
    }
  });
});
