/**
 * IotCoreTransport. No AWS account exists here, so the SDK's clients connect over plain TCP
 * (`insecureLocalBroker`) to local brokers: MQTT 3.1.1 against aedes, MQTT 5 against Mosquitto. mTLS to
 * IoT Core itself is not exercised. The shared-pool sizing and pacing are pure and unit-tested.
 */
import type { Client } from 'aedes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IotCoreTransport, type IotCoreTransportOptions } from './iot-core-transport.js';
import { connectionsFor, TokenBucket } from './pacing.js';
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

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function aedes(): Promise<AedesBroker> {
  const broker = await startAedes();
  cleanups.push(() => broker.close());
  return broker;
}

async function subscriber(url: string, protocolVersion: 4 | 5 = 4): Promise<Subscriber> {
  const sub = await startSubscriber(url, 'dt/#', protocolVersion);
  cleanups.push(() => sub.close());
  return sub;
}

function transport(options: IotCoreTransportOptions): IotCoreTransport {
  const created = new IotCoreTransport(options);
  cleanups.push(() => created.close());
  return created;
}

async function publishAndVerify(t: IotCoreTransport, sub: Subscriber, deviceCount: number, count: number) {
  const devices = testDevices(deviceCount);
  await t.connect(devices);
  const messages = telemetryFor(devices, count);
  await Promise.all(messages.map((message) => t.publish(message)));
  expect(t.counters).toEqual({ sent: count, acked: count, failed: 0 });
  await waitUntil(() => sub.messages.length >= count, `${count} messages at the subscriber`);
  expect(sortedPairs(sub.messages)).toEqual(sortedPairs(messages));
}

describe('connectionsFor (IoT Core allows 100 publishes/s per connection)', () => {
  it('opens ceil(rate / 100) connections, at least one', () => {
    expect(connectionsFor(0)).toBe(1);
    expect(connectionsFor(1)).toBe(1);
    expect(connectionsFor(100)).toBe(1);
    expect(connectionsFor(100.5)).toBe(2);
    expect(connectionsFor(101)).toBe(2);
    expect(connectionsFor(250)).toBe(3);
    expect(connectionsFor(10_000)).toBe(100);
    expect(connectionsFor(450, 50)).toBe(9);
  });

  it('rejects rates that are not finite and >= 0', () => {
    expect(() => connectionsFor(-1)).toThrow(RangeError);
    expect(() => connectionsFor(Number.NaN)).toThrow(RangeError);
    expect(() => connectionsFor(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => connectionsFor(10, 0)).toThrow(RangeError);
  });
});

describe('TokenBucket (injected clock)', () => {
  /** Sends `count` publishes as fast as the bucket allows, starting at `start`; returns send times. */
  function schedule(bucket: TokenBucket, clock: { now: number }, count: number): number[] {
    const times: number[] = [];
    for (let i = 0; i < count; i += 1) {
      // Each caller asks when it arrives, then publishes after the returned delay.
      const sendAt = clock.now + bucket.reserve();
      times.push(sendAt);
    }
    return times;
  }

  function maxInAnyWindow(times: number[], windowMs: number): number {
    let max = 0;
    let from = 0;
    for (let to = 0; to < times.length; to += 1) {
      while ((times[to] ?? 0) - (times[from] ?? 0) >= windowMs) from += 1;
      max = Math.max(max, to - from + 1);
    }
    return max;
  }

  it('paces a burst to 100 per second, 10 ms apart', () => {
    const clock = { now: 5000 };
    const bucket = new TokenBucket(100, 1, () => clock.now);
    const times = schedule(bucket, clock, 350);
    expect(times.slice(0, 4)).toEqual([5000, 5010, 5020, 5030]);
    expect(maxInAnyWindow(times, 1000)).toBe(100);
    expect(times.at(-1)).toBe(5000 + 349 * 10);
  });

  it('grants tryTake only while tokens are available, refilling at the rate up to the capacity', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket(20, 20, () => clock.now);
    const granted = () => Array.from({ length: 25 }, () => bucket.tryTake()).filter(Boolean).length;
    expect(granted()).toBe(20);
    clock.now = 100; // two tokens' worth of time at 20/s
    expect(granted()).toBe(2);
    clock.now = 60_000;
    expect(granted()).toBe(20);
  });

  it('refills while idle, but never beyond its capacity', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket(100, 5, () => clock.now);
    expect(schedule(bucket, clock, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(bucket.reserve()).toBe(10);
    clock.now = 60_000; // a long pause refills at most `capacity` tokens
    const times = schedule(bucket, clock, 8);
    expect(times).toEqual([60_000, 60_000, 60_000, 60_000, 60_000, 60_010, 60_020, 60_030]);
  });

  it('stays within the rate when callers arrive spread out and late', () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket(100, 1, () => clock.now);
    const times: number[] = [];
    for (let i = 0; i < 1000; i += 1) {
      clock.now += (i * 7) % 13; // irregular arrivals, sometimes faster than 10 ms, sometimes slower
      times.push(clock.now + bucket.reserve());
    }
    times.sort((a, b) => a - b);
    expect(maxInAnyWindow(times, 1000)).toBeLessThanOrEqual(100);
  });

  it('rejects a rate or capacity it cannot honour', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    expect(() => new TokenBucket(100, 0.5)).toThrow(RangeError);
  });
});

