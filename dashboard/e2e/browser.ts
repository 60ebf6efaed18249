/**
 * Debian's chromium for the browser tests, driven by playwright-core (never `npx playwright install`).
 * `.ci/run` installs chromium with apt-get; on a machine without it the browser tests are skipped
 * (visibly), unless CI is set, where they are required and fail loudly. `startBrowserStack` is the
 * setup every browser test shares: the dashboard built, the local stack started, a page watched for
 * console errors and dialogs.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { type LocalPlatform, type LocalPlatformOptions, startLocalPlatform } from '../../local/runtime.js';
import { buildDashboard, LOCAL_CONFIG } from '../build.js';
import type { DashboardConfig } from '../config-shape.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumInstalled(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Browser tests run when chromium is installed, and always in CI (where its absence is a failure). */
export const browserTestsEnabled = (): boolean => process.env.CI !== undefined || chromiumInstalled();

/** A fresh browser: playwright gives every launch its own temporary user-data dir. */
export function launchChromium(): Promise<Browser> {
  if (!chromiumInstalled())
    throw new Error(
      `chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install chromium)`,
    );
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Polls `check` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What a browser test varies; the rest is the same for every one of them. */
export interface BrowserStackOptions {
  /** Prefix of the temporary directory that holds the built dashboard and the platform's data. */
  readonly name: string;
  /** Over LOCAL_CONFIG (what `npm start` serves). */
  readonly dashboard?: Partial<DashboardConfig>;
  /**
   * Over the defaults: no simulated fleet, and device bookkeeping every 200 ms instead of 5 s, so a
   * test sees a device soon after its message. Ports are always OS-picked.
   */
  readonly platform?: Omit<LocalPlatformOptions, 'dataDir' | 'dashboardDir' | 'mqttPort' | 'httpPort'>;
  /** The page's browser context (viewport, downloads). */
  readonly context?: BrowserContextOptions;
  /** Playwright's timeout for each wait on the page (default 60 s: a loaded two-core machine). */
  readonly waitMs?: number;
}

/** The local stack serving a freshly built dashboard, and a chromium page watching for errors. */
export interface BrowserStack {
  readonly platform: LocalPlatform;
  readonly browser: Browser;
  readonly page: Page;
  /** Console errors (`text @ url`) and uncaught page errors, in order: a test expects none or names them. */
  readonly consoleErrors: string[];
  /** Dialogs the page opened, each dismissed: device data run as HTML would open one. */
  readonly dialogs: string[];
  /** Closes the browser and the platform and removes the temporary directory. */
  stop(): Promise<void>;
}

export async function startBrowserStack(options: BrowserStackOptions): Promise<BrowserStack> {
  const work = await mkdtemp(join(tmpdir(), `${options.name}-`));
  let platform: LocalPlatform | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    try {
      await browser?.close();
    } finally {
      try {
        await platform?.stop();
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
  };
  try {
    const dashboardDir = await buildDashboard({
      outDir: join(work, 'dashboard'),
      config: { ...LOCAL_CONFIG, ...options.dashboard },
    });
    platform = await startLocalPlatform({
      deviceBookkeepingMs: 200,
      simulatedDevices: 0,
      ...options.platform,
      dataDir: join(work, 'data'),
      dashboardDir,
      mqttPort: 0,
      httpPort: 0,
    });
    browser = await launchChromium();
    const page = await (await browser.newContext(options.context)).newPage();
    page.setDefaultTimeout(options.waitMs ?? 60_000);
    const consoleErrors: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} @ ${message.location().url}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return { platform, browser, page, consoleErrors, dialogs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
