/**
 * The alert lifecycle in the dashboard (issue 15), in Debian's chromium against the local stack: a
 * reading over a seed rule's threshold is published over MQTT, the header badge counts the active alert,
 * the alerts view acknowledges it with a note and then clears it through its buttons (writes carrying
 * the configured token), the state filter follows each change, and the device page shows the history:
 * the raise, cleared, with its note, and the operator's clear event.
 */
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../functions/ports/registry.js';
import type { LocalPlatform } from '../../local/runtime.js';
import { type BrowserStack, browserTestsEnabled, eventually, startBrowserStack } from './browser.js';

const TOKEN = 'e2e-alerts-token-0123456789';
const DEVICE = 'env-e2e-alert-1';
const NOTE = 'fan replaced, watching it';
const WAIT = 60_000;

describe.skipIf(!browserTestsEnabled())(
  'alert lifecycle in chromium (local stack)',
  { timeout: 180_000 },
  () => {
    let stack: BrowserStack;
    let platform: LocalPlatform;
    let page: Page;
    /** Authorization header of every POST to /api/alerts/... */
    const writes: { path: string; authorization: string | undefined }[] = [];

    const alertsOf = async (query: string): Promise<AlertRecord[]> => {
      const response = await fetch(`${platform.httpUrl}/api/alerts?${query}`);
      if (!response.ok) throw new Error(`/api/alerts?${query}: HTTP ${response.status}`);
      return ((await response.json()) as { items: AlertRecord[] }).items;
    };
    const go = (hash: string) =>
      page.evaluate((h) => {
        location.hash = h;
      }, hash);
    /** The badge's count, or undefined until its first count has answered (`data-count` is '' before). */
    const badgeCount = async () =>
      (await page.locator('#active-alerts').getAttribute('data-count')) || undefined;

    beforeAll(async () => {
      // No simulated fleet: the one alert of this test is the only one, so the badge's count is exact.
      stack = await startBrowserStack({
        name: 'iot-alerts-e2e',
        dashboard: { pollIntervalMs: 1000, auth: { mode: 'none' } },
        platform: { apiToken: TOKEN, simulatedDevices: 0 },
        context: { viewport: { width: 1366, height: 900 } },
        waitMs: WAIT,
      });
      ({ platform, page } = stack);
      page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname.startsWith('/api/alerts/'))
          writes.push({
            path: new URL(request.url()).pathname,
            authorization: request.headers().authorization,
          });
      });
      // The operator has entered the token before (the sign-in flow itself is auth.e2e.test.ts).
      await page.addInitScript((token) => sessionStorage.setItem('iot-cloud.token', token), TOKEN);
      await page.goto(`${platform.httpUrl}/#/overview`);
    }, 240_000);

    afterAll(() => stack?.stop(), 120_000);

    it('counts a raised alert in the header, acknowledges and clears it, and shows it in the device history', async () => {
      // Prepare: 45.5 °C is over the environmental sensor's seed rule `temperature-high`.
      expect(await eventually(badgeCount, 'the first count of the badge')).toBe('0');
      const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: 'alerts-e2e-device' });
      await client.publishAsync(
        `dt/environmental_sensor/${DEVICE}/telemetry`,
        JSON.stringify({
          device_id: DEVICE,
          timestamp: new Date().toISOString(),
          event_type: 'telemetry',
          measurements: { temperature: 45.5, humidity: 30, pressure: 1010 },
        }),
        { qos: 1 },
      );
      await client.endAsync();
      const raised = await eventually(
        async () => (await alertsOf(`deviceId=${DEVICE}&state=active`))[0],
        'the raise in /api/alerts',
      );
      expect(raised).toMatchObject({ rule_id: 'temperature-high', lifecycle: { state: 'active' } });

      // The badge counts it on its poll, without a reload.
      await eventually(async () => ((await badgeCount()) === '1' ? true : undefined), 'the badge at 1');
      expect(await page.locator('#active-alerts').textContent()).toBe('1 active alerts');

      // Act: acknowledge with a note, from the alerts view filtered to active alerts (the badge's link).
      await page.locator('#active-alerts').click();
      await expect.poll(() => page.getByLabel('State').inputValue(), { timeout: WAIT }).toBe('active');
      const row = page.locator('tbody tr', { hasText: DEVICE });
      await row.getByRole('button', { name: `Acknowledge alert ${raised.alert_id}` }).click();
      await row.getByLabel(`Note for alert ${raised.alert_id} (optional)`).fill(NOTE);
      await row.getByRole('button', { name: 'Confirm acknowledge' }).click();

      // Assess: stored, gone from the active filter, counted out of the badge.
      const acknowledged = await eventually(
        async () => (await alertsOf(`deviceId=${DEVICE}&state=acknowledged`))[0],
        'the acknowledged alert in /api/alerts',
      );
      expect(acknowledged.lifecycle).toMatchObject({ state: 'acknowledged', note: NOTE });
      await page.getByText('No alert matches these filters.').waitFor();
      await eventually(async () => ((await badgeCount()) === '0' ? true : undefined), 'the badge back at 0');

      await page.getByLabel('State').selectOption('acknowledged');
      const acknowledgedRow = page.locator('tbody tr', { hasText: DEVICE });
      await acknowledgedRow.locator('[data-state="acknowledged"]').waitFor();
      expect(
        await acknowledgedRow.getByRole('button', { name: `Acknowledge alert ${raised.alert_id}` }).count(),
      ).toBe(0);

      // Act: clear it.
      await acknowledgedRow.getByRole('button', { name: `Clear alert ${raised.alert_id}` }).click();
      await page.getByText('No alert matches these filters.').waitFor();
      await page.getByLabel('State').selectOption('cleared');
      await page.locator('tbody tr', { hasText: DEVICE }).locator('[data-state="cleared"]').waitFor();
      const [cleared] = await alertsOf(`deviceId=${DEVICE}&state=cleared`);
      expect(cleared?.lifecycle).toMatchObject({ state: 'cleared', cleared_by: 'operator', note: NOTE });

      // Both writes carried the configured token.
      expect(writes).toEqual([
        {
          path: `/api/alerts/${encodeURIComponent(raised.alert_id)}/acknowledge`,
          authorization: `Bearer ${TOKEN}`,
        },
        {
          path: `/api/alerts/${encodeURIComponent(raised.alert_id)}/clear`,
          authorization: `Bearer ${TOKEN}`,
        },
      ]);

      // The device page: the raise (cleared, with its note) and the operator's clear event.
      await go(`#/devices/${DEVICE}`);
      const history = page.getByRole('table', { name: 'Alert history of this device, newest first' });
      await history.locator('[data-state="cleared"]').waitFor();
      await history.getByText('clear (operator)').waitFor();
      await history.getByText(NOTE).waitFor();
      expect(stack.consoleErrors).toEqual([]);
    });
  },
);
