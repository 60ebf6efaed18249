/**
 * Pipeline statistics for `/api/stats` and the status line: every figure is counted from what actually
 * passed through the pipeline, in per-minute buckets (kept for a day). Totals since the data directory
 * was created come from the log's end offsets, passed in by the runtime, so they survive restarts.
 *
 * The same calls feed the Prometheus counters of `GET /metrics` (the `metrics` recorder): one counting
 * point per fact, so the two cannot disagree.
 */
import type { StatsSnapshot } from '../functions/handlers/api.js';
import type { EnrichOutcomeSummary } from '../functions/handlers/enrich.js';
import {
  type MetricsRecorder,
  NO_METRICS,
  recordAlert,
  recordDeadLetter,
  recordDeviceToQueryable,
  recordEnriched,
  recordRaw,
} from '../functions/shared/metrics.js';

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

/**
 * Latencies are kept as per-minute histograms, not as samples: `/api/stats` is polled (the dashboard,
 * the benchmark's drain loop every 100 ms), and sorting 100,000 samples per call cost the pipeline a
 * measurable share of its one thread. Buckets: exact milliseconds below 1 s, then 1 % wide (so a
 * percentile above 1 s is within 1 %), up to a day. A device clock ahead of the platform counts as 0 ms.
 */
const EXACT_BELOW_MS = 1000;
const LOG_STEP = Math.log(1.01);
const MAX_LATENCY_MS = 24 * 3600 * 1000;
const LATENCY_BUCKETS = EXACT_BELOW_MS + Math.ceil(Math.log(MAX_LATENCY_MS / EXACT_BELOW_MS) / LOG_STEP) + 1;

function latencyBucket(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms < EXACT_BELOW_MS) return Math.floor(ms);
  const index =
    EXACT_BELOW_MS + Math.floor(Math.log(Math.min(ms, MAX_LATENCY_MS) / EXACT_BELOW_MS) / LOG_STEP);
  return Math.min(index, LATENCY_BUCKETS - 1);
}

/** The lower bound of a bucket, in whole milliseconds. */
function bucketLatency(index: number): number {
  if (index < EXACT_BELOW_MS) return index;
  return Math.round(EXACT_BELOW_MS * Math.exp((index - EXACT_BELOW_MS) * LOG_STEP));
}

export class PipelineStats {
  private readonly buckets = new Map<number, MinuteBucket>();
  /** Minute -> latency histogram (see latencyBucket), allocated for minutes that had samples. */
  private readonly latencies = new Map<number, Uint32Array>();
  private lastMessageTime: number | undefined;
  private suppressed = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly metrics: MetricsRecorder = NO_METRICS,
  ) {}

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
    recordRaw(this.metrics, count);
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
      recordEnriched(this.metrics, outcome);
    } else {
      bucket.dlq++;
      const reason = outcome.reason ?? 'UNKNOWN';
      bucket.dlqReasons.set(reason, (bucket.dlqReasons.get(reason) ?? 0) + 1);
      recordDeadLetter(this.metrics, reason);
    }
    if (outcome.deviceId) bucket.devices.add(outcome.deviceId);
  }

  /**
   * Alert events produced outside the enrich stage (an operator's clear, the no-data evaluator's raises
   * and clears): like the enrich stage's, they are records of iot.alerts, counted in the alerts stage.
   */
  recordAlertEvents(events: readonly { readonly severity: string }[], time = this.now()): void {
    if (events.length === 0) return;
    this.bucket(time).alerts += events.length;
    for (const event of events) recordAlert(this.metrics, event.severity);
  }

  /** Matching messages of an already active alert condition (edge-triggered: no new alert). */
  recordSuppressedAlerts(count: number): void {
    this.suppressed += count;
  }

  /** Continuations suppressed since this process started. */
  get suppressedAlerts(): number {
    return this.suppressed;
  }

  /** A record dead-lettered by a stage other than enrich (bridge, consumer retries). */
  recordDeadLetter(reason: string, time = this.now()): void {
    const bucket = this.bucket(time);
    bucket.dlq++;
    bucket.dlqReasons.set(reason, (bucket.dlqReasons.get(reason) ?? 0) + 1);
    recordDeadLetter(this.metrics, reason);
  }

  /** A telemetry message's points were committed to the store `ms` after its device timestamp. */
  recordLatency(ms: number, time = this.now()): void {
    const minute = Math.floor(time / MINUTE);
    let histogram = this.latencies.get(minute);
    if (!histogram) {
      histogram = new Uint32Array(LATENCY_BUCKETS);
      this.latencies.set(minute, histogram);
      for (const old of this.latencies.keys()) if (old < minute - KEEP_MINUTES) this.latencies.delete(old);
    }
    histogram[latencyBucket(ms)] = (histogram[latencyBucket(ms)] ?? 0) + 1;
    recordDeviceToQueryable(this.metrics, ms);
  }

  /** p50 and p99 of the latencies recorded in the last `windowMinutes` (whole minutes, this one included). */
  latencyPercentiles(windowMinutes: number): { p50: number | null; p99: number | null; samples: number } {
    const last = Math.floor(this.now() / MINUTE);
    const merged = new Float64Array(LATENCY_BUCKETS);
    let samples = 0;
    for (const [minute, histogram] of this.latencies) {
      if (minute <= last - windowMinutes || minute > last) continue;
      for (let i = 0; i < LATENCY_BUCKETS; i++) {
        const count = histogram[i] ?? 0;
        if (count === 0) continue;
        merged[i] = (merged[i] ?? 0) + count;
        samples += count;
      }
    }
    const at = (q: number): number | null => {
      if (samples === 0) return null;
      // The nearest-rank percentile: the smallest value with at least q of the samples at or below it.
      const rank = Math.max(1, Math.ceil(q * samples));
      let seen = 0;
      for (let i = 0; i < LATENCY_BUCKETS; i++) {
        seen += merged[i] ?? 0;
        if (seen >= rank) return bucketLatency(i);
      }
      return bucketLatency(LATENCY_BUCKETS - 1);
    };
    return { p50: at(0.5), p99: at(0.99), samples };
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
