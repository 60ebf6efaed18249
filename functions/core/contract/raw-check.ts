/**
 * The raw-message contract check on the hot path. The contract itself is the zod schema in
 * messages.ts; this is a direct, allocation-free transcription of it, because a generic validator
 * (zod or Ajv) cost more than all the other per-message work together (see the benchmark note in the
 * README). `raw-check.test.ts` holds the two in agreement: a property test feeds both the same random
 * and mutated messages and requires the same accept/reject answer.
 */
import {
  DEVICE_ID_PATTERN,
  ISO_TIMESTAMP_PATTERN,
  isLengthWithin,
  MEASUREMENT_KEY_PATTERN,
  MEASUREMENT_PATH_PATTERN,
  MESSAGE_ID_PATTERN,
  SLUG_PATTERN,
  TYPE_ID_PATTERN,
} from './identifiers.js';
import type { EventType, RawMessage } from './messages.js';

export type ContractCheck = { ok: true; message: RawMessage } | { ok: false; path: string; detail: string };

type Problem = { path: string; detail: string };

const MAX_WIRE_STRING = 2048;
const MAX_TAG_LENGTH = 64;
const EVENT_SEVERITIES: ReadonlySet<unknown> = new Set(['critical', 'high', 'medium', 'low', 'info']);

const ENVELOPE_KEYS = ['device_id', 'device_type', 'timestamp', 'message_id', 'tags', 'event_type'];
const ALLOWED_KEYS: Record<EventType, ReadonlySet<string>> = {
  telemetry: new Set([...ENVELOPE_KEYS, 'measurements', 'units']),
  trends: new Set([...ENVELOPE_KEYS, 'window', 'measurements']),
  status: new Set([...ENVELOPE_KEYS, 'status']),
  event: new Set([...ENVELOPE_KEYS, 'event']),
};
const STATUS_KEYS: ReadonlySet<string> = new Set([
  'online',
  'firmware_version',
  'hardware_revision',
  'uptime_s',
  'counters',
]);
const EVENT_KEYS: ReadonlySet<string> = new Set(['type', 'severity', 'message', 'data']);
const STAT_KEYS: ReadonlySet<string> = new Set(['avg', 'min', 'max', 'last', 'count']);
const WINDOW_KEYS: ReadonlySet<string> = new Set(['start', 'end']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** JSON numbers can overflow to Infinity ("1e999"); the contract, like zod, takes finite numbers only. */
const isFiniteNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

const isWireScalar = (value: unknown): boolean =>
  value === null ||
  isFiniteNumber(value) ||
  typeof value === 'boolean' ||
  (typeof value === 'string' && isLengthWithin(value, 0, MAX_WIRE_STRING));

const joinPath = (base: string, key: string) => `${base}.${key}`;

/**
 * Measurement keys (and trend paths) already seen to match their pattern. Fleets send the same few dozen keys in every
 * message; a set lookup is cheaper than running the regex again. Bounded, so odd keys cannot grow it.
 */
const validMeasurementKeys = new Set<string>();
const MAX_REMEMBERED_KEYS = 4096;

function rememberIfMatching(remembered: Set<string>, pattern: RegExp, key: string): boolean {
  if (remembered.has(key)) return true;
  if (!pattern.test(key)) return false;
  if (remembered.size >= MAX_REMEMBERED_KEYS) remembered.clear();
  remembered.add(key);
  return true;
}

const validMeasurementPaths = new Set<string>();
const isMeasurementKey = (key: string) =>
  rememberIfMatching(validMeasurementKeys, MEASUREMENT_KEY_PATTERN, key);
const isMeasurementPath = (path: string) =>
  rememberIfMatching(validMeasurementPaths, MEASUREMENT_PATH_PATTERN, path);

function checkExtraKeys(
  object: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  base: string,
): Problem | undefined {
  for (const key in object) {
    if (!allowed.has(key))
      return { path: base ? joinPath(base, key) : key, detail: 'is not part of the contract' };
  }
  return undefined;
}

const required = (path: string): Problem => ({ path, detail: 'is required' });
const invalid = (path: string, detail: string): Problem => ({ path, detail });

function checkOptionalString(
  value: unknown,
  path: string,
  min: number,
  max: number,
  pattern?: RegExp,
): Problem | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isLengthWithin(value, min, max) || (pattern && !pattern.test(value))) {
    return invalid(
      path,
      pattern ? `must match ${pattern.source}` : `must be a string of ${min} to ${max} characters`,
    );
  }
  return undefined;
}

