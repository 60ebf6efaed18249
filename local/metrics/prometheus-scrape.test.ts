/**
 * `GET /metrics` scraped by a real Prometheus server (Debian's package) while the simulator drives a
 * fleet through the local platform: the counters Prometheus stored agree with `/api/stats`, and every
 * panel of the Grafana dashboard queries a declared metric and answers with data.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsSnapshot } from '../../functions/handlers/api.js';
import { LOCAL_METRIC_NAMES, MESSAGE_STAGES } from '../../functions/shared/metrics.js';
import { PROJECT_ROOT } from '../../infra/lib/paths.js';
import { createSimulatedFleet, createTransport, runFleet } from '../../simulator/index.js';
import { type LocalPlatform, startLocalPlatform } from '../runtime.js';
import { type PrometheusServer, prometheusTestsEnabled, startPrometheus } from './test-prometheus.js';

interface GrafanaPanel {
  readonly title: string;
  readonly targets: readonly { readonly expr: string }[];
}
const grafana = JSON.parse(
  readFileSync(join(PROJECT_ROOT, 'observability', 'grafana', 'iot-cloud.json'), 'utf8'),
) as { panels: GrafanaPanel[] };

/** The metric names a PromQL expression reads (histogram series by their metric's name). */
function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:iot|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return names.map((name) => name.replace(/_(bucket|sum|count)$/, ''));
}

describe('the Grafana dashboard', () => {
  it('queries declared metrics only, in every panel', () => {
    expect(grafana.panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of grafana.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        const names = metricNames(expr);
        expect(names.length, expr).toBeGreaterThan(0);
        for (const name of names) expect(LOCAL_METRIC_NAMES, `${panel.title}: ${expr}`).toContain(name);
      }
    }
  });
});