describe('IotCoreTransport, MQTT 3.1.1 (SDK client) over aedes without TLS', () => {
  it('publishes over per-device connections and counts PUBACKs', async () => {
    const broker = await aedes();
    const sub = await subscriber(broker.url);
    const t = transport({
      protocol: 'mqtt311',
      connectionMode: 'per-device',
      insecureLocalBroker: { host: broker.host, port: broker.port },
    });
    await publishAndVerify(t, sub, 10, 100);
  });

  it('connects each device with its last will', async () => {
    const broker = await aedes();
    const sub = await subscriber(broker.url);
    const clients = new Map<string, Client>();
    broker.broker.on('clientReady', (client) => clients.set(client.id, client));
    const devices = testDevices(2);
    const [device] = devices;
    if (!device) throw new Error('fixture');
    const t = transport({
      protocol: 'mqtt311',
      insecureLocalBroker: { host: broker.host, port: broker.port },
    });
    await t.connect(devices);
    // Cut the device's connection from the broker side: no DISCONNECT, so the broker sends the will.
    clients.get(device.deviceId)?.conn.destroy();
    await waitUntil(() => sub.messages.some((m) => m.topic === device.lastWill.topic), 'the last will');
    expect(sub.messages.find((m) => m.topic === device.lastWill.topic)?.payload).toBe(
      device.lastWill.payload,
    );
  });

  it('sizes the shared pool from messagesPerSecond', async () => {
    const broker = await aedes();
    const sub = await subscriber(broker.url);
    const clients = new Set<string>();
    broker.broker.on('clientReady', (client) => clients.add(client.id));
    const t = transport({
      protocol: 'mqtt311',
      connectionMode: 'shared',
      messagesPerSecond: 250,
      clientIdPrefix: 'iot-pool',
      insecureLocalBroker: { host: broker.host, port: broker.port },
    });
    await publishAndVerify(t, sub, 30, 90);
    expect([...clients].filter((id) => id.startsWith('iot-pool-')).sort()).toEqual([
      'iot-pool-0',
      'iot-pool-1',
      'iot-pool-2',
    ]);
  });

  it('connect rejects naming the broker when it is unreachable', async () => {
    const port = await freePort();
    const t = transport({ protocol: 'mqtt311', insecureLocalBroker: { host: '127.0.0.1', port } });
    await expect(t.connect(testDevices(2))).rejects.toThrow(`127.0.0.1:${port}`);
  });
});

describe.skipIf(!mosquittoTestsEnabled())(
  'IotCoreTransport, MQTT 5 (SDK client) over Mosquitto without TLS',
  () => {
    let mosquitto: MosquittoBroker;

    beforeAll(async () => {
      mosquitto = await startMosquitto();
    });
    afterAll(async () => {
      await mosquitto?.close();
    });

    it('publishes over per-device connections and counts PUBACKs', async () => {
      const sub = await subscriber(mosquitto.url, 5);
      const t = transport({
        protocol: 'mqtt5',
        insecureLocalBroker: { host: mosquitto.host, port: mosquitto.port },
      });
      await publishAndVerify(t, sub, 5, 50);
    });

    it('connect rejects naming the broker when it is unreachable', async () => {
      const port = await freePort();
      const t = transport({ protocol: 'mqtt5', insecureLocalBroker: { host: '127.0.0.1', port } });
      await expect(t.connect(testDevices(1))).rejects.toThrow(`127.0.0.1:${port}`);
    });
  },
);

describe('IotCoreTransport options', () => {
  it('needs an endpoint, a certificate and a key unless pointed at a local broker', () => {
    expect(() => new IotCoreTransport({ endpoint: '', certPath: 'c', keyPath: 'k' })).toThrow(/endpoint/);
  });

  it.each(['mqtt5', 'mqtt311'] as const)(
    '%s connect rejects naming unreadable certificate files',
    async (protocol) => {
      const t = transport({
        protocol,
        endpoint: 'example-ats.iot.eu-west-1.amazonaws.com',
        certPath: '/nonexistent/device.pem.crt',
        keyPath: '/nonexistent/private.pem.key',
      });
      await expect(t.connect(testDevices(1))).rejects.toThrow(
        /example-ats\.iot\.eu-west-1\.amazonaws\.com:8883.*cannot load certificate \/nonexistent\/device\.pem\.crt/,
      );
    },
  );
});
