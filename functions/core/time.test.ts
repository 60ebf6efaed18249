import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ISO_TIMESTAMP_PATTERN } from './contract/identifiers.js';
import { parseIsoTimestamp, toIsoTime } from './time.js';

/** The reference: the contract's pattern, a date that exists, and whatever Date.parse makes of it. */
function reference(text: string): number | undefined {
  if (!ISO_TIMESTAMP_PATTERN.test(text)) return undefined;
  const time = Date.parse(text);
  if (!Number.isFinite(time)) return undefined;
  const [year, month, day] = [Number(text.slice(0, 4)), Number(text.slice(5, 7)), Number(text.slice(8, 10))];
  const probe = new Date(0);
  probe.setUTCFullYear(year, month - 1, day);
  return probe.getUTCDate() === day ? time : undefined;
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** Strings shaped like ISO timestamps, with every field allowed to step just out of range. */
const nearIso = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.option(fc.stringMatching(/^\d{0,11}$/), { nil: undefined }),
    zone: fc.oneof(
      fc.constant('Z'),
      fc.constant('z'),
      fc.constant(''),
      fc
        .record({
          sign: fc.constantFrom('+', '-'),
          hours: fc.integer({ min: 0, max: 25 }),
          minutes: fc.integer({ min: 0, max: 61 }),
        })
        .map(({ sign, hours, minutes }) => `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`),
    ),
  })
  .map(
    (t) =>
      `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}` +
      `${t.fraction === undefined ? '' : `.${t.fraction}`}${t.zone}`,
  );

describe('parseIsoTimestamp', () => {
  it('agrees with the contract pattern and Date.parse on near-ISO strings', () => {
    fc.assert(
      fc.property(nearIso, (text) => {
        expect(parseIsoTimestamp(text)).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the reference on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        expect(parseIsoTimestamp(text)).toBe(reference(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads UTC, offsets and fractions to the millisecond', () => {
    expect(parseIsoTimestamp('2026-11-23T12:00:00Z')).toBe(Date.UTC(2026, 10, 23, 12));
    expect(parseIsoTimestamp('2026-11-23T14:00:00.250+02:00')).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 250));
    expect(parseIsoTimestamp('2026-11-23T11:30:00.123456789-00:30')).toBe(
      Date.UTC(2026, 10, 23, 12, 0, 0, 123),
    );
  });

  it('accepts 29 February only in leap years', () => {
    expect(parseIsoTimestamp('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseIsoTimestamp('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(parseIsoTimestamp('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(parseIsoTimestamp('1900-02-29T00:00:00Z')).toBeUndefined();
  });

  it('refuses dates that do not exist, local times and leap seconds', () => {
    expect(parseIsoTimestamp('2026-02-30T00:00:00Z')).toBeUndefined();
    expect(parseIsoTimestamp('2026-04-31T00:00:00Z')).toBeUndefined();
    expect(parseIsoTimestamp('2026-11-23T12:00:00')).toBeUndefined();
    expect(parseIsoTimestamp('2026-12-31T23:59:60Z')).toBeUndefined();
  });

  it('keeps two-digit years in the first century instead of mapping them to 19xx', () => {
    expect(parseIsoTimestamp('0050-01-01T00:00:00Z')).toBe(Date.parse('0050-01-01T00:00:00Z'));
  });
});

describe('toIsoTime', () => {
  it('renders epoch milliseconds as ISO 8601 UTC with milliseconds, the same on repeated calls', () => {
    const ms = Date.UTC(2026, 10, 23, 12, 0, 0, 5);

    expect(toIsoTime(ms)).toBe('2026-11-23T12:00:00.005Z');
    expect(toIsoTime(ms + 1)).toBe('2026-11-23T12:00:00.006Z');
    expect(toIsoTime(ms)).toBe('2026-11-23T12:00:00.005Z');
  });
});
