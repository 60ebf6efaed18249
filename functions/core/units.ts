/**
 * Unit conversion for readings that carry a unit: to the registry's canonical unit, through
 * convert-units (a small single-purpose library, about 25 kB minified, that keeps power, reactive power
 * and apparent power apart: W, var and VA are different measures here, as they are on a meter).
 *
 * A unit the library does not know converts only to the same spelling; a pair of units of different
 * measures does not convert at all. Either way the caller decides (UNIT_MISMATCH, or "does not fit").
 */
import convert from 'convert-units';

/** Spellings devices and the registry use, to the library's abbreviations. */
const UNIT_ALIASES: Readonly<Record<string, string>> = {
  '°C': 'C',
  degC: 'C',
  celsius: 'C',
  '°F': 'F',
  degF: 'F',
  fahrenheit: 'F',
  kelvin: 'K',
  var: 'VAR',
  VAr: 'VAR',
  kvar: 'kVAR',
  kVAr: 'kVAR',
  hz: 'Hz',
  kwh: 'kWh',
};

/** The library throws for units it does not know; its list is read once. */
const KNOWN_UNITS: ReadonlySet<string> = new Set(convert().possibilities());

const libraryUnit = (unit: string): string | undefined => {
  const alias = UNIT_ALIASES[unit] ?? unit;
  return KNOWN_UNITS.has(alias) ? alias : undefined;
};

const measureCache = new Map<string, string | undefined>();

/** The library's measure of a unit (`temperature`, `power`, ...), or undefined when it does not know it. */
function measureOf(unit: string): string | undefined {
  if (measureCache.has(unit)) return measureCache.get(unit);
  const known = libraryUnit(unit);
  const measure = known === undefined ? undefined : convert().describe(known as never).measure;
  if (measureCache.size < 1024) measureCache.set(unit, measure);
  return measure;
}

/** True when the library knows the unit (in any of the spellings above). */
export const isKnownUnit = (unit: string): boolean => measureOf(unit) !== undefined;

/** True when a value in `from` can be expressed in `to` (same spelling, or the same measure). */
export function unitsCompatible(from: string, to: string): boolean {
  if (from === to) return true;
  const a = measureOf(from);
  return a !== undefined && a === measureOf(to);
}

/**
 * The value in the target unit, or undefined when the conversion is not known. Rounded to 12
 * significant digits: binary floating point makes 101.3 kPa 1012.9999999999999 hPa otherwise.
 */
export function convertUnit(value: number, from: string, to: string): number | undefined {
  if (from === to) return value;
  if (!unitsCompatible(from, to)) return undefined;
  const converted = convert(value)
    .from(libraryUnit(from) as never)
    .to(libraryUnit(to) as never);
  return Number.isFinite(converted) ? Number(converted.toPrecision(12)) : undefined;
}
