/**
 * Builders for valid raw messages of every device type and kind, for the core's unit tests. Plain,
 * deterministic data: every call returns a fresh object with the same content, whose readings are
 * inside their valid ranges and below every alert threshold of the seed registry.
 *
 * Overrides are merged deeply into plain objects (`{ measurements: { voltage: { phase_b: 126 } } }`
 * changes one phase); any other value replaces what is there, and `undefined` removes the field.
 */

export type TestMessage = Record<string, unknown>;

/** The reading time of every built message. */
export const TIMESTAMP = '2026-11-23T10:00:00.000Z';
/** When the platform received it: half a second later. */
export const RECEIVED_AT = Date.parse(TIMESTAMP) + 500;
/** When the enrich stage processed it. */
export const PROCESSED_AT = RECEIVED_AT + 25;

export const BREAKER_ID = 'breaker-001';
export const METER_ID = 'meter-001';
export const ENVIRONMENTAL_ID = 'env-001';
export const ACCESS_CONTROLLER_ID = 'f2-00000000000a';

/** The MQTT topic a device publishes on: `dt/{deviceType}/{deviceId}/{kind}`. */
export const topicFor = (deviceType: string, deviceId: string, kind = 'telemetry'): string =>
  `dt/${deviceType}/${deviceId}/${kind}`;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Deep merge of plain objects; `undefined` deletes, anything else replaces. Returns a new object. */
export function merge(base: TestMessage, overrides: TestMessage): TestMessage {
  const result: TestMessage = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = result[key];
    if (value === undefined) delete result[key];
    else if (isPlainObject(value) && isPlainObject(current)) result[key] = merge(current, value);
    else result[key] = value;
  }
  return result;
}

export function breakerTelemetry(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: BREAKER_ID,
      device_type: 'smart_breaker',
      timestamp: TIMESTAMP,
      event_type: 'telemetry',
      tags: { site: 'plant-1' },
      measurements: {
        voltage: { phase_a: 120.1, phase_b: 119.8, phase_c: 120.4 },
        current: { phase_a: 42.5, phase_b: 40.2, phase_c: 44.9 },
        power: { active: 14250.5, reactive: 4683.2, apparent: 15000.5, factor: 0.95 },
        frequency: 60.01,
        temperature: 45.2,
        status: { breaker: 1, position: 1, communication: 1 },
        protection: {
          trip_count: 2,
          ground_fault_current: 0.2,
          arc_fault_detected: false,
          harmonic_distortion: 3.1,
        },
        operational: { load_percentage: 42.5, operating_hours: 1234.5, maintenance_due: false },
      },
    },
    overrides,
  );
}

export function meterTelemetry(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: METER_ID,
      device_type: 'smart_meter',
      timestamp: TIMESTAMP,
      event_type: 'telemetry',
      measurements: { energy: 10512.75, demand: 42.3, power_factor: 0.93, voltage: 240.2, power: 42300 },
    },
    overrides,
  );
}

export function environmentalTelemetry(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: ENVIRONMENTAL_ID,
      device_type: 'environmental_sensor',
      timestamp: TIMESTAMP,
      event_type: 'telemetry',
      tags: { site: 'plant-1' },
      measurements: { temperature: 21.5, humidity: 45.2, pressure: 1013.2, battery: 88 },
    },
    overrides,
  );
}

/** RS-485 values: 00E6 = 23.0 °C, 01F4 = 50.0 %RH, 2794 = 1013.2 hPa, 01C2 = 450 ppm. */
export function accessControllerTelemetry(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: ACCESS_CONTROLLER_ID,
      device_type: 'f2_access_controller',
      timestamp: TIMESTAMP,
      event_type: 'telemetry',
      measurements: {
        door_sensors: { door_1: false, door_2: false },
        strikes: { strike_1: false, strike_2: false },
        exit_buttons: { button_1: false, button_2: false },
        motion_sensors: { motion_1: true, motion_2: false },
        sirens: { siren_1: false },
        readers: { nfc: '04A224B2C35E80' },
        rs485: { temperature: '00E6', humidity: '01F4', pressure: '2794', co2: '01C2' },
      },
    },
    overrides,
  );
}

/** Five-minute statistics of a breaker, every channel consistent (min <= avg, last <= max). */
export function breakerTrends(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: BREAKER_ID,
      device_type: 'smart_breaker',
      timestamp: TIMESTAMP,
      event_type: 'trends',
      window: { start: '2026-11-23T09:55:00.000Z', end: TIMESTAMP },
      measurements: {
        'voltage.phase_a': { avg: 120, min: 118.5, max: 121.7, last: 120.2, count: 60 },
        'voltage.phase_b': { avg: 119.9, min: 118.2, max: 121.5, last: 119.8, count: 60 },
        'current.phase_a': { avg: 42, min: 35.1, max: 50.3, last: 42.5, count: 60 },
        frequency: { avg: 60, min: 59.9, max: 60.1, last: 60.01, count: 60 },
        temperature: { avg: 44, min: 41.2, max: 46.8, last: 45.2, count: 60 },
      },
    },
    overrides,
  );
}

export function statusMessage(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: BREAKER_ID,
      device_type: 'smart_breaker',
      timestamp: TIMESTAMP,
      event_type: 'status',
      status: {
        online: true,
        firmware_version: '2.1.0',
        hardware_revision: 'B',
        uptime_s: 86400,
        counters: { sent: 17280, failed: 0 },
      },
    },
    overrides,
  );
}

export function eventMessage(overrides: TestMessage = {}): TestMessage {
  return merge(
    {
      device_id: BREAKER_ID,
      device_type: 'smart_breaker',
      timestamp: TIMESTAMP,
      event_type: 'event',
      event: {
        type: 'trip',
        severity: 'critical',
        message: 'Overcurrent trip on phase B',
        data: { reason: 'overcurrent', trip_current: 182.5, trip_count: 3 },
      },
    },
    overrides,
  );
}
