/**
 * ISO rendering of epoch milliseconds with a one-entry memo: a batch shares one processing time and
 * mostly one receive time, and Date#toISOString is among the costliest calls on the per-message path.
 */
let lastMs = Number.NaN;
let lastIso = '';

export function toIsoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Reads `count` decimal digits at `at`, or -1 if any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Parses the contract's timestamp form, `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `±HH:MM`, to epoch
 * milliseconds; undefined for anything else, including dates that do not exist (Date.parse would roll
 * 2026-02-30 over to 2 March) and leap seconds (which Date.parse cannot place either). It reads the
 * characters directly: Date.parse was the largest single cost of checking a message's envelope.
 * time.test.ts holds it to ISO_TIMESTAMP_PATTERN plus Date.parse on random input.
 */
export function parseIsoTimestamp(text: string): number | undefined {
  if (text.length < 20 || text.length > 35) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (
    year < 0 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return undefined;
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;

  let at = 19;
  let millis = 0;
  if (text.charCodeAt(at) === 46) {
    // .fraction: 1 to 9 digits; milliseconds are its first three, as Date.parse reads them.
    const start = ++at;
    while (at < text.length && at - start < 10) {
      const d = text.charCodeAt(at) - 48;
      if (d < 0 || d > 9) break;
      if (at - start < 3) millis += d * 10 ** (2 - (at - start));
      at++;
    }
    if (at === start || at - start > 9) return undefined;
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 90 && at + 1 === text.length) {
    // Z
  } else if ((zone === 43 || zone === 45) && at + 6 === text.length && text.charCodeAt(at + 3) === 58) {
    const offsetHours = digits(text, at + 1, 2);
    const offsetMins = digits(text, at + 4, 2);
    if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return undefined;
    offsetMinutes = (offsetHours * 60 + offsetMins) * (zone === 43 ? 1 : -1);
  } else {
    return undefined;
  }
  const days = daysFromCivil(year, month, day);
  return (((days * 24 + hour) * 60 + minute - offsetMinutes) * 60 + second) * 1000 + millis;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (the calendar of JavaScript dates), by
 * arithmetic: no Date object (and no Date.UTC, which would map years 0-99 to 1900-1999).
 * After H. Hinnant, "chrono-compatible low-level date algorithms".
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}
