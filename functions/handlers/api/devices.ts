/**
 * A device as the API shows it: the stored record plus a status. One rule for both runtimes: offline
 * when the device said so (its newest status message), or when it has missed three of its type's
 * reporting intervals; online otherwise.
 */
import type { DeviceListQuery, DeviceRecord, DeviceStore } from '../../ports/registry.js';
import type { DeviceSummary } from './schemas.js';

/** Reports a device may miss before it counts as offline. */
export const MISSED_REPORTS_OFFLINE = 3;

/** Reporting interval assumed for a device whose type is not (or no longer) registered. */
export const DEFAULT_REPORTING_INTERVAL_MS = 60_000;

export function toDeviceSummary(
  device: DeviceRecord,
  reportingIntervalMs: number,
  now: number = Date.now(),
): DeviceSummary {
  const silentFor = now - Date.parse(device.lastSeen);
  const missedReports = silentFor > MISSED_REPORTS_OFFLINE * reportingIntervalMs;
  return {
    deviceId: device.deviceId,
    deviceType: device.deviceType,
    firstSeen: device.firstSeen,
    lastSeen: device.lastSeen,
    messageCount: device.messageCount,
    status: device.online === false || missedReports ? 'offline' : 'online',
  };
}

/**
 * The device routes over a device store: each record as a summary, its status from its type's
 * reporting interval (`reportingSeconds` answers undefined for a type not or no longer registered).
 */
export function deviceSummaries(
  store: Pick<DeviceStore, 'listDevices' | 'getDevice'>,
  reportingSeconds: (typeId: string) => Promise<number | undefined>,
  now: () => number,
) {
  const summary = async (device: DeviceRecord): Promise<DeviceSummary> => {
    const seconds = (await reportingSeconds(device.deviceType)) ?? DEFAULT_REPORTING_INTERVAL_MS / 1000;
    return toDeviceSummary(device, seconds * 1000, now());
  };
  return {
    list: async (query: DeviceListQuery) => {
      const page = await store.listDevices(query);
      return {
        items: await Promise.all(page.items.map(summary)),
        ...(page.nextCursor ? { cursor: page.nextCursor } : {}),
      };
    },
    get: async (deviceId: string) => {
      const device = await store.getDevice(deviceId);
      return device ? summary(device) : undefined;
    },
  };
}
