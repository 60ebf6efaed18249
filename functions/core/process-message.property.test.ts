import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { QUALITY_VERDICTS, REJECTION_REASONS } from './contract/messages.js';
import { MAX_NESTING_DEPTH } from './parse.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';

/** Object.prototype's own properties before any run, to compare with after them. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
const registry = compileRegistry(seedRegistry);
const RECEIVED_AT = Date.parse('2024-06-01T12:00:00.000Z');
const TIMESTAMP = new Date(RECEIVED_AT - 1000).toISOString();
const OPTIONS = { registry, service: 'test', serviceVersion: '0' };

const TOPICS = [
  undefined,
  'dt/smart_breaker/brk-001/telemetry',
  '$aws/rules/ingest_rule/dt/smart_meter/brk-001/telemetry',
  'dt/environmental_sensor/brk-001/status',
  'dt/unknown_type/brk-001/event',
  'not/a/topic',
];
const topic = fc.constantFrom(...TOPICS);

const run = (payload: string | Uint8Array, topicName: string | undefined): ProcessOutcome =>
  processMessage(
    payload,
    { receivedAt: RECEIVED_AT, processedAt: RECEIVED_AT + 25, ...(topicName ? { topic: topicName } : {}) },
    OPTIONS,
  );

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const rejectionReasons: ReadonlySet<string> = new Set(REJECTION_REASONS);
const verdicts: ReadonlySet<unknown> = new Set(QUALITY_VERDICTS);

/** The outcome invariant: a known rejection, or enriched JSON whose verdicts are all known. */
function expectWellFormed(outcome: ProcessOutcome): void {
  if (outcome.kind === 'rejected') {
    expect(rejectionReasons.has(outcome.rejection.reason)).toBe(true);
    return;
  }
  expect(outcome.kind).toBe('enriched');
  const parsed: unknown = JSON.parse(outcome.json);
  expect(isRecord(parsed)).toBe(true);
  const quality = isRecord(parsed) ? parsed.data_quality : undefined;
  expect(isRecord(quality) && verdicts.has(quality.verdict)).toBe(true);
  const readings = isRecord(quality) && isRecord(quality.readings) ? quality.readings : {};
  for (const reading of Object.values(readings)) {
    expect(isRecord(reading) && verdicts.has(reading.verdict)).toBe(true);
  }
}

/** Runs the property and tallies the outcome kinds, so a test can tell its generator reaches enrichment. */
function assertWellFormed(
  payload: fc.Arbitrary<string | Uint8Array>,
  numRuns: number,
): Record<string, number> {
  const kinds: Record<string, number> = { rejected: 0, enriched: 0 };
  fc.assert(
    fc.property(payload, topic, (bytes, topicName) => {
      const outcome = run(bytes, topicName);
      kinds[outcome.kind] = (kinds[outcome.kind] ?? 0) + 1;
      expectWellFormed(outcome);
    }),
    { numRuns },
  );
  return kinds;
}

// Hostile JSON. Sentinel strings stand for number literals JSON.stringify cannot write (1e400 parses
// to Infinity, -0 stays -0); they are spliced into the text after serialising.
const RAW_NUMBERS: Record<string, string> = {
  '@@inf@@': '1e400',
  '@@-inf@@': '-1e400',
  '@@-0@@': '-0',
  '@@tiny@@': '1e-400',
  '@@long@@': `1${'0'.repeat(400)}`,
};
const spliceRawNumbers = (json: string): string =>
  json.replace(/"(@@[a-z0-9-]+@@)"/g, (match, sentinel: string) => RAW_NUMBERS[sentinel] ?? match);

const HOSTILE_KEYS = [
  'device_id',
  'device_type',
  'event_type',
  'timestamp',
  'measurements',
  'voltage',
  'current',
  'power',
  'phase_a',
  'phase_b',
  'temperature',
  'energy',
  'rs485',
  'status',
  'online',
  'event',
  'window',
  'avg',
  'count',
  'tags',
  '__proto__',
  'constructor',
  'prototype',
];
const hostileKey = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE_KEYS), weight: 6 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);
const deeplyNested = fc
  .integer({ min: MAX_NESTING_DEPTH - 3, max: MAX_NESTING_DEPTH + 20 })
  .map((depth) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown);
