/** Devices and messages for the transport tests (contract-shaped topics, opaque payloads). */
import type { SimMessage, TransportDevice } from '../types.js';

export function testDevice(deviceId: string, deviceType = 'smart-breaker'): TransportDevice {
  return {
    deviceId,
    deviceType,
    lastWill: {
      deviceId,
      deviceType,
      kind: 'status',
      topic: `dt/${deviceType}/${deviceId}/status`,
      payload: JSON.stringify({ deviceId, status: 'offline', reason: 'last-will' }),
      time: 0,
    },
  };
}

export function testDevices(count: number, prefix = 'dev'): TransportDevice[] {
  return Array.from({ length: count }, (_, index) =>
    testDevice(
      `${prefix}-${String(index).padStart(4, '0')}`,
      index % 2 === 0 ? 'smart-breaker' : 'energy-meter',
    ),
  );
}

/** `count` telemetry messages spread round-robin over `devices`, each payload unique. */
export function telemetryFor(devices: readonly TransportDevice[], count: number): SimMessage[] {
  return Array.from({ length: count }, (_, index) => {
    const device = devices[index % devices.length];
    if (!device) throw new Error('no devices');
    return {
      deviceId: device.deviceId,
      deviceType: device.deviceType,
      kind: 'telemetry',
      topic: `dt/${device.deviceType}/${device.deviceId}/telemetry`,
      payload: JSON.stringify({
        deviceId: device.deviceId,
        seq: index,
        measurements: { power: index * 1.5 },
      }),
      time: 1_700_000_000_000 + index * 1000,
    };
  });
}

/** Topic and payload pairs, sorted, for comparing what was sent with what arrived. */
export function sortedPairs(messages: ReadonlyArray<{ topic: string; payload: string }>): string[] {
  return messages.map((m) => `${m.topic} ${m.payload}`).sort();
}
