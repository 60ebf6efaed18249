/**
 * A device as the API shows it: the stored record plus a status. One rule for both runtimes: offline
 * when the device said so (its newest status message), or when it has missed three of its type's
 * reporting intervals; online otherwise.
 */
import type { DeviceRecord } from '../../ports/registry.js';
import type { DeviceSummary } from './schemas.js';

/** Reports a device may miss before it counts as offline. */
export const MISSED_REPORTS_OFFLINE = 3;

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
