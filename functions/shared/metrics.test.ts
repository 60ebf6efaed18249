import { describe, expect, it } from 'vitest';
import {
  DECLARED_METRICS,
  METRICS,
  type MetricDeclaration,
  type MetricsRecorder,
  recordEnriched,
  recordNotificationDelivery,
  timedBatch,
} from './metrics.js';

/** Keeps what is recorded, as `name{label=value,...}` -> sum or observations. */
class MemoryRecorder implements MetricsRecorder {
  readonly counts = new Map<string, number>();
  readonly observations = new Map<string, number[]>();
  private key(metric: MetricDeclaration, labels: object) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    return `${metric.name}{${pairs.join(',')}}`;
  }
  add(metric: MetricDeclaration, labels: object, value = 1) {
    const key = this.key(metric, labels);
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }
  observe(metric: MetricDeclaration, labels: object, value: number) {
    const key = this.key(metric, labels);
    this.observations.set(key, [...(this.observations.get(key) ?? []), value]);
  }
}

describe('the metrics declaration', () => {
  it.each(DECLARED_METRICS.map((m) => [m.name, m] as const))(
    '%s follows the Prometheus naming rules',
    (name, metric) => {
      expect(name).toMatch(/^iot_[a-z0-9_]+$/);
      if (metric.kind === 'counter') expect(name).toMatch(/_total$/);
      if (metric.unit === 'seconds') expect(name).toMatch(/_seconds$/);
      if (metric.kind === 'histogram') expect(metric.buckets?.length).toBeGreaterThan(0);
      for (const label of metric.labels) expect(label).toMatch(/^[a-z][a-z_]*$/);
      expect(metric.help.length).toBeGreaterThan(10);
    },
  );

  it('declares each name once', () => {
    const names = DECLARED_METRICS.map((m) => m.name);

    expect(new Set(names).size).toBe(names.length);
  });
});

describe('recording functions', () => {
  it('counts a failed notification as a delivery attempt and as a failure with its reason', () => {
    const recorder = new MemoryRecorder();

    recordNotificationDelivery(recorder, { channel: 'webhook', outcome: 'delivered' });
    recordNotificationDelivery(recorder, { channel: 'webhook', outcome: 'failed', reason: 'TIMEOUT' });

    expect(Object.fromEntries(recorder.counts)).toEqual({
      'iot_notification_deliveries_total{channel=webhook,outcome=delivered}': 1,
      'iot_notification_deliveries_total{channel=webhook,outcome=failed}': 1,
      'iot_notification_failures_total{channel=webhook,reason=TIMEOUT}': 1,
    });
  });

  it('counts an enriched message, its verdict by device type and each alert by severity', () => {
    const recorder = new MemoryRecorder();

    recordEnriched(recorder, {
      deviceType: 'smart_breaker',
      verdict: 'SUSPECT',
      alerts: 2,
      alertSeverities: ['high', 'low'],
    });

    expect(recorder.counts.get(`${METRICS.messages.name}{stage=enriched}`)).toBe(1);
    expect(recorder.counts.get(`${METRICS.messages.name}{stage=alerts}`)).toBe(2);
    expect(
      recorder.counts.get(`${METRICS.qualityVerdicts.name}{device_type=smart_breaker,verdict=SUSPECT}`),
    ).toBe(1);
    expect(recorder.counts.get(`${METRICS.alerts.name}{severity=high}`)).toBe(1);
    expect(recorder.counts.get(`${METRICS.alerts.name}{severity=low}`)).toBe(1);
  });

  it('times a batch that throws too, in seconds', async () => {
    const recorder = new MemoryRecorder();
    let clock = 1000;
    const now = () => clock;

    await expect(
      timedBatch(
        recorder,
        'enrich',
        7,
        async () => {
          clock += 250;
          throw new Error('boom');
        },
        now,
      ),
    ).rejects.toThrow('boom');

    expect(recorder.observations.get(`${METRICS.batchRecords.name}{handler=enrich}`)).toEqual([7]);
    expect(recorder.observations.get(`${METRICS.batchDuration.name}{handler=enrich}`)).toEqual([0.25]);
  });
});
