/**
 * Trends: real windowed aggregation of the values a device actually published. Windows are aligned to
 * multiples of the window length (5-minute windows start at :00, :05, ...), so every device's windows
 * line up. A window is closed by the first sample at or after its end; its statistics cover exactly
 * the samples published inside [start, end).
 */
import {
  type DeviceType,
  decodeHex,
  isGroupDefinition,
  type ReadingDefinition,
} from '../functions/core/index.js';
import { clamp, round } from './random.js';
import type { Measurements } from './types.js';

export interface ChannelStatistics {
  avg: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

export interface TrendWindow {
  readonly start: number;
  readonly end: number;
  readonly channels: Readonly<Record<string, ChannelStatistics>>;
}

interface Accumulator {
  sum: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

/**
 * The readings worth a trend: continuous quantities and counters. Enumerated codes (breaker status)
 * and switches would average to meaningless numbers, so they are left out.
 */
export function trendChannels(definition: DeviceType): Map<string, ReadingDefinition> {
  const channels = new Map<string, ReadingDefinition>();
  const consider = (path: string, reading: ReadingDefinition) => {
    if ((reading.dataType === 'number' || reading.dataType === 'integer') && !reading.allowedValues) {
      channels.set(path, reading);
    }
  };
  for (const [key, measurement] of Object.entries(definition.measurements)) {
    if (isGroupDefinition(measurement)) {
      for (const [component, reading] of Object.entries(measurement.components))
        consider(`${key}.${component}`, reading);
    } else {
      consider(key, measurement);
    }
  }
  return channels;
}

/** The published value of a channel as a number (hex readings decoded as the platform will), if any. */
export function channelValue(
  measurements: Measurements,
  path: string,
  reading: ReadingDefinition,
): number | undefined {
  const dot = path.indexOf('.');
  let wire: unknown;
  if (dot < 0) {
    wire = measurements[path];
  } else {
    const group = measurements[path.slice(0, dot)];
    wire = typeof group === 'object' && group !== null ? group[path.slice(dot + 1)] : undefined;
  }
  if (reading.encoding) {
    const decoded = decodeHex(wire, reading.encoding);
    return decoded.ok ? decoded.value : undefined;
  }
  return typeof wire === 'number' && Number.isFinite(wire) ? wire : undefined;
}

export class TrendAggregator {
  private windowStart: number | undefined;
  private accumulators = new Map<string, Accumulator>();

  constructor(
    readonly windowMs: number,
    private readonly channels: ReadonlyMap<string, ReadingDefinition>,
  ) {
    if (!Number.isInteger(windowMs) || windowMs < 1000) {
      throw new RangeError(`trend window must be a whole number of milliseconds >= 1000, got ${windowMs}`);
    }
  }

  /**
   * Records one published telemetry message at `time`. Returns the window that this sample closed, if
   * any (its statistics do not include this sample, which opens the next window).
   */
  add(time: number, measurements: Measurements): TrendWindow | undefined {
    const start = time - (time % this.windowMs);
    let closed: TrendWindow | undefined;
    if (this.windowStart !== undefined && start !== this.windowStart) closed = this.close();
    this.windowStart = start;
    for (const [path, reading] of this.channels) {
      const value = channelValue(measurements, path, reading);
      if (value === undefined) continue;
      const acc = this.accumulators.get(path);
      if (acc) {
        acc.sum += value;
        if (value < acc.min) acc.min = value;
        if (value > acc.max) acc.max = value;
        acc.last = value;
        acc.count++;
      } else {
        this.accumulators.set(path, { sum: value, min: value, max: value, last: value, count: 1 });
      }
    }
    return closed;
  }

  private close(): TrendWindow | undefined {
    const start = this.windowStart as number;
    const channels: Record<string, ChannelStatistics> = {};
    for (const [path, acc] of this.accumulators) {
      // Rounded for the wire, then kept inside [min, max] so rounding can never make it inconsistent.
      const avg = clamp(round(acc.sum / acc.count, 4), acc.min, acc.max);
      channels[path] = { avg, min: acc.min, max: acc.max, last: acc.last, count: acc.count };
    }
    this.accumulators = new Map();
    return Object.keys(channels).length > 0 ? { start, end: start + this.windowMs, channels } : undefined;
  }
}