const hostileScalar = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER + 2,
    -0,
    0,
    null,
    true,
    '',
    'NaN',
    '0x7fff',
    'FFFF',
    '120.5',
    ...Object.keys(RAW_NUMBERS),
  ),
  fc.double(),
  fc.string({ maxLength: 8, unit: 'grapheme' }),
  fc.constantFrom(2048, 2049, 5000).map((n) => 'x'.repeat(n)),
);
const { hostileValue } = fc.letrec<{ hostileValue: unknown }>((tie) => ({
  hostileValue: fc.oneof(
    { depthSize: 'small' },
    { arbitrary: hostileScalar, weight: 6 },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
    { arbitrary: deeplyNested, weight: 1 },
    { arbitrary: fc.array(tie('hostileValue'), { maxLength: 3 }), weight: 1 },
    { arbitrary: fc.dictionary(hostileKey, tie('hostileValue'), { maxKeys: 4 }), weight: 2 },
  ),
}));
/** Mostly `usual`, sometimes one of `unusual`. */
const mostly = <T>(usual: T, ...unusual: T[]): fc.Arbitrary<T> =>
  fc.oneof(
    { arbitrary: fc.constant(usual), weight: 6 },
    { arbitrary: fc.constantFrom(...unusual), weight: 1 },
  );
/** A mostly valid envelope, so that many hostile messages get past the first gates. */
const base = fc.record(
  {
    device_id: mostly<unknown>('brk-001', 'brk-002', '', 42),
    event_type: mostly<unknown>('telemetry', 'trends', 'status', 'event', 'bogus'),
    timestamp: mostly<unknown>(TIMESTAMP, '2024-06-01T12:00:00', 1717243200, '2099-01-01T00:00:00Z'),
    device_type: mostly<unknown>('smart_breaker', 'smart_meter', 'f2_access_controller', 'no_such_type'),
  },
  { requiredKeys: ['device_id'] },
);
/** Readings: mostly scalars and groups of scalars, the shapes the contract takes, with hostile values. */
const hostileReading = fc.oneof(
  { arbitrary: hostileScalar, weight: 4 },
  { arbitrary: fc.dictionary(hostileKey, hostileScalar, { maxKeys: 4 }), weight: 3 },
  { arbitrary: hostileValue, weight: 1 },
);
const hostileJson: fc.Arbitrary<string> = fc
  .record({
    head: base,
    measurements: fc.dictionary(hostileKey, hostileReading, { maxKeys: 6 }),
    extras: fc.oneof(
      { arbitrary: fc.constant({}), weight: 3 },
      { arbitrary: fc.dictionary(hostileKey, hostileValue, { maxKeys: 3 }), weight: 1 },
    ),
  })
  .map(({ head, measurements, extras }) =>
    spliceRawNumbers(JSON.stringify({ ...head, measurements, ...extras })),
  );

describe('processMessage never throws and returns a well-formed outcome', () => {
  it('for arbitrary strings', () => {
    // Prepare
    const payload = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));

    // Act and Assess
    assertWellFormed(payload, 1000);
  });

  it('for fc.json() strings', () => {
    // Prepare
    const payload = fc.json();

    // Act and Assess
    assertWellFormed(payload, 1000);
  });

  it('for hostile JSON built from real keys and hostile values', () => {
    // Prepare
    const payload = hostileJson;

    // Act and Assess
    assertWellFormed(payload, 2000);
  });

  it('for random bytes', () => {
    // Prepare
    const payload = fc.uint8Array({ maxLength: 256 });

    // Act and Assess
    assertWellFormed(payload, 1000);
  });

  it('enriches some of the hostile JSON, so the property reaches the enrichment code', () => {
    // Prepare
    const payload = hostileJson;

    // Act
    const kinds = assertWellFormed(payload, 500);

    // Assess
    expect(kinds.enriched).toBeGreaterThan(25);
  });

  it('leaves Object.prototype unpolluted after the runs above', () => {
    // Prepare
    const probe: Record<string, unknown> = {};

    // Act
    const names = Object.getOwnPropertyNames(Object.prototype).sort();

    // Assess
    expect(probe.polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(names).toEqual(PROTOTYPE_NAMES);
  });
});
