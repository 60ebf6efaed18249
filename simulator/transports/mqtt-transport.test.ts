/**
 * MqttTransport against real brokers on 127.0.0.1 and free ports: aedes (MQTT 3.1.1, in-process) and
 * Mosquitto (MQTT 5, child process; CI installs it in .ci/run — a missing mosquitto fails, never skips).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttTransport } from './mqtt-transport.js';
import {
  type AedesBroker,
  freePort,
  type MosquittoBroker,
  mosquittoTestsEnabled,
  type Subscriber,
  startAedes,
  startMosquitto,
  startSubscriber,
  waitUntil,
} from './test-broker.js';
import { sortedPairs, telemetryFor, testDevices } from './test-fixtures.js';

/** Everything a test starts, stopped afterwards even when the test fails. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function aedes(options?: Parameters<typeof startAedes>[0]): Promise<AedesBroker> {
  const broker = await startAedes(options);
  cleanups.push(() => broker.close());
  return broker;
}

async function subscriber(url: string, protocolVersion: 4 | 5 = 4): Promise<Subscriber> {
  const sub = await startSubscriber(url, 'dt/#', protocolVersion);
  cleanups.push(() => sub.close());
  return sub;
}

function transport(options: ConstructorParameters<typeof MqttTransport>[0]): MqttTransport {
  const created = new MqttTransport(options);
  cleanups.push(() => created.close());
  return created;
}

/** Connects, publishes `count` messages at once, and checks what the subscriber got and the counters. */
async function publishAndVerify(t: MqttTransport, sub: Subscriber, deviceCount: number, count: number) {
  const devices = testDevices(deviceCount);
  await t.connect(devices);
  const messages = telemetryFor(devices, count);
  await Promise.all(messages.map((message) => t.publish(message)));
  expect(t.counters).toEqual({ sent: count, acked: count, failed: 0 });
  await waitUntil(() => sub.messages.length >= count, `${count} messages at the subscriber`);
  expect(sortedPairs(sub.messages)).toEqual(sortedPairs(messages));
}

