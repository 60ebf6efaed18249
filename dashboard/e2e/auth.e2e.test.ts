/**
 * Writes against a local server started with an API token: the dashboard's config says "none" (as
 * `npm start -- --api-token` builds it), the first write is refused with 401, the dashboard asks for the
 * token, and the same write then succeeds. Reads never need it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPlatform } from '../../local/runtime.js';
import { type BrowserStack, browserTestsEnabled, startBrowserStack } from './browser.js';

const TOKEN = 'e2e-local-token-0123456789';
const APP_NAME = `E2E Token App ${Date.now().toString(36)}`;

describe.skipIf(!browserTestsEnabled())(
  'dashboard writes with a local API token',
  { timeout: 180_000 },
  () => {
    let stack: BrowserStack;
    let platform: LocalPlatform;
    let page: Page;

    beforeAll(async () => {
      // The dashboard's config says "none" and the server wants a token, as `npm start -- --api-token`.
      stack = await startBrowserStack({
        name: 'iot-dashboard-auth',
        dashboard: { auth: { mode: 'none' } },
        platform: { apiToken: TOKEN },
      });
      ({ platform, page } = stack);
    }, 180_000);

    afterAll(() => stack?.stop(), 120_000);

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
      expect(stack.consoleErrors).toHaveLength(1);
      expect(stack.consoleErrors[0]).toMatch(/status of 401 .* @ .*\/api\/applications$/);
    });
  },
);
