/** Unit tests of the dashboard's browser-free parts (no DOM, no network). */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { DEFAULT_CONFIG, parseConfig } from './config.js';
import { isChartable, labelled, readingsOf } from './measurements.js';
import { ViewScope } from './view.js';
import { decodeOriginal } from './views/inspector.js';

describe('config.json', () => {
  it('accepts the local and the Cognito shapes', () => {
    expect(parseConfig({ apiBase: '', auth: { mode: 'none' } })).toEqual({
      config: DEFAULT_CONFIG,
      problems: [],
    });
    const cognito = parseConfig({
      apiBase: 'https://api.example.com/',
      auth: { mode: 'cognito', domain: 'https://iot.auth.eu-west-1.amazoncognito.com', clientId: 'abc123' },
      pollIntervalMs: 10_000,
    });
    expect(cognito.problems).toEqual([]);
    expect(cognito.config).toEqual({
      apiBase: 'https://api.example.com',
      auth: { mode: 'cognito', domain: 'https://iot.auth.eu-west-1.amazoncognito.com', clientId: 'abc123' },
      pollIntervalMs: 10_000,
    });
  });

  it('reads the config.json of the CDK stack: /api as the base, a user pool without hosted UI as token mode', () => {
    const result = parseConfig({
      apiBase: '/api',
      region: 'eu-west-1',
      userPoolId: 'eu-west-1_abc',
      userPoolClientId: 'client',
    });
    expect(result).toEqual({ config: { ...DEFAULT_CONFIG, auth: { mode: 'token' } }, problems: [] });
    expect(parseConfig({ apiBase: 'https://api.example.com/api/' }).config.apiBase).toBe(
      'https://api.example.com',
    );
  });

  it('falls back to the same-origin default, naming what was wrong', () => {
    const result = parseConfig({
      apiBase: 'javascript:alert(1)',
      auth: { mode: 'cognito' },
      pollIntervalMs: 5,
    });
    expect(result.config).toEqual(DEFAULT_CONFIG);
    expect(result.problems).toHaveLength(3);
    expect(parseConfig('nonsense').problems).toEqual(['config.json is not an object']);
  });
});

describe('ViewScope', () => {
  afterEach(() => vi.useRealTimers());

  it('polls after each run has finished, never twice at once, and stops for good on dispose', async () => {
    vi.useFakeTimers();
    const scope = new ViewScope();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const release: (() => void)[] = [];
    const refresh = scope.poll(
      async () => {
        runs++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
      },
      1000,
      () => undefined,
    );
    expect(runs).toBe(1);
    refresh(); // asked again while running: runs once more right after, not in parallel
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(1);
    release.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2);
    release.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(scope.pendingTimers).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(3);
    scope.dispose();
    release.shift()?.();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toBe(3);
    expect(scope.pendingTimers).toBe(0);
    expect(scope.signal.aborted).toBe(true);
    expect(maxRunning).toBe(1);
  });

  it('reports a failed run and keeps polling', async () => {
    vi.useFakeTimers();
    const scope = new ViewScope();
    const errors: unknown[] = [];
    let runs = 0;
    scope.poll(
      async () => {
        runs++;
        throw new Error('boom');
      },
      1000,
      (error) => errors.push(error),
    );
    await vi.advanceTimersByTimeAsync(2500);
    expect(runs).toBe(3);
    expect(errors).toHaveLength(3);
    scope.dispose();
  });
});

describe('registry readings', () => {
  it('flattens groups into paths and charts only plain numbers', () => {
    const breaker = seedRegistry.deviceTypes.find((t) => t.typeId === 'smart_breaker');
    expect(breaker).toBeDefined();
    if (!breaker) return;
    const readings = readingsOf(breaker);
    expect(readings.get('voltage.phase_a')?.unit).toBe('V');
    expect(isChartable(readings.get('voltage.phase_a') ?? ({} as never))).toBe(true);
    // State codes have labelled values: a table shows them, a chart would not.
    const breakerState = readings.get('status.breaker');
    expect(breakerState && isChartable(breakerState)).toBe(false);
    expect(labelled(breakerState, 1)).toMatch(/^1 \(.+\)$/);
    expect(labelled(undefined, 'text')).toBe('text');
  });
});

describe('dead-letter originals', () => {
  it('decodes the original bytes as text, never as markup, and says when they are not base64', () => {
    const payload = JSON.stringify({ device_id: '<img src=x onerror=alert(1)>' });
    expect(decodeOriginal(Buffer.from(payload).toString('base64'))).toEqual({
      text: payload,
      json: JSON.parse(payload),
    });
    expect(decodeOriginal(Buffer.from([0xff, 0x41]).toString('base64')).text).toBe('\uFFFDA');
    expect(decodeOriginal('%%%').text).toBe('(the original is not valid base64)');
  });
});

/**
 * The DOM APIs that parse a string as markup (or code). Spelt in pieces so that a plain grep of the
 * dashboard for them finds nothing, this test included.
 */
const HTML_SINKS = new RegExp(
  [
    ['inner', 'HTML'],
    ['outer', 'HTML'],
    ['insertAdjacent', 'HTML'],
    ['document\\.', 'write'],
    ['createContextual', 'Fragment'],
    ['DOM', 'Parser'],
    ['eval', '\\('],
    ['new ', 'Function'],
  ]
    .map((parts) => parts.join(''))
    .join('|'),
);

describe('dashboard source', () => {
  it('never parses strings as HTML (device and user data are text)', async () => {
    // The pattern itself catches what it must.
    for (const sink of ['el.inner' + 'HTML = x', 'document.' + 'write(x)', 'eval' + '(x)'])
      expect(sink).toMatch(HTML_SINKS);
    const root = import.meta.dirname;
    const files = (await readdir(root, { recursive: true })).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = await readFile(join(root, file), 'utf8');
      expect(source, file).not.toMatch(HTML_SINKS);
    }
  });
});