function checkRecord(
  value: unknown,
  path: string,
  keyPattern: RegExp,
  checkValue: (v: unknown) => boolean,
  valueDetail: string,
): Problem | undefined {
  if (!isObject(value)) return invalid(path, 'must be an object');
  for (const key in value) {
    if (!keyPattern.test(key)) return invalid(joinPath(path, key), `key must match ${keyPattern.source}`);
    if (!checkValue(value[key])) return invalid(joinPath(path, key), valueDetail);
  }
  return undefined;
}

function checkEnvelopeFields(
  message: Record<string, unknown>,
  eventType: EventType,
  idAndTimeChecked: boolean,
): Problem | undefined {
  const extra = checkExtraKeys(message, ALLOWED_KEYS[eventType], '');
  if (extra) return extra;
  if (!idAndTimeChecked) {
    if (typeof message.device_id !== 'string' || !DEVICE_ID_PATTERN.test(message.device_id)) {
      return invalid('device_id', `must match ${DEVICE_ID_PATTERN.source}`);
    }
    if (typeof message.timestamp !== 'string' || !ISO_TIMESTAMP_PATTERN.test(message.timestamp)) {
      return invalid('timestamp', 'must be an ISO 8601 date-time with Z or an offset');
    }
  }
  return (
    checkOptionalString(message.device_type, 'device_type', 0, Number.MAX_SAFE_INTEGER, TYPE_ID_PATTERN) ??
    checkOptionalString(message.message_id, 'message_id', 0, Number.MAX_SAFE_INTEGER, MESSAGE_ID_PATTERN) ??
    (message.tags === undefined
      ? undefined
      : checkRecord(
          message.tags,
          'tags',
          MEASUREMENT_KEY_PATTERN,
          (v) => typeof v === 'string' && isLengthWithin(v, 1, MAX_TAG_LENGTH),
          `must be a string of 1 to ${MAX_TAG_LENGTH} characters`,
        ))
  );
}

function checkTelemetry(measurements: unknown): Problem | undefined {
  if (!isObject(measurements))
    return measurements === undefined
      ? required('measurements')
      : invalid('measurements', 'must be an object');
  for (const key in measurements) {
    if (!isMeasurementKey(key)) {
      return invalid(`measurements.${key}`, `key must match ${MEASUREMENT_KEY_PATTERN.source}`);
    }
    const value = measurements[key];
    if (isWireScalar(value)) continue;
    if (!isObject(value)) return invalid(`measurements.${key}`, 'must be a scalar or a group of scalars');
    for (const component in value) {
      if (!isMeasurementKey(component)) {
        return invalid(
          `measurements.${key}.${component}`,
          `key must match ${MEASUREMENT_KEY_PATTERN.source}`,
        );
      }
      if (!isWireScalar(value[component])) {
        return invalid(`measurements.${key}.${component}`, 'must be a number, boolean, string or null');
      }
    }
  }
  return undefined;
}

/** Units as data (issue 14): `units` maps a measurement path (or group key) to a unit of 1 to 16 characters. */
function checkUnits(units: unknown): Problem | undefined {
  if (units === undefined) return undefined;
  return checkRecord(
    units,
    'units',
    MEASUREMENT_PATH_PATTERN,
    (v) => typeof v === 'string' && isLengthWithin(v, 1, 16),
    'must be a string of 1 to 16 characters',
  );
}

const STAT_NUMBERS = ['avg', 'min', 'max', 'last'] as const;

/** Checks one trend channel; the problem's path is relative to `measurements.{path}`. */
function checkTrendChannel(path: string, stats: unknown): { suffix: string; detail: string } | undefined {
  if (!isMeasurementPath(path))
    return { suffix: '', detail: `key must match ${MEASUREMENT_PATH_PATTERN.source}` };
  if (!isObject(stats)) return { suffix: '', detail: 'must be an object of avg, min, max, last and count' };
  for (const key in stats) {
    if (!STAT_KEYS.has(key)) return { suffix: `.${key}`, detail: 'is not part of the contract' };
  }
  for (const stat of STAT_NUMBERS) {
    if (!isFiniteNumber(stats[stat])) {
      return { suffix: `.${stat}`, detail: stats[stat] === undefined ? 'is required' : 'must be a number' };
    }
  }
  const count = stats.count;
  if (!isFiniteNumber(count) || !Number.isSafeInteger(count) || count < 1) {
    return { suffix: '.count', detail: count === undefined ? 'is required' : 'must be an integer >= 1' };
  }
  return undefined;
}

