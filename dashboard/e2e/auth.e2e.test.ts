/**
 * Writes against a local server started with an API token: the dashboard's config says "none" (as
 * `npm start -- --api-token` builds it), the first write is refused with 401, the dashboard asks for the
 * token, and the same write then succeeds. Reads never need it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../local/runtime.js';
import { buildDashboard, LOCAL_CONFIG } from '../build.js';
import { browserTestsEnabled, launchChromium } from './browser.js';

const TOKEN = 'e2e-local-token-0123456789';
const APP_NAME = `E2E Token App ${Date.now().toString(36)}`;

describe.skipIf(!browserTestsEnabled())(
  'dashboard writes with a local API token',
  { timeout: 180_000 },
  () => {
    let work: string;
    let platform: LocalPlatform;
    let browser: Browser;
    let page: Page;
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'iot-dashboard-auth-'));
      const dashboardDir = await buildDashboard({
        outDir: join(work, 'dashboard'),
        config: { ...LOCAL_CONFIG, auth: { mode: 'none' } },
      });
      platform = await startLocalPlatform({
        dataDir: join(work, 'data'),
        // Bookkeeping more often than the default 5 s, so a test sees a device soon after its message.
        deviceBookkeepingMs: 200,
        mqttPort: 0,
        httpPort: 0,
        dashboardDir,
        simulatedDevices: 0,
        apiToken: TOKEN,
      });
      browser = await launchChromium();
      page = await (await browser.newContext()).newPage();
      page.setDefaultTimeout(60_000);
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`${message.text()} @ ${message.location().url}`);
      });
      page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await platform?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    }, 120_000);

    it('asks for the token at the first 401 and then writes with it', async () => {
      await page.goto(`${platform.httpUrl}/#/registry/apps/new`);
      await page.getByLabel('Name').fill(APP_NAME);
      await page.getByLabel('Developer').fill('Token Labs');
      await page.getByLabel('Contact e-mail').fill('token@example.com');
      await page.getByLabel('Category').fill('monitoring');
      await page.getByLabel('Smart Circuit Breaker (smart_breaker)').check();
      await page.getByRole('button', { name: 'Register' }).click();
      await page.locator('#app-form-error').getByText('UNAUTHORIZED').waitFor();

      const tokenField = page.getByLabel('API token (for changes)');
      await tokenField.fill(TOKEN);
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      // The token stays in this tab only: sessionStorage, never a cookie or localStorage.
      expect(
        await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]),
      ).toEqual([1, 0, '']);

      await page.getByRole('button', { name: 'Register' }).click();
      await page.getByText(`${APP_NAME} is registered.`).waitFor();
      const listed = (await (await fetch(`${platform.httpUrl}/api/applications`)).json()) as {
        items: { name: string }[];
      };
      expect(listed.items.map((a) => a.name)).toContain(APP_NAME);
      // The one refused write is the only console error.
      expect(consoleErrors).toHaveLength(1);
      expect(consoleErrors[0]).toMatch(/status of 401 .* @ .*\/api\/applications$/);
    });
  },
);
