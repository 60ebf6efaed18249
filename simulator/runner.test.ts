import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../registry-data/index.js';
import { Fleet } from './fleet.js';
import { runFleet } from './runner.js';
import { linearEnvironmentalModel } from './test-support/linear-model.js';
import type { DeliveryCounters, SimMessage, Transport, TransportDevice } from './types.js';

const environmental = seedRegistry.deviceTypes.find((t) => t.typeId === 'environmental_sensor');
if (!environmental) throw new Error('environmental_sensor missing');
const START = Date.parse('2026-11-23T00:00:00.000Z');

const fleet = (devices = 10) =>
  new Fleet(
    {
      definitions: [environmental],
      devices,
      seed: 3,
      startTime: START,
      schedule: { mode: 'rate', messagesPerSecond: 100 },
    },
    { createModel: (options) => linearEnvironmentalModel(options) },
  );

/** An in-memory transport that acknowledges later (or fails) and records what it saw. */
class RecordingTransport implements Transport {
  readonly counters: DeliveryCounters = { sent: 0, acked: 0, failed: 0 };
  readonly published: SimMessage[] = [];
  connected: readonly TransportDevice[] = [];
  closed = false;
  maxPending = 0;
  private pending = 0;

  constructor(private readonly fails: (message: SimMessage) => boolean = () => false) {}

  async connect(devices: readonly TransportDevice[]) {
    this.connected = devices;
  }

  publish(message: SimMessage): Promise<void> {
    this.counters.sent++;
    this.published.push(message);
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        this.pending--;
        if (this.fails(message)) {
          this.counters.failed++;
          reject(new Error(`publish to ${message.topic} failed`));
        } else {
          this.counters.acked++;
          resolve();
        }
      }),
    );
  }

  async close() {
    this.closed = true;
  }
}

describe('runFleet', () => {
  it('connects every device with its last will, publishes exactly the count, and closes', async () => {
    const transport = new RecordingTransport();

    const summary = await runFleet({ fleet: fleet(), transport, realTime: false, count: 250 });

    expect(transport.connected.map((d) => d.lastWill.topic)).toContain(
      'dt/environmental_sensor/env-00001/status',
    );
    expect(transport.published).toHaveLength(250);
    expect(summary).toMatchObject({ stoppedBy: 'count', delivery: { sent: 250, acked: 250, failed: 0 } });
    expect(transport.closed).toBe(true);
  });

  it('stops after a simulated duration in a simulated-time run', async () => {
    const transport = new RecordingTransport();

    const summary = await runFleet({ fleet: fleet(), transport, realTime: false, durationMs: 60_000 });

    expect(summary.stoppedBy).toBe('duration');
    expect(summary.messages.telemetry).toBe(6000);
  });

  it('counts failed publishes and keeps going', async () => {
    const transport = new RecordingTransport((message) => message.deviceId === 'env-00002');

    const summary = await runFleet({ fleet: fleet(), transport, realTime: false, count: 500 });

    expect(summary.delivery.failed).toBeGreaterThan(0);
    expect(summary.delivery.sent).toBe(500);
    expect(summary.delivery.acked + summary.delivery.failed).toBe(500);
  });

  it('never has more publishes in flight than allowed', async () => {
    const transport = new RecordingTransport();

    await runFleet({ fleet: fleet(100), transport, realTime: false, count: 3000, maxInFlight: 64 });

    expect(transport.maxPending).toBeLessThanOrEqual(64);
    expect(transport.counters.acked).toBe(3000);
  });

  it('stops on an abort signal, waiting for what is in flight', async () => {
    const transport = new RecordingTransport();
    const abort = new AbortController();
    let reports = 0;

    const summary = await runFleet({
      fleet: fleet(),
      transport,
      realTime: false,
      signal: abort.signal,
      progressIntervalMs: 0,
      onProgress: () => {
        if (++reports === 5) abort.abort();
      },
    });

    expect(summary.stoppedBy).toBe('signal');
    expect(summary.delivery.acked).toBe(summary.delivery.sent);
  });

  it('leaves no abort listeners behind after a real-time run', async () => {
    const abort = new AbortController();

    const summary = await runFleet({
      fleet: fleet(),
      transport: new RecordingTransport(),
      durationMs: 300,
      signal: abort.signal,
    });

    expect(summary.stoppedBy).toBe('duration');
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });

  it('refuses a run that could never end', async () => {
    await expect(
      runFleet({ fleet: fleet(), transport: new RecordingTransport(), realTime: false }),
    ).rejects.toThrow(/duration, a count or an abort signal/);
  });
});
