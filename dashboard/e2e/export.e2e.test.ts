/**
 * Export from the dashboard (issue 16) in a real browser against the local stack: a device's chart
 * offers CSV and Parquet downloads of its window; clicking them downloads files the API wrote (the
 * CSV's header names the measure with its unit, the Parquet file starts and ends with PAR1). Debian's
 * chromium driven by playwright-core, as dashboard.e2e.test.ts.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlatform } from '../../local/runtime.js';
import { type BrowserStack, browserTestsEnabled, eventually, startBrowserStack } from './browser.js';

const WAIT = 60_000;

let stack: BrowserStack;
let platform: LocalPlatform;
let page: Page;

describe.skipIf(!browserTestsEnabled())(
  'chart downloads in chromium (local stack)',
  { timeout: 180_000 },
  () => {
    beforeAll(async () => {
      stack = await startBrowserStack({
        name: 'iot-export-e2e',
        dashboard: { pollIntervalMs: 1000 },
        platform: { simulatedDevices: 4, seed: 11 },
        context: { acceptDownloads: true, viewport: { width: 1366, height: 900 } },
        waitMs: WAIT,
      });
      ({ platform, page } = stack);
    }, 240_000);

    afterAll(() => stack?.stop(), 120_000);

    it('downloads a chart window as CSV and as Parquet', async () => {
      // A breaker with stored voltage points: its chart has something to export.
      const deviceId = await eventually(async () => {
        const response = await fetch(`${platform.httpUrl}/api/devices?deviceType=smart_breaker`);
        const { items } = (await response.json()) as { items: { deviceId: string; messageCount: number }[] };
        return items.find((d) => d.messageCount > 0)?.deviceId;
      }, 'a breaker with stored messages');
      await page.goto(`${platform.httpUrl}/#/devices/${encodeURIComponent(deviceId)}`);
      const card = page.locator('figure.chart-card[data-measure="voltage.phase_a"]');
      const csvButton = card.locator('button[data-export="csv"]');
      await csvButton.waitFor();
      // A stored message need not carry a voltage (status and event messages do not): the download has
      // rows once the chart, reading the same store over the same window, shows points.
      await eventually(
        async () => (Number(await card.locator('.chart').getAttribute('data-points')) > 0 ? true : undefined),
        'voltage points in the chart',
      );

      const [csv] = await Promise.all([page.waitForEvent('download'), csvButton.click()]);
      const [parquet] = await Promise.all([
        page.waitForEvent('download'),
        card.locator('button[data-export="parquet"]').click(),
      ]);

      const csvText = await readFile(await csv.path(), 'utf8');
      const lines = csvText.trimEnd().split('\r\n');
      expect(csv.suggestedFilename()).toMatch(
        new RegExp(`^${deviceId}_\\d{8}T\\d{6}Z_\\d{8}T\\d{6}Z\\.csv$`),
      );
      expect(lines[0]).toBe('time,voltage_phase_a [V]');
      expect(lines.length).toBeGreaterThan(1);
      expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,\d+(\.\d+)?$/);
      const bytes = await readFile(await parquet.path());
      expect(parquet.suggestedFilename()).toMatch(/\.parquet$/);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
      expect(bytes.subarray(-4).toString('latin1')).toBe('PAR1');
      expect(stack.consoleErrors).toEqual([]);
    });
  },
);
