/**
 * Pipeline statistics for `/api/stats` and the status line: every figure is counted from what actually
 * passed through the pipeline, in per-minute buckets (kept for a day). Totals since the data directory
 * was created come from the log's end offsets, passed in by the runtime, so they survive restarts.
 */
import type { StatsSnapshot } from '../functions/handlers/api.js';
import type { EnrichOutcomeSummary } from '../functions/handlers/enrich.js';

interface MinuteBucket {
  minute: number;
  raw: number;
  enriched: number;
  dlq: number;
  alerts: number;
  byDeviceType: Map<string, number>;
  quality: { GOOD: number; SUSPECT: number; BAD: number };
  dlqReasons: Map<string, number>;
  devices: Set<string>;
}

const MINUTE = 60_000;
const KEEP_MINUTES = 24 * 60;

export interface StageTotals {
  raw: number;
  enriched: number;
  dlq: number;
  alerts: number;
}

/** Latency samples kept (newest), enough for percentiles over a busy window. */
const MAX_LATENCY_SAMPLES = 100_000;

export class PipelineStats {
  private readonly buckets = new Map<number, MinuteBucket>();
  private latencies: { time: number; ms: number }[] = [];
  private lastMessageTime: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  private bucket(time: number): MinuteBucket {
    const minute = Math.floor(time / MINUTE);
    let bucket = this.buckets.get(minute);
    if (!bucket) {
      bucket = {
        minute,
        raw: 0,
        enriched: 0,
        dlq: 0,
        alerts: 0,
        byDeviceType: new Map(),
        quality: { GOOD: 0, SUSPECT: 0, BAD: 0 },
        dlqReasons: new Map(),
        devices: new Set(),
      };
      this.buckets.set(minute, bucket);
      for (const old of this.buckets.keys()) if (old < minute - KEEP_MINUTES) this.buckets.delete(old);
    }
    return bucket;
  }

  /** A message reached `iot.raw`. */
  recordRaw(count = 1, time = this.now()): void {
    this.bucket(time).raw += count;
    this.lastMessageTime = Math.max(this.lastMessageTime ?? 0, time);
  }

  /** What the enrich stage did with one message. */
  recordOutcome(outcome: EnrichOutcomeSummary): void {
    const bucket = this.bucket(outcome.time);
    if (outcome.kind === 'enriched') {
      bucket.enriched++;
      bucket.alerts += outcome.alerts;
      if (outcome.deviceType)
        bucket.byDeviceType.set(outcome.deviceType, (bucket.byDeviceType.get(outcome.deviceType) ?? 0) + 1);
      if (outcome.verdict) bucket.quality[outcome.verdict]++;
    } else {
      bucket.dlq++;
      const reason = outcome.reason ?? 'UNKNOWN';
      bucket.dlqReasons.set(reason, (bucket.dlqReasons.get(reason) ?? 0) + 1);
    }
    if (outcome.deviceId) bucket.devices.add(outcome.deviceId);
  }

  /** A record dead-lettered by a stage other than enrich (bridge, consumer retries). */
  recordDeadLetter(reason: string, time = this.now()): void {
    const bucket = this.bucket(time);
    bucket.dlq++;
    bucket.dlqReasons.set(reason, (bucket.dlqReasons.get(reason) ?? 0) + 1);
  }

  /** A telemetry message's points were committed to the store `ms` after its device timestamp. */
  recordLatency(ms: number, time = this.now()): void {
    this.latencies.push({ time, ms });
    if (this.latencies.length > MAX_LATENCY_SAMPLES * 1.5)
      this.latencies = this.latencies.slice(-MAX_LATENCY_SAMPLES);
  }

  /** p50 and p99 of the latencies recorded in the last `windowMinutes`. */
  latencyPercentiles(windowMinutes: number): { p50: number | null; p99: number | null; samples: number } {
    const since = this.now() - windowMinutes * MINUTE;
    const values = this.latencies
      .filter((l) => l.time >= since)
      .map((l) => l.ms)
      .sort((a, b) => a - b);
    const at = (q: number) =>
      values.length === 0
        ? null
        : (values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] as number);
    return { p50: at(0.5), p99: at(0.99), samples: values.length };
  }

  snapshot(windowMinutes: number, totals: StageTotals): StatsSnapshot {
    const last = Math.floor(this.now() / MINUTE);
    const first = last - windowMinutes + 1;
    const byDeviceType: Record<string, number> = {};
    const quality = { GOOD: 0, SUSPECT: 0, BAD: 0 };
    const dlqReasons: Record<string, number> = {};
    const devices = new Set<string>();
    const perMinute: StatsSnapshot['perMinute'][number][] = [];
    for (let minute = first; minute <= last; minute++) {
      const bucket = this.buckets.get(minute);
      perMinute.push({
        minute: new Date(minute * MINUTE).toISOString(),
        raw: bucket?.raw ?? 0,
        enriched: bucket?.enriched ?? 0,
        dlq: bucket?.dlq ?? 0,
        alerts: bucket?.alerts ?? 0,
      });
      if (!bucket) continue;
      for (const [type, count] of bucket.byDeviceType) byDeviceType[type] = (byDeviceType[type] ?? 0) + count;
      for (const verdict of ['GOOD', 'SUSPECT', 'BAD'] as const) quality[verdict] += bucket.quality[verdict];
      for (const [reason, count] of bucket.dlqReasons) dlqReasons[reason] = (dlqReasons[reason] ?? 0) + count;
      for (const device of bucket.devices) devices.add(device);
    }
    return {
      windowMinutes,
      totals: { ...totals },
      byDeviceType,
      quality,
      perMinute,
      devicesSeen: devices.size,
      lastMessageTime:
        this.lastMessageTime === undefined ? null : new Date(this.lastMessageTime).toISOString(),
      dlqReasons,
    };
  }
}
