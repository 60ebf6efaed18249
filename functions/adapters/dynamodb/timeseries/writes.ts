/**
 * What the DynamoDB sink's `write` (sink.ts) and a replay's `rewrite` (rewrite.ts) share: write limits,
 * point checks, the latest-value entry and the retention of a batch's devices.
 */
import { DEVICE_ID_PATTERN, TIMESERIES_MEASURE_PATTERN } from '../../../core/contract/identifiers.js';
import type { EnrichedMessage } from '../../../core/contract/messages.js';
import type { TimeSeriesPoint } from '../../../core/timeseries.js';
import { DEFAULT_RETENTION_DAYS, MAX_KEY_TIME } from './layout.js';

/** UpdateItem calls in flight per batch. */
export const WRITE_CONCURRENCY = 32;
/**
 * Measures per UpdateItem: keeps the update and condition expressions well under DynamoDB's 4 KB
 * expression limit (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
 * A message with more measures is written in several updates of the same item.
 */
export const MEASURES_PER_UPDATE = 40;

export interface ConsumedCapacity {
  readonly table: string;
  readonly units: number;
}

export interface LatestCandidate {
  readonly measure: string;
  readonly value: TimeSeriesPoint['value'];
  readonly time: number;
  readonly quality: TimeSeriesPoint['quality'];
}

export const checkPoint = (point: TimeSeriesPoint, index: number) => {
  if (!DEVICE_ID_PATTERN.test(point.deviceId))
    throw new RangeError(`points[${index}].deviceId is not a valid device id`);
  if (!TIMESERIES_MEASURE_PATTERN.test(point.measure))
    throw new RangeError(`points[${index}].measure is not a valid measure`);
};

/** A time a sort key can hold: the core keeps a stale timestamp (SUSPECT), even one before 1970. */
export const isKeyTime = (time: number) => Number.isSafeInteger(time) && time >= 0 && time <= MAX_KEY_TIME;

/**
 * A latest value as stored: `[value, time]`, or `[value, time, 'SUSPECT']`. A list rather than a map
 * `{v, t, q}`: a breaker's telemetry item (25 measures) stays under 1 KB, so one write unit per update.
 */
export type LatestEntry = [LatestCandidate['value'], number] | [LatestCandidate['value'], number, 'SUSPECT'];
export const latestEntry = (c: LatestCandidate): LatestEntry =>
  c.quality === 'SUSPECT' ? [c.value, c.time, 'SUSPECT'] : [c.value, c.time];

/** Each device's retention in days, from its messages; DEFAULT_RETENTION_DAYS for one without. */
export function retentionLookup(messages: readonly EnrichedMessage[]): (deviceId: string) => number {
  const retention = new Map<string, number>();
  for (const message of messages) {
    const days = message.device_metadata?.retention_days;
    if (typeof days === 'number' && days > 0) retention.set(message.device_id, days);
  }
  return (deviceId) => retention.get(deviceId) ?? DEFAULT_RETENTION_DAYS;
}

/** Splits a list into chunks of `size`. */
export const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};
