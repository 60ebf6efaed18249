import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEVICE_ID_PATTERN,
  ISO_TIMESTAMP_PATTERN,
  MEASUREMENT_KEY_PATTERN,
  MEASUREMENT_PATH_PATTERN,
  MESSAGE_ID_PATTERN,
  SLUG_PATTERN,
  TYPE_ID_PATTERN,
} from './identifiers.js';
import { EVENT_TYPES, type EventType, RawMessage } from './messages.js';
import { checkRawContract } from './raw-check.js';

type Json = Record<string, unknown>;

const TIME = '2024-06-01T12:00:00Z';
const STATS = { avg: 120, min: 119, max: 121, last: 120, count: 12 };

const telemetry = (extra: Json = {}): Json => ({
  device_id: 'brk-001',
  timestamp: TIME,
  event_type: 'telemetry',
  measurements: { voltage: { phase_a: 120.1, phase_b: 119.8 }, frequency: 60, note: 'ok', relay: true },
  ...extra,
});
const trends = (extra: Json = {}): Json => ({
  device_id: 'brk-001',
  timestamp: TIME,
  event_type: 'trends',
  window: { start: '2024-06-01T11:00:00Z', end: TIME },
  measurements: { 'voltage.phase_a': { ...STATS }, frequency: { ...STATS } },
  ...extra,
});
const status = (extra: Json = {}): Json => ({
  device_id: 'brk-001',
  timestamp: TIME,
  event_type: 'status',
  status: { online: true, firmware_version: '2.4.1', uptime_s: 3600, counters: { reboots: 2 } },
  ...extra,
});
const event = (extra: Json = {}): Json => ({
  device_id: 'brk-001',
  timestamp: TIME,
  event_type: 'event',
  event: { type: 'trip', severity: 'high', message: 'overcurrent', data: { current: 412.5 } },
  ...extra,
});

/** The path of the first problem, or undefined when the message is accepted. */
const problemPath = (message: Json): string | undefined => {
  const result = checkRawContract(message, message.event_type as EventType);
  return result.ok ? undefined : result.path;
};

