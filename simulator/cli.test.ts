import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main, parseCli, parseDuration } from './cli.js';
import { startAedes, startSubscriber, waitUntil } from './transports/test-broker.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['2', 2000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('refuses what it cannot read, saying what it expects', () => {
    expect(() => parseDuration('soon')).toThrow(/90s, 5m or 1h/);
  });
});

describe('parseCli', () => {
  it('defaults to 10 devices on the registry intervals with per-device connections to the local broker', () => {
    const options = parseCli([]);

    expect(options).toMatchObject({
      devices: 10,
      schedule: { mode: 'interval' },
      broker: 'mqtt://127.0.0.1:1883',
      mqttVersion: 4,
      connection: 'per-device',
      seed: 1,
    });
  });

  it('shares connections above 200 devices unless told otherwise', () => {
    expect(parseCli(['--devices', '1000']).connection).toBe('shared');
    expect(parseCli(['--devices', '1000', '--connection', 'per-device']).connection).toBe('per-device');
  });

  it('stops a dry run after 100 messages unless given a count or duration', () => {
    expect(parseCli(['--dry-run']).count).toBe(100);
    expect(parseCli(['--dry-run', '--duration', '1m']).count).toBeUndefined();
  });

  it.each([
    [['--rate', '10', '--interval', '5'], /not both/],
    [['--devices=-3'], /--devices must be a positive number/],
    [['--devices', '2.5'], /whole number/],
    [['--mqtt-version', '4'], /3.1.1 or 5/],
    [['--faults', 'gremlins=0.1'], /gremlins/],
    [['--endpoint', 'x.iot.eu-west-1.amazonaws.com'], /--credentials/],
    [['--credentials', 'dir', '--broker', 'mqtt://127.0.0.1:1883'], /not both/],
    [['--bogus'], /bogus/],
  ])('refuses %j with a message naming the problem', (argv, message) => {
    expect(() => parseCli(argv)).toThrow(message);
  });
});

describe('main', () => {
  let stderr: string[];

  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('publishes a fleet to an MQTT broker and reports what was acknowledged', async () => {
    const broker = await startAedes();
    const subscriber = await startSubscriber(broker.url);
    try {
      const code = await main([
        '--broker',
        broker.url,
        '--devices',
        '5',
        '--rate',
        '500',
        '--count',
        '60',
        '--seed',
        '4',
      ]);

      expect(code).toBe(0);
      await waitUntil(() => subscriber.messages.length >= 60, '60 messages at the subscriber');
      expect(new Set(subscriber.messages.map((m) => m.topic.split('/')[2]))).toEqual(
        new Set(['breaker-00001', 'meter-00001', 'env-00001', 'f2-00001', 'breaker-00002']),
      );
      expect(stderr.join('')).toMatch(/delivery: sent 60, acknowledged 60, failed 0/);
    } finally {
      await subscriber.close();
      await broker.close();
    }
  });

  it('fails clearly, with exit code 1, when the broker is unreachable', async () => {
    const code = await main(['--broker', 'mqtt://127.0.0.1:1', '--devices', '1', '--count', '1']);

    expect(code).toBe(1);
    expect(stderr.join('')).toMatch(/simulation failed: .*127\.0\.0\.1:1/);
  });

  it('exits 2 with usage for bad arguments', async () => {
    const code = await main(['--types', 'toaster', '--dry-run']);

    expect(code).toBe(2);
    expect(stderr.join('')).toMatch(/unknown device type "toaster"/);
  });

  it('refuses --credentials without a provisioning manifest, saying how to make one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'iotcloud-creds-'));
    try {
      await writeFile(join(empty, 'unrelated.txt'), 'x');
      const code = await main(['--credentials', empty, '--count', '1']);

      expect(code).toBe(2);
      expect(stderr.join('')).toMatch(/npm run provision/);
    } finally {
      await rm(empty, { recursive: true });
    }
  });
});
