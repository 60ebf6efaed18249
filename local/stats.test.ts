import { describe, expect, it } from 'vitest';
import { PipelineStats } from './stats.js';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');

describe('PipelineStats', () => {
  it('counts what happened per minute, by device type, verdict and dead-letter reason, within the window', () => {
    let now = T0;
    const stats = new PipelineStats(() => now);
    stats.recordRaw(3, T0);
    stats.recordOutcome({
      kind: 'enriched',
      deviceId: 'a',
      deviceType: 'smart_meter',
      verdict: 'GOOD',
      alerts: 1,
      time: T0,
    });
    stats.recordOutcome({
      kind: 'enriched',
      deviceId: 'b',
      deviceType: 'smart_meter',
      verdict: 'SUSPECT',
      alerts: 0,
      time: T0 + 61_000,
    });
    stats.recordOutcome({
      kind: 'rejected',
      deviceId: 'c',
      reason: 'INVALID_JSON',
      alerts: 0,
      time: T0 + 61_000,
    });
    stats.recordOutcome({
      kind: 'enriched',
      deviceId: 'old',
      deviceType: 'smart_breaker',
      verdict: 'GOOD',
      alerts: 0,
      time: T0 - 30 * 60_000,
    });
    now = T0 + 90_000;

    const snapshot = stats.snapshot(15, { raw: 100, enriched: 90, dlq: 10, alerts: 5 });

    expect(snapshot).toMatchObject({
      windowMinutes: 15,
      totals: { raw: 100, enriched: 90, dlq: 10, alerts: 5 },
      byDeviceType: { smart_meter: 2 },
      quality: { GOOD: 1, SUSPECT: 1, BAD: 0 },
      dlqReasons: { INVALID_JSON: 1 },
      devicesSeen: 3,
      lastMessageTime: new Date(T0).toISOString(),
    });
    expect(snapshot.perMinute).toHaveLength(15);
    expect(snapshot.perMinute.slice(-2)).toEqual([
      { minute: '2026-11-23T12:00:00.000Z', raw: 3, enriched: 1, dlq: 0, alerts: 1 },
      { minute: '2026-11-23T12:01:00.000Z', raw: 0, enriched: 1, dlq: 1, alerts: 0 },
    ]);
  });

  it('reports latency percentiles over the window only', () => {
    let now = T0;
    const stats = new PipelineStats(() => now);
    stats.recordLatency(5000, T0 - 10 * 60_000);
    for (let ms = 1; ms <= 100; ms++) stats.recordLatency(ms, T0);

    expect(stats.latencyPercentiles(5)).toEqual({ p50: 50, p99: 99, samples: 100 });
    now = T0 + 60 * 60_000;
    expect(stats.latencyPercentiles(5)).toEqual({ p50: null, p99: null, samples: 0 });
  });

  it('keeps latencies above a second within 1 % and clock skew at 0 ms', () => {
    const stats = new PipelineStats(() => T0);
    for (let i = 0; i < 98; i++) stats.recordLatency(-20, T0);
    stats.recordLatency(1234, T0);
    stats.recordLatency(98_765, T0);

    const { p50, p99, samples } = stats.latencyPercentiles(1);
    expect(samples).toBe(100);
    expect(p50).toBe(0);
    expect(Math.abs((p99 as number) - 1234) / 1234).toBeLessThanOrEqual(0.01);
  });
});
