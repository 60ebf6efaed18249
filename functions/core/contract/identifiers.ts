/**
 * Identifier patterns: one place for each, used by the contract schemas, the core checks and, later,
 * by every adapter that must validate an identifier before it reaches a query (Timestream has no
 * bind parameters).
 */

/** A device id as devices and topics carry it. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** A device-type id in the registry (`smart_breaker`). Lower snake case keeps it safe in topics and SQL. */
export const TYPE_ID_PATTERN = /^[a-z][a-z0-9_]{1,63}$/;

/** One segment of a measurement path (`voltage`, `phase_a`). */
export const MEASUREMENT_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** A measurement path: a top-level measurement, or a group component (`voltage.phase_a`). */
export const MEASUREMENT_PATH_PATTERN = /^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})?$/;

/**
 * A time-series measure: a measurement path, or a path with a statistic or field after it
 * (`voltage.phase_a.avg` for trends, `status.online`). Checked before a measure reaches any query.
 */
export const TIMESERIES_MEASURE_PATTERN = /^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63}){0,2}$/;

/** A rule id or event type: lower snake or kebab case. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A device-supplied message id (for de-duplication): same alphabet as device ids. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * ISO 8601 date-time in UTC or with an explicit offset, seconds required, fraction optional.
 * Local times without an offset were one of the prototype's bugs, so they are not accepted.
 */
export const ISO_TIMESTAMP_PATTERN =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

export const isDeviceId = (value: unknown): value is string =>
  typeof value === 'string' && DEVICE_ID_PATTERN.test(value);

export const isTypeId = (value: unknown): value is string =>
  typeof value === 'string' && TYPE_ID_PATTERN.test(value);

/**
 * String length in Unicode code points, as JSON Schema's maxLength and zod count it (an emoji is one,
 * not two UTF-16 units).
 */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** True when the length in code points is within [min, max]; short strings skip the count. */
export const isLengthWithin = (text: string, min: number, max: number): boolean =>
  text.length >= min && (text.length <= max || codePointLength(text) <= max);
