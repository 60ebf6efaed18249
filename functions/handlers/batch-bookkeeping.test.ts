import { describe, expect, it } from 'vitest';
import { DeviceSeenBatch } from './batch-bookkeeping.js';

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
