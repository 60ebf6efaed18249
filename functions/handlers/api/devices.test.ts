import { describe, expect, it } from 'vitest';
import { deviceSummaries, toDeviceSummary } from './devices.js';

const NOW = Date.parse('2026-11-23T12:00:00.000Z');
const device = (lastSeen: string, online?: boolean) => ({
  deviceId: 'b-1',
  deviceType: 'smart_breaker',
  firstSeen: '2026-11-23T10:00:00.000Z',
  lastSeen,
  messageCount: 5,
  ...(online === undefined ? {} : { online }),
});

describe('device status', () => {
  it('is online within three reporting intervals, offline after', () => {
    expect(toDeviceSummary(device('2026-11-23T11:57:00.000Z'), 60_000, NOW).status).toBe('online');
    expect(toDeviceSummary(device('2026-11-23T11:56:59.000Z'), 60_000, NOW).status).toBe('offline');
  });

  it('is offline when the device said so, however recent', () => {
    expect(toDeviceSummary(device('2026-11-23T11:59:59.000Z', false), 60_000, NOW).status).toBe('offline');
  });

  it('carries the record fields and nothing else', () => {
    expect(
      Object.keys(toDeviceSummary(device('2026-11-23T11:59:59.000Z', true), 60_000, NOW)).sort(),
    ).toEqual(['deviceId', 'deviceType', 'firstSeen', 'lastSeen', 'messageCount', 'status']);
  });
});

describe('device routes over a device store', () => {
  const store = (records: ReturnType<typeof device>[]) => ({
    listDevices: async () => ({ items: records, nextCursor: 'next' }),
    getDevice: async (deviceId: string) => records.find((r) => r.deviceId === deviceId),
  });

  it("judges each device on its type's reporting interval", async () => {
    const routes = deviceSummaries(
      store([device('2026-11-23T11:40:00.000Z')]),
      async () => 600,
      () => NOW,
    );

    const page = await routes.list({ limit: 10 });

    expect(page).toEqual({ items: [expect.objectContaining({ status: 'online' })], cursor: 'next' });
  });

  it('judges a device whose type is not registered on the default interval of a minute', async () => {
    const routes = deviceSummaries(
      store([device('2026-11-23T11:56:59.000Z')]),
      async () => undefined,
      () => NOW,
    );

    const summary = await routes.get('b-1');

    expect(summary?.status).toBe('offline');
    expect(await routes.get('unknown')).toBeUndefined();
  });
});