function checkTrends(message: Record<string, unknown>): Problem | undefined {
  const window = message.window;
  if (!isObject(window))
    return window === undefined ? required('window') : invalid('window', 'must be an object');
  const extra = checkExtraKeys(window, WINDOW_KEYS, 'window');
  if (extra) return extra;
  for (const end of ['start', 'end'] as const) {
    const value = window[end];
    if (typeof value !== 'string' || !ISO_TIMESTAMP_PATTERN.test(value)) {
      return invalid(`window.${end}`, 'must be an ISO 8601 date-time with Z or an offset');
    }
  }
  const measurements = message.measurements;
  if (!isObject(measurements))
    return measurements === undefined
      ? required('measurements')
      : invalid('measurements', 'must be an object');
  for (const path in measurements) {
    const problem = checkTrendChannel(path, measurements[path]);
    // The path string is built only for the channel that failed.
    if (problem) return invalid(`measurements.${path}${problem.suffix}`, problem.detail);
  }
  return undefined;
}

function checkStatus(status: unknown): Problem | undefined {
  if (!isObject(status))
    return status === undefined ? required('status') : invalid('status', 'must be an object');
  const extra = checkExtraKeys(status, STATUS_KEYS, 'status');
  if (extra) return extra;
  if (typeof status.online !== 'boolean') {
    return status.online === undefined
      ? required('status.online')
      : invalid('status.online', 'must be a boolean');
  }
  const uptime = status.uptime_s;
  if (uptime !== undefined && (!isFiniteNumber(uptime) || uptime < 0)) {
    return invalid('status.uptime_s', 'must be a number >= 0');
  }
  return (
    checkOptionalString(status.firmware_version, 'status.firmware_version', 1, 64) ??
    checkOptionalString(status.hardware_revision, 'status.hardware_revision', 1, 64) ??
    (status.counters === undefined
      ? undefined
      : checkRecord(
          status.counters,
          'status.counters',
          MEASUREMENT_KEY_PATTERN,
          isFiniteNumber,
          'must be a number',
        ))
  );
}

function checkEvent(event: unknown): Problem | undefined {
  if (!isObject(event))
    return event === undefined ? required('event') : invalid('event', 'must be an object');
  const extra = checkExtraKeys(event, EVENT_KEYS, 'event');
  if (extra) return extra;
  if (typeof event.type !== 'string' || !SLUG_PATTERN.test(event.type)) {
    return event.type === undefined
      ? required('event.type')
      : invalid('event.type', `must match ${SLUG_PATTERN.source}`);
  }
  if (event.severity !== undefined && !EVENT_SEVERITIES.has(event.severity)) {
    return invalid('event.severity', 'must be one of critical, high, medium, low, info');
  }
  return (
    checkOptionalString(event.message, 'event.message', 0, 512) ??
    (event.data === undefined
      ? undefined
      : checkRecord(
          event.data,
          'event.data',
          MEASUREMENT_KEY_PATTERN,
          isWireScalar,
          'must be a number, boolean, string or null',
        ))
  );
}

/** Checks a message whose `event_type` is already known to be valid against that branch of the contract. */
export interface ContractCheckOptions {
  /**
   * The caller has already established that `device_id` and `timestamp` match their patterns (the
   * envelope step does, before it calls this), so they are not tested a second time.
   */
  readonly idAndTimeChecked?: boolean;
}

export function checkRawContract(
  message: Record<string, unknown>,
  eventType: EventType,
  options: ContractCheckOptions = {},
): ContractCheck {
  let problem = checkEnvelopeFields(message, eventType, options.idAndTimeChecked === true);
  if (!problem) {
    switch (eventType) {
      case 'telemetry':
        problem = checkTelemetry(message.measurements) ?? checkUnits(message.units);
        break;
      case 'trends':
        problem = checkTrends(message);
        break;
      case 'status':
        problem = checkStatus(message.status);
        break;
      case 'event':
        problem = checkEvent(message.event);
        break;
    }
  }
  return problem
    ? { ok: false, path: problem.path, detail: problem.detail }
    : { ok: true, message: message as RawMessage };
}