describe.skipIf(!prometheusTestsEnabled())(
  'GET /metrics scraped by Prometheus during a simulator run',
  () => {
    let dataDir: string;
    let platform: LocalPlatform;
    let prometheus: PrometheusServer;
    let stats: StatsSnapshot;
    // A webhook receiver with one channel it accepts and one it fails, so both notification metrics count.
    let receiver: Server;

    const sumBy = async (promql: string, label: string) => {
      const result: Record<string, number> = {};
      for (const { metric, value } of await prometheus.query(promql))
        result[metric[label] ?? ''] = Number(value[1]);
      return result;
    };

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'iot-metrics-'));
      receiver = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          response.statusCode = request.url === '/fails' ? 500 : 204;
          response.end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      const receiverPort = (receiver.address() as AddressInfo).port;
      platform = await startLocalPlatform({
        dataDir,
        mqttPort: 0,
        httpPort: 0,
        simulatedDevices: 0,
        // One attempt: a failing delivery is counted at once, not after the default backoff.
        notificationRetry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10, attemptTimeoutMs: 5000 },
      });
      for (const [channelId, path] of [
        ['metrics-accepts', '/accepts'],
        ['metrics-fails', '/fails'],
      ]) {
        const response = await fetch(`${platform.httpUrl}/api/notification-channels/${channelId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            type: 'webhook',
            url: `http://127.0.0.1:${receiverPort}${path}`,
            minSeverity: 'low',
          }),
        });
        expect(response.status, await response.text()).toBe(201);
      }
      prometheus = await startPrometheus({ target: new URL(platform.httpUrl).host });

      // Prepare: a fleet at 40 messages/s for 12 s, some malformed (dead letters) and some faulty readings.
      const fleet = createSimulatedFleet({
        devices: 20,
        seed: 19,
        startTime: Date.now(),
        schedule: { mode: 'rate', messagesPerSecond: 40 },
        faults: { malformed: 0.05, overload: 0.05, ground_fault: 0.05, drift: 0.05 },
      });
      const transport = createTransport({ kind: 'mqtt', url: platform.mqttUrl, protocolVersion: 4 });
      const run = await runFleet({ fleet, transport, realTime: true, durationMs: 12_000 });
      expect(run.delivery.acked).toBeGreaterThan(200);

      // A publish is acknowledged once appended (to iot.raw, or iot.dlq when refused at ingest), so
      // every record is in the log now: the run is counted once no consumer is behind.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const status = platform.status();
        if (status.raw + status.dlq >= run.delivery.acked && status.lag === 0) break;
        if (Date.now() > deadline) throw new Error(`the pipeline did not settle: ${JSON.stringify(status)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      stats = (await (await fetch(`${platform.httpUrl}/api/stats?window=60m`)).json()) as StatsSnapshot;
      expect(platform.status().alerts).toBeGreaterThan(0);

      // Prometheus has scraped the settled counters (it scrapes every second).
      let last = '';
      const scraped = async () => {
        const byStage = await sumBy('sum by (stage) (iot_messages_total)', 'stage');
        const notified = await sumBy('sum by (outcome) (iot_notification_deliveries_total)', 'outcome');
        // Read each time: the no-data evaluator may add an event while this waits.
        const alertEvents = platform.status().alerts;
        last = JSON.stringify({ byStage, totals: stats.totals, notified, alertEvents });
        return (
          MESSAGE_STAGES.every((stage) => (byStage[stage] ?? 0) === stats.totals[stage]) &&
          // Each alert event on iot.alerts (raises and clears) goes to both channels: one delivered,
          // one failed. status().alerts counts the topic's records.
          (notified.delivered ?? 0) === alertEvents &&
          (notified.failed ?? 0) === alertEvents
        );
      };
      const scrapeDeadline = Date.now() + 20_000;
      while (!(await scraped())) {
        if (Date.now() > scrapeDeadline)
          throw new Error(`prometheus never saw the settled counters: ${last} ${prometheus.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }, 120_000);

    afterAll(async () => {
      try {
        await prometheus?.stop();
        receiver?.close();
        await platform?.stop();
      } finally {
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
      }
    });

    it('stores message counters per stage that agree with the totals and the windows of /api/stats', async () => {
      const byStage = await sumBy('sum by (stage) (iot_messages_total)', 'stage');

      for (const stage of MESSAGE_STAGES) {
        const windowed = stats.perMinute.reduce((total, minute) => total + minute[stage], 0);
        expect(byStage[stage] ?? 0, stage).toBe(stats.totals[stage]);
        expect(byStage[stage] ?? 0, stage).toBe(windowed);
      }
      expect(byStage.raw).toBeGreaterThan(0);
      expect(byStage.dlq).toBeGreaterThan(0);
    });

    it('stores quality verdicts, device types and dead-letter reasons as /api/stats counts them', async () => {
      const verdicts = await sumBy('sum by (verdict) (iot_quality_verdicts_total)', 'verdict');
      const types = await sumBy('sum by (device_type) (iot_quality_verdicts_total)', 'device_type');
      const reasons = await sumBy('sum by (reason) (iot_dead_letters_total)', 'reason');

      expect(verdicts).toEqual(Object.fromEntries(Object.entries(stats.quality).filter(([, n]) => n > 0)));
      expect(types).toEqual(stats.byDeviceType);
      // Every known reason is exported from the start, at 0 until counted (avoid missing metrics).
      expect(Object.fromEntries(Object.entries(reasons).filter(([, n]) => n > 0))).toEqual(stats.dlqReasons);
    });

    it('counts as many latency observations as /api/stats', async () => {
      const [count] = await prometheus.query('sum(iot_device_to_queryable_seconds_count)');

      expect(Number(count?.value[1])).toBe(stats.pipeline?.latencyMs?.samples);
    });

    it('answers every Grafana panel query with data', async () => {
      for (const panel of grafana.panels) {
        for (const { expr } of panel.targets) {
          // Grafana's $__rate_interval is at least four scrape intervals: one minute covers the run.
          const result = await prometheus.query(expr.replaceAll('$__rate_interval', '1m'));
          expect(result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        }
      }
    });
  },
);