describe('MqttTransport over aedes (MQTT 3.1.1)', () => {
  it('publishes 200 QoS-1 messages over 20 per-device connections', async () => {
    const broker = await aedes();
    const sub = await subscriber(broker.url);
    const t = transport({ url: broker.url, protocolVersion: 4, connectionMode: 'per-device' });
    await publishAndVerify(t, sub, 20, 200);
    await t.close();
  });

  it('publishes for many devices over a shared pool', async () => {
    const broker = await aedes();
    const sub = await subscriber(broker.url);
    const clients = new Set<string>();
    broker.broker.on('client', (client) => clients.add(client.id));
    const t = transport({
      url: broker.url,
      connectionMode: 'shared',
      sharedConnections: 3,
      clientIdPrefix: 'pool',
    });
    await publishAndVerify(t, sub, 50, 200);
    expect([...clients].filter((id) => id.startsWith('pool-')).sort()).toEqual([
      'pool-0',
      'pool-1',
      'pool-2',
    ]);
  });

  it('a dropped device triggers its last will; a clean close() publishes none', async () => {
    const broker = await aedes();
    const sub = await subscriber(broker.url);
    const devices = testDevices(3);
    const [kept, dropped] = devices;
    if (!kept || !dropped) throw new Error('fixture');
    const t = transport({ url: broker.url, connectionMode: 'per-device', publishTimeoutMs: 5000 });
    await t.connect(devices);

    t.dropDevice(dropped.deviceId);
    await waitUntil(
      () => sub.messages.some((m) => m.topic === dropped.lastWill.topic),
      `the last will on ${dropped.lastWill.topic}`,
    );
    expect(sub.messages.find((m) => m.topic === dropped.lastWill.topic)?.payload).toBe(
      dropped.lastWill.payload,
    );

    const [forKept, forDropped] = telemetryFor([kept, dropped], 2);
    if (!forKept || !forDropped) throw new Error('fixture');
    await t.publish(forKept);
    await expect(t.publish(forDropped)).rejects.toThrow(forDropped.topic);
    expect(t.counters).toEqual({ sent: 1, acked: 1, failed: 1 });

    await t.close();
    // Anything the broker published for the closed connections comes before this sentinel.
    await sub.publish('dt/sentinel/x/status', 'done');
    await waitUntil(() => sub.messages.some((m) => m.topic === 'dt/sentinel/x/status'), 'the sentinel');
    const wills = sub.messages.filter(
      (m) => m.topic.endsWith('/status') && m.topic !== 'dt/sentinel/x/status',
    );
    expect(wills.map((m) => m.topic)).toEqual([dropped.lastWill.topic]);
  });

  it('connect rejects naming the URL when the broker is unreachable', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const t = transport({ url, connectTimeoutMs: 5000 });
    await expect(t.connect(testDevices(5))).rejects.toThrow(url);
    await expect(transport({ url }).connect(testDevices(1))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('counts a publish after the broker is gone as failed and rejects naming the topic', async () => {
    const broker = await aedes();
    const devices = testDevices(2);
    const errors: Error[] = [];
    const t = transport({
      url: broker.url,
      reconnectPeriodMs: 50,
      onConnectionError: (error) => errors.push(error),
    });
    await t.connect(devices);
    const [first, second] = telemetryFor(devices, 2);
    if (!first || !second) throw new Error('fixture');
    await t.publish(first);
    await broker.close();
    // The transport noticed once its reconnect attempts are refused.
    await waitUntil(() => errors.some((e) => /ECONNREFUSED/.test(e.message)), 'a refused reconnect');
    await expect(t.publish(second)).rejects.toThrow(second.topic);
    expect(t.counters).toEqual({ sent: 1, acked: 1, failed: 1 });
    await t.close();
  });

  it('times out publishes the broker never acknowledges, holding at most maxInFlight in flight', async () => {
    // aedes never answers authorizePublish, so no PUBACK ever comes.
    const broker = await aedes({ authorizePublish: () => {} });
    const devices = testDevices(1);
    const t = transport({
      url: broker.url,
      connectionMode: 'shared',
      maxInFlight: 2,
      publishTimeoutMs: 1000,
      closeTimeoutMs: 200,
    });
    await t.connect(devices);
    const messages = telemetryFor(devices, 5);
    const results = await Promise.allSettled(messages.map((message) => t.publish(message)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const reasons = results.map((r) => (r.status === 'rejected' ? String(r.reason) : ''));
    expect(reasons[0]).toMatch(/no PUBACK within 1000 ms/);
    expect(reasons[0]).toContain(messages[0]?.topic);
    // Only two were handed to the client; the other three waited for a slot until their deadline.
    expect(t.counters).toEqual({ sent: 2, acked: 0, failed: 5 });
    await t.close();
  });
});

describe.skipIf(!mosquittoTestsEnabled())('MqttTransport over Mosquitto (MQTT 5)', () => {
  let mosquitto: MosquittoBroker;

  beforeAll(async () => {
    // Fails (does not skip) with install instructions when mosquitto is missing.
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto?.close();
  });

  it('publishes 200 QoS-1 messages over 20 per-device connections', async () => {
    const sub = await subscriber(mosquitto.url, 5);
    const t = transport({ url: mosquitto.url, protocolVersion: 5, connectionMode: 'per-device' });
    await publishAndVerify(t, sub, 20, 200);
  });

  it('respects the broker Receive Maximum on a shared connection', async () => {
    // Mosquitto announces Receive Maximum 20 and disconnects clients that exceed it; 200 at once over
    // one connection only pass if publish waits for PUBACKs.
    const sub = await subscriber(mosquitto.url, 5);
    const t = transport({
      url: mosquitto.url,
      protocolVersion: 5,
      connectionMode: 'shared',
      maxInFlight: 1000,
    });
    await publishAndVerify(t, sub, 10, 200);
  });
});