describe('checkRawContract: envelope', () => {
  it('rejects a field of another branch with its top-level path', () => {
    // Prepare
    const message = status({ measurements: { voltage: 120 } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements');
  });

  it('rejects a device id that breaks the pattern at device_id', () => {
    // Prepare
    const message = telemetry({ device_id: '-brk' });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('device_id');
  });

  it('rejects a local timestamp without an offset at timestamp', () => {
    // Prepare
    const message = telemetry({ timestamp: '2024-06-01T12:00:00' });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('timestamp');
  });

  it('rejects a tag longer than 64 characters at its key', () => {
    // Prepare
    const message = telemetry({ tags: { site: 'x'.repeat(65) } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('tags.site');
  });

  it('accepts the optional device_type, message_id and tags when they are well formed', () => {
    // Prepare
    const message = telemetry({ device_type: 'smart_breaker', message_id: 'm:1', tags: { site: 'plant_1' } });

    // Act
    const result = checkRawContract(message, 'telemetry');

    // Assess
    expect(result.ok).toBe(true);
  });
});

describe('checkRawContract: telemetry', () => {
  it('accepts scalars and groups of scalars', () => {
    // Prepare
    const message = telemetry();

    // Act
    const result = checkRawContract(message, 'telemetry');

    // Assess
    expect(result).toEqual({ ok: true, message });
  });

  it('rejects a missing measurements object at measurements', () => {
    // Prepare
    const message = telemetry({ measurements: undefined });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements');
  });

  it('rejects a measurement key that is not lower snake case at its path', () => {
    // Prepare
    const message = telemetry({ measurements: { Voltage: 120 } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.Voltage');
  });

  it('rejects a group nested in a group at the inner path', () => {
    // Prepare
    const message = telemetry({ measurements: { voltage: { phase_a: { rms: 120 } } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.voltage.phase_a');
  });

  it('rejects an array reading at its path', () => {
    // Prepare
    const message = telemetry({ measurements: { voltage: [120, 121, 119] } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.voltage');
  });

  it('rejects a string reading over 2048 characters and accepts one of exactly 2048', () => {
    // Prepare
    const long = telemetry({ measurements: { note: 'x'.repeat(2049) } });
    const edge = telemetry({ measurements: { note: 'x'.repeat(2048) } });

    // Act
    const paths = [problemPath(long), problemPath(edge)];

    // Assess
    expect(paths).toEqual(['measurements.note', undefined]);
  });
});

describe('checkRawContract: trends', () => {
  it('accepts channels with all five numeric statistics', () => {
    // Prepare
    const message = trends();

    // Act
    const result = checkRawContract(message, 'trends');

    // Assess
    expect(result.ok).toBe(true);
  });

  it('rejects a missing window at window', () => {
    // Prepare
    const message = trends({ window: undefined });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('window');
  });

  it('rejects string statistics at the statistic', () => {
    // Prepare
    const message = trends({ measurements: { frequency: { ...STATS, avg: '60.0' } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.frequency.avg');
  });

  it('rejects a statistic outside avg, min, max, last and count at its path', () => {
    // Prepare
    const message = trends({ measurements: { frequency: { ...STATS, median: 60 } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.frequency.median');
  });

  it('rejects a count of zero at count', () => {
    // Prepare
    const message = trends({ measurements: { frequency: { ...STATS, count: 0 } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.frequency.count');
  });

  it('rejects a channel path with three segments at its path', () => {
    // Prepare
    const message = trends({ measurements: { 'voltage.phase_a.rms': { ...STATS } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('measurements.voltage.phase_a.rms');
  });
});

describe('checkRawContract: status', () => {
  it('accepts a status with its optional fields', () => {
    // Prepare
    const message = status();

    // Act
    const result = checkRawContract(message, 'status');

    // Assess
    expect(result.ok).toBe(true);
  });

  it('rejects a status without online at status.online', () => {
    // Prepare
    const message = status({ status: { uptime_s: 5 } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('status.online');
  });

  it('rejects a negative uptime at status.uptime_s', () => {
    // Prepare
    const message = status({ status: { online: true, uptime_s: -1 } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('status.uptime_s');
  });

  it('rejects an unknown status field at its path', () => {
    // Prepare
    const message = status({ status: { online: false, battery: 80 } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('status.battery');
  });

  it('rejects a non-numeric counter at its path', () => {
    // Prepare
    const message = status({ status: { online: true, counters: { reboots: '2' } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('status.counters.reboots');
  });
});

describe('checkRawContract: event', () => {
  it('accepts an event with severity, message and data', () => {
    // Prepare
    const message = event();

    // Act
    const result = checkRawContract(message, 'event');

    // Assess
    expect(result.ok).toBe(true);
  });

  it('rejects an event type that is not a slug at event.type', () => {
    // Prepare
    const message = event({ event: { type: 'Trip!' } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('event.type');
  });

  it('rejects an unknown severity at event.severity', () => {
    // Prepare
    const message = event({ event: { type: 'trip', severity: 'warning' } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('event.severity');
  });

  it('rejects a message over 512 characters at event.message', () => {
    // Prepare
    const message = event({ event: { type: 'trip', message: 'm'.repeat(513) } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('event.message');
  });

  it('rejects an object in event data at its path', () => {
    // Prepare
    const message = event({ event: { type: 'trip', data: { details: { phase: 'a' } } } });

    // Act
    const path = problemPath(message);

    // Assess
    expect(path).toBe('event.data.details');
  });
});

// ---------------------------------------------------------------------------------------------------
// Agreement with the zod schema, the contract's single source of truth.

const zodAccepts = (message: unknown): boolean => RawMessage.safeParse(message).success;
const fastAccepts = (message: Json): boolean => checkRawContract(message, message.event_type as EventType).ok;

/**
 * JSON.parse turns an overflowing literal such as 1e400 into Infinity, so a device can send one. zod's
 * z.number() refuses non-finite numbers; each of these sits where the schema says z.number().
 */
const overflowingNumbers = (): Json[] => {
  const infinity = JSON.parse('1e400') as number;
  return [
    telemetry({ measurements: { frequency: infinity } }),
    telemetry({ measurements: { voltage: { phase_a: -infinity } } }),
    trends({ measurements: { frequency: { ...STATS, max: infinity } } }),
    status({ status: { online: true, uptime_s: infinity } }),
    status({ status: { online: true, counters: { reboots: infinity } } }),
    event({ event: { type: 'trip', data: { current: infinity } } }),
  ];
};

describe('checkRawContract agrees with the zod contract', () => {
  it('counts string lengths in code points, as the zod contract does', () => {
    // Prepare
    const messages = [
      telemetry({ measurements: { note: '😀'.repeat(2048) } }),
      telemetry({ measurements: { note: '😀'.repeat(2049) } }),
      telemetry({ tags: { site: '😀'.repeat(64) } }),
      status({ status: { online: true, firmware_version: '😀'.repeat(64) } }),
      event({ event: { type: 'trip', message: '😀'.repeat(512) } }),
      event({ event: { type: 'trip', message: '😀'.repeat(513) } }),
    ];

    // Act
    const answers = messages.map(fastAccepts);

    // Assess
    expect(answers).toEqual(messages.map(zodAccepts));
  });

  it('rejects numbers that JSON parsing overflowed to Infinity, as the zod contract does', () => {
    // Prepare
    const messages = overflowingNumbers();

    // Act
    const answers = messages.map(fastAccepts);

    // Assess
    expect(answers).toEqual(messages.map(zodAccepts));
  });
});

// Arbitraries: each field is mostly valid and sometimes invalid, so both answers are common. Numbers
// stay finite here: non-finite ones are the dedicated test above.

/** Mostly `valid`, one time in `weight + 1` `invalid`. */
const often = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>, weight = 30): fc.Arbitrary<T | U> =>
  fc.oneof({ arbitrary: valid, weight }, { arbitrary: invalid, weight: 1 });

/** A required field: sometimes absent (dropped by withoutUndefined). */
const required = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  often(value, fc.constant(undefined));

/** Drops keys whose value is undefined: the message stands for parsed JSON, where a key is there or not. */
const withoutUndefined = (object: Json): Json =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

/** An object of fields plus, sometimes, keys its schema does not allow. */
const strictObject = (
  fields: Record<string, fc.Arbitrary<unknown>>,
  requiredKeys: string[],
  extraKeys: string[],
): fc.Arbitrary<Json> =>
  fc
    .tuple(
      fc.record(fields, { requiredKeys }),
      often(
        fc.constant({}),
        fc.dictionary(fc.constantFrom(...extraKeys), wrongType, { minKeys: 1, maxKeys: 2 }),
      ),
    )
    .map(([object, extras]) => withoutUndefined({ ...object, ...extras }));

const finiteNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(-0, 0, 1e308, -1e308, Number.MIN_VALUE, 2 ** 53, 2 ** 53 - 1, 0.5),
);
const repeated = (char: string, lengths: number[]): fc.Arbitrary<string> =>
  fc.constantFrom(...lengths).map((n) => char.repeat(n));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const shortString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 6, unit: 'grapheme' }),
  fc.string({ maxLength: 6, unit: loneSurrogate }),
);
/** Any JSON value, shallow: the usual wrong type for a field. */
const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  finiteNumber,
  shortString,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const measurementKey = often(
  fc.oneof(
    fc.constantFrom('voltage', 'current', 'power', 'frequency', 'phase_a', 'site', 'constructor'),
    fc.stringMatching(MEASUREMENT_KEY_PATTERN),
  ),
  fc.oneof(
    fc.constantFrom('Voltage', '1phase', 'phase-a', '', 'a'.repeat(65), 'toString', 'a.b'),
    fc.string(),
  ),
);
const measurementPath = often(
  fc.oneof(fc.constantFrom('voltage.phase_a', 'frequency'), fc.stringMatching(MEASUREMENT_PATH_PATTERN)),
  fc.oneof(fc.constantFrom('voltage.phase_a.rms', '.voltage', 'voltage.', 'Voltage.a'), fc.string()),
);
const timestamp = often(
  fc.oneof(
    fc
      .date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((date) => date.toISOString()),
    fc.stringMatching(ISO_TIMESTAMP_PATTERN),
    fc.constantFrom('2024-06-01T14:00:00+02:00', '2024-06-01T12:00:00.123456789Z', '2016-12-31T23:59:60Z'),
  ),
  fc.oneof(
    fc.constantFrom('2024-06-01T12:00:00', '2024-06-01', '2024-13-01T00:00:00Z', '2024-06-01 12:00:00Z'),
    wrongType,
  ),
);
const deviceId = often(
  fc.oneof(fc.constantFrom('brk-001', 'a:b.c-d_e', 'a'.repeat(128)), fc.stringMatching(DEVICE_ID_PATTERN)),
  fc.oneof(fc.constantFrom('', ' brk', '-brk', 'brk 001', 'a'.repeat(129), 'dé'), wrongType),
);
/** Wire scalars, long strings at the 2048 limit included (in UTF-16 units and in code points). */
const scalar = fc.oneof(
  { arbitrary: finiteNumber, weight: 4 },
  { arbitrary: fc.boolean(), weight: 1 },
  { arbitrary: fc.constant(null), weight: 1 },
  { arbitrary: shortString, weight: 2 },
  { arbitrary: repeated('x', [2047, 2048, 2049]), weight: 1 },
  { arbitrary: repeated('😀', [1024, 1025, 2048, 2049]), weight: 1 },
);
const group = fc.dictionary(measurementKey, often(scalar, wrongType), { maxKeys: 4 });
const reading = fc.oneof(
  { arbitrary: scalar, weight: 20 },
  { arbitrary: group, weight: 10 },
  { arbitrary: fc.array(scalar, { maxLength: 3 }), weight: 1 },
  { arbitrary: fc.dictionary(measurementKey, group, { minKeys: 1, maxKeys: 2 }), weight: 1 },
);
/** Strings for a field limited to `max` characters, at and around the limit. */
const limitedString = (min: number, max: number): fc.Arbitrary<string> =>
  often(
    fc.oneof(
      shortString.filter((s) => s.length >= min),
      repeated('x', [max]),
      repeated('😀', [max]),
    ),
    repeated('x', min > 0 ? [0, max + 1] : [max + 1]),
    10,
  );

const envelope = fc
  .record(
    {
      device_id: required(deviceId),
      timestamp: required(timestamp),
      device_type: often(
        fc.oneof(fc.constantFrom('smart_breaker', 'smart_meter'), fc.stringMatching(TYPE_ID_PATTERN)),
        fc.oneof(fc.constantFrom('Smart_Breaker', 'x', 'smart-breaker'), wrongType),
      ),
      message_id: often(
        fc.stringMatching(MESSAGE_ID_PATTERN),
        fc.oneof(fc.constantFrom('', '-m'), wrongType),
      ),
      tags: often(
        fc.dictionary(measurementKey, often(limitedString(1, 64), wrongType), { maxKeys: 3 }),
        wrongType,
      ),
    },
    { requiredKeys: ['device_id', 'timestamp'] },
  )
  .map(withoutUndefined);

const measurements = often(fc.dictionary(measurementKey, reading, { maxKeys: 5 }), wrongType);
const stat = often(finiteNumber, wrongType, 60);
const statistics = strictObject(
  {
    avg: required(stat),
    min: required(stat),
    max: required(stat),
    last: required(stat),
    count: required(
      often(
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(0, -1, 1.5, 2 ** 53, 2 ** 53 - 1, Number.MAX_SAFE_INTEGER, 1e300, -0, '3', null),
        8,
      ),
    ),
  },
  ['avg', 'min', 'max', 'last', 'count'],
  ['median', 'Avg', 'sum'],
);
const trendWindow = often(
  strictObject({ start: required(timestamp), end: required(timestamp) }, ['start', 'end'], ['duration']),
  wrongType,
);
const trendMeasurements = often(
  fc.dictionary(measurementPath, often(statistics, wrongType), { maxKeys: 3 }),
  wrongType,
);
const deviceStatus = often(
  strictObject(
    {
      online: required(often(fc.boolean(), wrongType)),
      firmware_version: often(limitedString(1, 64), wrongType),
      hardware_revision: often(limitedString(1, 64), wrongType),
      uptime_s: often(
        fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constant(-0)),
        fc.oneof(fc.constant(-1), wrongType),
      ),
      counters: often(
        fc.dictionary(measurementKey, often(finiteNumber, wrongType), { maxKeys: 3 }),
        wrongType,
      ),
    },
    ['online'],
    ['battery', 'Online'],
  ),
  wrongType,
);
const deviceEvent = often(
  strictObject(
    {
      type: required(
        often(
          fc.oneof(fc.constantFrom('trip', 'door-forced'), fc.stringMatching(SLUG_PATTERN)),
          fc.oneof(fc.constantFrom('Trip', '_trip', '', 'a'.repeat(65)), wrongType),
        ),
      ),
      severity: often(
        fc.constantFrom('critical', 'high', 'medium', 'low', 'info'),
        fc.oneof(fc.constantFrom('CRITICAL', 'warning', ''), wrongType),
      ),
      message: often(limitedString(0, 512), wrongType),
      data: often(fc.dictionary(measurementKey, often(scalar, wrongType), { maxKeys: 3 }), wrongType),
    },
    ['type'],
    ['code', 'timestamp'],
  ),
  wrongType,
);

const bodyFor: Record<EventType, fc.Arbitrary<Json>> = {
  telemetry: fc.record({ measurements: required(measurements) }).map(withoutUndefined),
  trends: fc
    .record({ window: required(trendWindow), measurements: required(trendMeasurements) })
    .map(withoutUndefined),
  status: fc.record({ status: required(deviceStatus) }).map(withoutUndefined),
  event: fc.record({ event: required(deviceEvent) }).map(withoutUndefined),
};
const anyBody = fc.oneof(...Object.values(bodyFor));

/** Valid-ish messages of every branch: mostly the branch's own body, sometimes another's. */
const validishMessage: fc.Arbitrary<Json> = fc.constantFrom(...EVENT_TYPES).chain((eventType) =>
  fc
    .tuple(
      envelope,
      often(bodyFor[eventType], anyBody),
      often(
        fc.constant({}),
        fc.dictionary(fc.constantFrom('firmware', 'window', 'status', 'event', 'Device_id'), wrongType, {
          minKeys: 1,
          maxKeys: 2,
        }),
      ),
    )
    .map(([head, body, extras]) => ({ ...head, ...body, ...extras, event_type: eventType })),
);

/**
 * `__proto__` is outside checkRawContract's domain: parsePayload rejects it before the check runs,
 * and zod skips it in records, so the two need not agree on it.
 */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  (Object.hasOwn(value, '__proto__') || Object.values(value).some(hasProtoKey));

const BRANCH_FIELD: Record<EventType, string> = {
  telemetry: 'measurements',
  trends: 'measurements',
  status: 'status',
  event: 'event',
};
const INNER_KEYS = ['voltage', 'frequency', 'online', 'uptime_s', 'type', 'severity', 'message', 'data'];

/**
 * jsonValue objects with a valid event_type: alone, laid over or under a valid envelope, or as the
 * branch's own field (with inner keys the branches use) inside a valid envelope.
 */
const jsonValueMessage: fc.Arbitrary<Json> = fc
  .tuple(
    fc.constantFrom(...EVENT_TYPES),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom('device_id', 'timestamp', 'measurements', 'window', 'status', 'event', 'tags'),
        fc.string(),
      ),
      fc.jsonValue(),
      { maxKeys: 5 },
    ),
    fc.dictionary(fc.oneof(fc.constantFrom(...INNER_KEYS), fc.string()), fc.jsonValue({ maxDepth: 1 }), {
      maxKeys: 3,
    }),
    fc.constantFrom('alone', 'over', 'under', 'inside'),
  )
  .map(([eventType, random, inner, layering]) => {
    const base = { device_id: 'brk-001', timestamp: TIME, event_type: eventType };
    switch (layering) {
      case 'alone':
        return { ...random, event_type: eventType };
      case 'over':
        return { ...base, ...random, event_type: eventType };
      case 'under':
        return { ...random, ...base };
      default: {
        const window = eventType === 'trends' ? { window: { start: TIME, end: TIME } } : {};
        return { ...base, ...window, [BRANCH_FIELD[eventType]]: inner };
      }
    }
  });

describe('checkRawContract agrees with RawMessage.safeParse', () => {
  it('produces both accepted and rejected valid-ish messages', () => {
    // Prepare
    const sample = fc.sample(validishMessage, { numRuns: 1000, seed: 42 });

    // Act
    const accepted = sample.filter(zodAccepts).length;

    // Assess
    expect(accepted).toBeGreaterThan(150);
    expect(accepted).toBeLessThan(850);
  });

  it('accepts exactly the valid-ish messages zod accepts', () => {
    // Prepare, Act and Assess: per generated message.
    fc.assert(
      fc.property(validishMessage, (message) => {
        fc.pre(!hasProtoKey(message));
        expect(fastAccepts(message)).toBe(zodAccepts(message));
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly the jsonValue messages zod accepts', () => {
    // Prepare, Act and Assess: per generated message.
    fc.assert(
      fc.property(jsonValueMessage, (message) => {
        fc.pre(!hasProtoKey(message));
        expect(fastAccepts(message)).toBe(zodAccepts(message));
      }),
      { numRuns: 2000 },
    );
  });
});
