/**
 * What every device model shares: reading the registry definition (ranges, ratings, encodings),
 * turning a physical value into a wire value the core accepts as GOOD, the step clock, and daily
 * profiles. Models never hard-code a range the registry declares; they ask for it here.
 */
import {
  type DeviceType,
  decodeHex,
  type HexEncoding,
  isGroupDefinition,
  type NumericRange,
  type ReadingDefinition,
} from '../../functions/core/index.js';
import { encodeHex } from '../hex.js';
import { clamp, round } from '../random.js';

export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 24 * MS_PER_HOUR;

/** The reading definition at `path` (`temperature`, `voltage.phase_a`), if the type declares it. */
export function readingAt(definition: DeviceType, path: string): ReadingDefinition | undefined {
  const dot = path.indexOf('.');
  const key = dot < 0 ? path : path.slice(0, dot);
  const measurement = definition.measurements[key];
  if (!measurement) return undefined;
  if (isGroupDefinition(measurement))
    return dot < 0 ? undefined : measurement.components[path.slice(dot + 1)];
  return dot < 0 ? measurement : undefined;
}

/** Component keys of a group measurement, in declaration order (empty if there is no such group). */
export function groupComponents(definition: DeviceType, key: string): string[] {
  const measurement = definition.measurements[key];
  return measurement && isGroupDefinition(measurement) ? Object.keys(measurement.components) : [];
}

/** A nameplate rating from `definition.rated`, else the fallback. */
export function rating(definition: DeviceType, name: string, fallback: number): number {
  const value = definition.rated?.[name];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * One numeric channel of a device: its valid range (from the registry, else the fallback) and how a
 * physical value becomes its wire value: clamped into the range, rounded (integers to integers), and
 * hex-encoded when the registry declares an encoding, with the encoding checked by decoding it the
 * way the core will.
 */
export class Channel {
  readonly min: number;
  readonly max: number;
  readonly normal: NumericRange | undefined;
  readonly integer: boolean;
  readonly encoding: HexEncoding | undefined;

  constructor(
    readonly path: string,
    readonly reading: ReadingDefinition | undefined,
    fallback: NumericRange,
    /** Decimals kept on the wire (ignored for integers). */
    readonly digits = 2,
  ) {
    const range = reading?.validRange ?? fallback;
    this.min = range.min;
    this.max = range.max;
    this.normal = reading?.normalRange;
    this.integer = reading?.dataType === 'integer';
    this.encoding = reading?.encoding;
  }

  static of(definition: DeviceType, path: string, fallback: NumericRange, digits = 2): Channel {
    return new Channel(path, readingAt(definition, path), fallback, digits);
  }

  /** True when `value` would be GOOD on the wire. */
  accepts(value: number): boolean {
    return (
      Number.isFinite(value) &&
      value >= this.min &&
      value <= this.max &&
      (!this.integer || Number.isInteger(value))
    );
  }

  /** The value clamped into the valid range and rounded (integers stay inside the range). */
  quantize(value: number): number {
    const safe = Number.isFinite(value) ? value : (this.min + this.max) / 2;
    const clamped = clamp(safe, this.min, this.max);
    if (this.integer) {
      const rounded = Math.round(clamped);
      if (rounded > this.max) return Math.floor(this.max);
      if (rounded < this.min) return Math.ceil(this.min);
      return rounded;
    }
    const rounded = round(clamped, this.digits);
    return clamp(rounded, this.min, this.max);
  }

  /** The wire value: a number, or the hex string when the registry declares an encoding. */
  wire(value: number): number | string {
    const quantized = this.quantize(value);
    return this.encoding ? encodeChecked(quantized, this.encoding, (v) => this.accepts(v), this) : quantized;
  }
}

/**
 * Encodes `value` and checks the result decodes to an acceptable value; if the register's resolution
 * or range would push it out (a 0.1 step above the maximum, a float32 rounding), moves it inwards one
 * resolution step at a time.
 */
export function encodeChecked(
  value: number,
  encoding: HexEncoding,
  accepts: (decoded: number) => boolean,
  range: { readonly min: number; readonly max: number },
): string {
  const middle = (range.min + range.max) / 2;
  const stepSize = Math.max(Math.abs(encoding.scale), Math.abs(range.max - range.min) * 1e-6, Number.EPSILON);
  let candidate = value;
  for (let attempt = 0; attempt < 64; attempt++) {
    const hex = encodeHex(candidate, encoding);
    const decoded = decodeHex(hex, encoding);
    if (decoded.ok && accepts(decoded.value)) return hex;
    if (candidate === middle) break;
    candidate =
      candidate > middle ? Math.max(middle, candidate - stepSize) : Math.min(middle, candidate + stepSize);
  }
  return encodeHex(middle, encoding);
}

/** Seconds since the previous step (0 at the first step, and never negative). */
export class StepClock {
  private last: number | undefined;

  /** Simulated time of the previous step, or undefined before the first. */
  get previous(): number | undefined {
    return this.last;
  }

  advance(time: number): number {
    const dt = this.last === undefined ? 0 : Math.max(0, time - this.last) / 1000;
    if (this.last === undefined || time > this.last) this.last = time;
    return dt;
  }
}

/** Hour of the (UTC) day, fractional, in [0, 24). */
export const hourOfDay = (time: number): number =>
  (((time % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR;

/** A bump of height 1 centred on `centre` (hours) with the given width (standard deviation), wrapping at midnight. */
export function dailyBump(hour: number, centre: number, width: number): number {
  let distance = Math.abs(hour - centre) % 24;
  if (distance > 12) distance = 24 - distance;
  return Math.exp(-(distance * distance) / (2 * width * width));
}

/** A sinusoid over the day with its maximum at `peakHour`, in [-1, 1]. */
export const diurnal = (hour: number, peakHour: number): number =>
  Math.cos((2 * Math.PI * (hour - peakHour)) / 24);

/** First-order lag: moves `value` towards `target` over `seconds` with time constant `tau` (exact for a constant target). */
export const firstOrder = (value: number, target: number, seconds: number, tau: number): number =>
  seconds <= 0 ? value : target + (value - target) * Math.exp(-seconds / tau);

/** Upper-case hex of `bytes` random bytes. */
export function randomHex(next: () => number, bytes: number): string {
  let hex = '';
  for (let i = 0; i < bytes; i++) {
    hex += Math.floor(next() * 256)
      .toString(16)
      .toUpperCase()
      .padStart(2, '0');
  }
  return hex;
}

/**
 * A load multiplier set by the overload fault hook. The hook runs just before a step, so the overload
 * starts at that step's time and lasts `durationMs` from there (as the fault injector reports it).
 */
export class Overload {
  private pending: { factor: number; durationMs: number } | undefined;
  private active: { factor: number; until: number } | undefined;

  start(factor: number, durationMs: number): void {
    if (!(factor > 0) || !(durationMs > 0) || !Number.isFinite(factor)) return;
    this.pending = { factor, durationMs };
  }

  /** The multiplier at `time` (1 when no overload is on). */
  factorAt(time: number): number {
    if (this.pending) {
      this.active = { factor: this.pending.factor, until: time + this.pending.durationMs };
      this.pending = undefined;
    }
    if (this.active && time > this.active.until) this.active = undefined;
    return this.active?.factor ?? 1;
  }
}
