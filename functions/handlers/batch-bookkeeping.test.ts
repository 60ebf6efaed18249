import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { EnrichedMessage } from '../core/contract/messages.js';
import { watchedReadingsOf } from '../core/no-data.js';
import { processMessage } from '../core/process-message.js';
import { compileRegistry } from '../core/registry.js';
import { ENVIRONMENTAL_ID, TIMESTAMP } from '../core/test-support/messages.js';
import { DeviceSeenBatch, deviceUpdatesOf } from './batch-bookkeeping.js';

describe('DeviceSeenBatch', () => {
  it('keeps one update per device: newest time, count, and the online flag of the newest status', () => {
    const batch = new DeviceSeenBatch();
    batch.add('breaker-001', 'smart_breaker', 2_000, true);
    batch.add('breaker-001', 'smart_breaker', 1_000, false); // older status: does not win
    batch.add('breaker-001', 'smart_breaker', 3_000);
    batch.add('meter-001', 'power_meter', 1_500);
    expect(batch.size).toBe(2);
    expect(batch.drain()).toEqual([
      { deviceId: 'breaker-001', deviceType: 'smart_breaker', time: 3_000, count: 3, online: true },
      { deviceId: 'meter-001', deviceType: 'power_meter', time: 1_500, count: 1 },
    ]);
    expect(batch.size).toBe(0);
  });
});

// Issue 15: the readings no-data rules watch, recorded on the device record.
describe('deviceUpdatesOf: watched readings', () => {
  const registry = compileRegistry(seedRegistry);
  const watched = watchedReadingsOf(registry);
  const enriched = (receivedAt: number, measurements: Record<string, number | null>): EnrichedMessage => {
    const message = {
      device_id: ENVIRONMENTAL_ID,
      device_type: 'environmental_sensor',
      timestamp: new Date(receivedAt).toISOString(),
      event_type: 'telemetry',
      measurements,
    };
    const outcome = processMessage(
      JSON.stringify(message),
      { receivedAt, processedAt: receivedAt },
      { registry, service: 'enrich', serviceVersion: 'test' },
    );
    if (outcome.kind !== 'enriched') throw new Error(outcome.rejection.reason);
    return outcome.message;
  };
  const T = Date.parse(TIMESTAMP);

  it('watches only the readings of reading-level no-data rules', () => {
    expect(watched).toEqual({ environmental_sensor: ['humidity'] });
  });

  it('keeps per watched reading the newest message of the batch that carried a valid value for it', () => {
    const updates = deviceUpdatesOf(
      [
        enriched(T + 2000, { temperature: 21, humidity: 40 }),
        enriched(T + 1000, { temperature: 21, humidity: 41 }), // older, in the same batch
        enriched(T + 3000, { temperature: 21 }), // no humidity
      ],
      watched,
    );

    expect(updates).toEqual([
      expect.objectContaining({ time: T + 3000, count: 3, readingsSeen: { humidity: T + 2000 } }),
    ]);
  });

  it('does not count a BAD humidity (null, or beyond its physical range) as seen', () => {
    const updates = deviceUpdatesOf(
      [
        enriched(T, { temperature: 21, humidity: null }),
        enriched(T + 1000, { temperature: 21, humidity: 400 }),
      ],
      watched,
    );
    const verdicts = [null, 400].map(
      (humidity, i) =>
        enriched(T + i * 1000, { temperature: 21, humidity }).data_quality.readings.humidity?.verdict,
    );

    expect(verdicts).toEqual(['BAD', 'BAD']);
    expect(updates[0]).not.toHaveProperty('readingsSeen');
  });
});
