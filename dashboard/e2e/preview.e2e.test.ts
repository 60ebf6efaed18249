/**
 * Issue 14 in a real browser against the local stack (no simulated fleet): the registry page's "Try a
 * payload" panel shows the preview's answer, decoded hex readings with their units, and device data as
 * text only; the device-type page previews a draft; the inspector shows an RS-485 hex register decoded
 * (23.0 °C, not 00E6 °C). Debian's chromium through playwright-core, like dashboard.e2e.test.ts.
 */
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlatform } from '../../local/runtime.js';
import {
  type BrowserStack,
  browserTestsEnabled,
  CHROMIUM_PATH,
  eventually,
  startBrowserStack,
} from './browser.js';

const WAIT = 60_000;
const HOSTILE = '<img src=x onerror=alert(document.domain)>';

let stack: BrowserStack;
let platform: LocalPlatform;
let page: Page;

/** An F2 controller message with an RS-485 temperature register: 0x00E6 = 230 * 0.1 = 23.0 °C. */
const f2Message = (deviceId: string, withStrikes: boolean) => ({
  device_id: deviceId,
  event_type: 'telemetry',
  timestamp: new Date().toISOString(),
  measurements: {
    door_sensors: { door_1: false, door_2: true },
    ...(withStrikes ? { strikes: { strike_1: false, strike_2: false } } : {}),
    rs485: { temperature: '00E6' },
  },
});

if (!browserTestsEnabled()) {
  describe('preview panel in chromium', () => {
    it.skip(`needs Debian's chromium at ${CHROMIUM_PATH}`, () => {});
  });
}

describe.skipIf(!browserTestsEnabled())(
  'preview panel and decoded readings in chromium',
  { timeout: 180_000 },
  () => {
    beforeAll(async () => {
      stack = await startBrowserStack({
        name: 'iot-preview-e2e',
        dashboard: { pollIntervalMs: 1000 },
        context: { viewport: { width: 1366, height: 900 } },
        waitMs: WAIT,
      });
      ({ platform, page } = stack);
      // Missing its required strikes: flagged, so the inspector keeps it for sure.
      const client = await mqtt.connectAsync(platform.mqttUrl, { clientId: 'preview-e2e' });
      await client.publishAsync(
        'dt/f2_access_controller/f2-e2e-1/telemetry',
        JSON.stringify(f2Message('f2-e2e-1', false)),
        { qos: 1 },
      );
      await client.endAsync();
      await page.goto(`${platform.httpUrl}/#/registry`);
    }, 240_000);

    afterAll(() => stack?.stop(), 120_000);

    it('Try a payload shows the enriched answer with decoded values and units', async () => {
      await page.locator('#preview-topic').fill('dt/f2_access_controller/f2-try-1/telemetry');
      await page.locator('#preview-payload').fill(JSON.stringify(f2Message('f2-try-1', true), null, 2));
      await page.locator('#preview-run').click();

      const result = page.locator('#preview-result[data-outcome="enriched"]');
      await result.waitFor();
      const text = (await result.textContent()) ?? '';
      expect(text).toContain('f2_access_controller');
      expect(text).toContain('23.0 °C (wire 00E6)');
      expect(text).toContain('Nothing was stored');
      expect((await page.request.get(`${platform.httpUrl}/api/devices/f2-try-1`)).status()).toBe(404);
    });

    it('shows a rejection, with device data as text and nothing run', async () => {
      await page.locator('#preview-topic').fill('');
      await page.locator('#preview-payload').fill(`{"device_id": "${HOSTILE}", "event_type": "telemetry"}`);
      await page.locator('#preview-run').click();

      const result = page.locator('#preview-result[data-outcome="rejected"]');
      await result.waitFor();
      expect(await result.locator('img').count()).toBe(0);
      expect(await result.locator('.reason').textContent()).toMatch(/^[A-Z_]+$/);
      expect(stack.dialogs).toEqual([]);
    });

    it('the device-type page previews a draft before saving it', async () => {
      await page.evaluate(() => {
        location.hash = '#/registry/types/f2_access_controller';
      });
      await page.locator('#device-type-preview').click();

      const summary = page.locator('#draft-preview-result .draft-summary');
      await summary.waitFor();
      expect(await summary.textContent()).toMatch(
        /^\d+ of \d+ recent message\(s\) of this type would change verdict/,
      );
    });

    it('the inspector shows an RS-485 hex reading decoded, with its unit', async () => {
      await eventually(async () => {
        const response = await page.request.get(
          `${platform.httpUrl}/api/messages?stage=enriched&deviceId=f2-e2e-1&limit=10`,
        );
        const body = (await response.json()) as { items: unknown[] };
        return body.items.length > 0 ? true : undefined;
      }, 'the flagged F2 message kept');
      await page.evaluate(() => {
        location.hash = '#/inspector?stage=enriched&device=f2-e2e-1';
      });
      await page.getByRole('button', { name: 'Inspect' }).first().click();

      const row = page.locator('.quality-table tr', { hasText: 'rs485.temperature' });
      await row.waitFor();
      expect(await row.textContent()).toContain('23.0 °C (wire 00E6)');
    });

    it('the device page shows the stored hex reading decoded, with its unit', async () => {
      await page.evaluate(() => {
        location.hash = '#/devices/f2-e2e-1';
      });

      // In the device page's own table: the inspector's row of the same reading may not be gone yet.
      const row = page
        .getByRole('region', { name: 'Latest values' })
        .locator('tr', { hasText: 'rs485.temperature' })
        .first();
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 3)).toEqual(['rs485.temperature', '23.0', '°C']);
      expect(stack.consoleErrors).toEqual([]);
    });
  },
);
