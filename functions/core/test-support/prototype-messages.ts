/**
 * The prototypes' device messages (issue 14's table), in the exact shape of
 * ../shared/reference/prototype-wire-formats.md, each on its own topic. Times are the caller's clock,
 * written the way each prototype writes them (naive isoformat with microseconds, epoch seconds, Z).
 */

/** Python's `datetime.now().isoformat()` on a UTC clock: no zone, microseconds. */
export const naiveIso = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}594`;

export interface PrototypeMessage {
  readonly name: string;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

export function prototypeMessages(now: number, ids: { readonly suffix?: string } = {}): PrototypeMessage[] {
  const suffix = ids.suffix ?? '';
  const breaker = `breaker-001${suffix}`;
  const sensor = `sensor-007${suffix}`;
  const controller = `f2-e4fd45f654be${suffix}`;
  return [
    {
      name: 'IoT Cloud MQTT simulator telemetry',
      topic: `iot/${breaker}/raw`,
      payload: {
        device_id: breaker,
        device_type: 'smart_breaker',
        timestamp: naiveIso(now),
        event_type: 'telemetry',
        measurements: {
          voltage: { phase_a: 117.27, phase_b: 112.34, phase_c: 114.52, unit: 'V' },
          current: { phase_a: 69.94, phase_b: 33.83, phase_c: 54.86, unit: 'A' },
          power: { active: 5775.99, reactive: 1945.16, apparent: 6094.73, factor: 0.948, unit: 'W' },
          frequency: { value: 59.28, unit: 'Hz' },
          temperature: { value: 34.92, unit: '°C' },
          status: { breaker: 1, position: 1, communication: 1 },
          protection: { trip_count: 5, ground_fault_current: 0.0, arc_fault_detected: false },
          operational: { load_percentage: 48.1, operating_hours: 982.8, maintenance_due: true },
        },
      },
    },
    {
      name: 'IoT Cloud MQTT simulator trends',
      topic: `iot/${breaker}/trends`,
      payload: {
        device_id: breaker,
        device_type: 'smart_breaker',
        timestamp: naiveIso(now).slice(0, 19),
        event_type: 'trends',
        trends: [
          { c: 'voltage_phase_a', v: 117.27, avg: 118.5, min: 115.2, max: 122.1, t: Math.floor(now / 1000) },
          {
            c: 'current_phase_a',
            t: Math.floor(now / 1000) - 60,
            v: '52.36',
            avg: '50.4',
            min: '48.8',
            max: '55.88',
          },
        ],
      },
    },
    {
      name: 'IoT Cloud MQTT simulator status',
      topic: `iot/${breaker}/status`,
      payload: {
        device_id: breaker,
        device_type: 'smart_breaker',
        timestamp: naiveIso(now),
        event_type: 'status',
        status: {
          online: true,
          last_telemetry: now / 1000 - 0.17,
          message_count: 6,
          uptime_hours: 12.5,
          firmware_version: '2.1.0',
          hardware_revision: 'A',
        },
      },
    },
    {
      name: "003's generator",
      topic: `dt/environmental_sensor/${sensor}/telemetry`,
      payload: {
        device_id: sensor,
        timestamp: new Date(now).toISOString().replace('.000Z', 'Z'),
        temperature: 22.4,
        humidity: 41.7,
        status: 'OK',
      },
    },
    {
      name: "004's F2 controller door sensors",
      topic: `cmnd/${controller}/access-control-mode/J1/door-sensors`,
      payload: { timestamp: naiveIso(now), 'door-sensor-1': false, 'door-sensor-2': true },
    },
  ];
}
