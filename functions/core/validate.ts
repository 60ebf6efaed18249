/**
 * Validation of every reading against its registry definition, and the message's data-quality verdict.
 *
 * Verdicts: BAD means the value cannot be right (wrong type, outside the valid range, not an allowed
 * code, undecodable); SUSPECT means it may be right but cannot be vouched for (a measurement the
 * registry does not know, or a message whose timestamp had to be doubted). Alerting on operating bands
 * is the rules' job, not validation's.
 */

import {
  collectReadingHits,
  collectTrendHits,
  type RuleHit,
  type RuleSink,
  type RuleValue,
  type StatefulHit,
} from './alerts.js';
import { isLengthWithin } from './contract/identifiers.js';
import type {
  DataQuality,
  MessageQualityReason,
  QualityVerdict,
  RawMessage,
  ReadingQuality,
  ReadingReason,
  TrendStatistics,
} from './contract/messages.js';
import type { TimestampCheck } from './envelope.js';
import { decodeHex } from './hex.js';
import {
  buildPresenceBlocks,
  type CompiledDeviceType,
  type CompiledReading,
  type PresenceBlocks,
  presenceKeyChar,
} from './registry.js';
import { convertUnit, isKnownUnit, unitsCompatible } from './units.js';

/** One reading as the rest of the pipeline sees it: path, value (decoded), and verdict. */
export interface Reading {
  readonly path: string;
  /** The value as sent (hex strings stay strings here). */
  readonly wire: unknown;
  /** The value after decoding; equals `wire` for unencoded readings. */
  readonly value: unknown;
  readonly verdict: QualityVerdict;
  readonly reasons?: readonly ReadingReason[];
  /** Undefined for measurements the registry does not know. */
  readonly definition?: CompiledReading;
}

export interface TrendReading {
  readonly path: string;
  readonly stats: TrendStatistics;
  readonly verdict: QualityVerdict;
  readonly reasons?: readonly ReadingReason[];
  readonly definition?: CompiledReading;
}

export interface ValidationResult {
  /** Readings that are not GOOD or not known to the registry; GOOD ones are only counted. */
  readonly notableReadings: readonly Reading[];
  /** Alert rules that fired, evaluated on the readings that passed validation. */
  readonly ruleHits: readonly RuleHit[];
  /**
   * Ids of the rules evaluated on a reading of this message that did not fire. A rule whose reading
   * is absent (or BAD) is in neither list: the message says nothing about its condition.
   */
  readonly ruleMisses: readonly string[];
  /** The value each miss was evaluated on (same order as ruleMisses). */
  readonly missValues: readonly RuleValue[];
  /** Stateful rules (forSeconds, clearThreshold, rate of change): decided against the stored state. */
  readonly statefulHits: readonly StatefulHit[];
  /** Validated values of the readings group rules read, by path (absent when the type has none). */
  readonly groupValues?: ReadonlyMap<string, RuleValue>;
  readonly trends: readonly TrendReading[];
  readonly decoded?: Record<string, number>;
  readonly quality: DataQuality;
  /** `quality` as JSON. */
  readonly qualityJson: string;
  /** The blocks shared by every message with the same known readings present. */
  readonly presence: PresenceBlocks;
}

const VERDICT_SCORE: Record<QualityVerdict, number> = { GOOD: 1, SUSPECT: 0.5, BAD: 0 };
const VERDICT_RANK: Record<QualityVerdict, number> = { GOOD: 0, SUSPECT: 1, BAD: 2 };

export const worstVerdict = (a: QualityVerdict, b: QualityVerdict): QualityVerdict =>
  VERDICT_RANK[a] >= VERDICT_RANK[b] ? a : b;

const GOOD_READING: ReadingQuality = Object.freeze({ verdict: 'GOOD' });

interface LeafCheck {
  readonly verdict: QualityVerdict;
  readonly reason?: ReadingReason;
  readonly value: unknown;
  /** The value and unit as sent, when the reading was converted to the registry's unit (issue 14). */
  readonly convertedFrom?: { readonly value: number; readonly unit: string };
}

/** Shared result for a GOOD reading whose value is its wire value (most readings): no allocation. */
const GOOD_AS_SENT: LeafCheck = Object.freeze({ verdict: 'GOOD', value: undefined });
const GOOD = (value: unknown): LeafCheck => ({ verdict: 'GOOD', value });
const BAD = (reason: ReadingReason, value: unknown): LeafCheck => ({ verdict: 'BAD', reason, value });

/**
 * Checks one wire value against its definition. A GOOD unencoded reading returns a shared result whose
 * `value` is undefined: the value is the wire value (see `readingValue`).
 */
export function checkReading(reading: CompiledReading, wire: unknown): LeafCheck {
  const definition = reading.definition;
  let value = wire;
  if (definition.encoding) {
    const decoded = decodeHex(wire, definition.encoding);
    if (!decoded.ok) return BAD('DECODE_ERROR', wire);
    value = decoded.value;
  }
  switch (definition.dataType) {
    case 'number':
      if (typeof value !== 'number') return BAD('WRONG_TYPE', value);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return BAD('WRONG_TYPE', value);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return BAD('WRONG_TYPE', value);
      break;
    case 'string':
      if (typeof value !== 'string') return BAD('WRONG_TYPE', value);
      if (definition.maxLength !== undefined && !isLengthWithin(value, 0, definition.maxLength))
        return BAD('TOO_LONG', value);
      break;
  }
  if (reading.allowed && !reading.allowed.has(value as number | boolean | string)) {
    return BAD('NOT_ALLOWED_VALUE', value);
  }
  const range = definition.validRange;
  if (range && typeof value === 'number' && (value < range.min || value > range.max)) {
    return BAD('OUT_OF_RANGE', value);
  }
  return definition.encoding ? GOOD(value) : GOOD_AS_SENT;
}

const isNumericReading = (reading: CompiledReading): boolean =>
  (reading.definition.dataType === 'number' || reading.definition.dataType === 'integer') &&
  reading.definition.encoding === undefined;

/**
 * Units as data (issue 14): checks a reading that declares a unit. Its own unit (`units[path]`) must
 * be the registry's or convert to it, else UNIT_MISMATCH. A group's unit (`units[groupKey]`) applies
 * to the components it fits and is ignored by the others (a `W` on a power group says nothing about
 * `reactive` in var); a group unit the units library does not know at all fits nothing and is flagged,
 * and so is a known one that fits no numeric component of the group (`A` on a voltage group is a
 * wrong unit, not another measure): `groupUnitFits` false says so.
 */
export function checkReadingWithUnit(
  reading: CompiledReading,
  wire: unknown,
  units: Readonly<Record<string, string>>,
  groupKey?: string,
  groupUnitFits = true,
): LeafCheck {
  const canonical = reading.definition.unit;
  const own = units[reading.path];
  const declared = own ?? (groupKey === undefined ? undefined : units[groupKey]);
  if (declared === undefined || declared === canonical) return checkReading(reading, wire);
  const numeric = isNumericReading(reading);
  if (
    own === undefined &&
    isKnownUnit(declared) &&
    (!numeric || (groupUnitFits && !unitsCompatible(declared, canonical)))
  ) {
    return checkReading(reading, wire);
  }
  if (!numeric) return BAD('UNIT_MISMATCH', wire);
  if (typeof wire !== 'number') return checkReading(reading, wire);
  const converted = convertUnit(wire, declared, canonical);
  if (converted === undefined) return BAD('UNIT_MISMATCH', wire);
  const check = checkReading(reading, converted);
  return { ...check, value: converted, convertedFrom: { value: wire, unit: declared } };
}

/** True when a group's unit is, or converts to, the unit of at least one numeric component of it. */
function unitFitsSomeComponent(unit: string, components: ReadonlyMap<string, CompiledReading>): boolean {
  for (const reading of components.values()) {
    const canonical = reading.definition.unit;
    if (isNumericReading(reading) && canonical !== undefined && unitsCompatible(unit, canonical)) return true;
  }
  return false;
}

function checkTrend(reading: CompiledReading | undefined, stats: TrendStatistics): LeafCheck {
  if (!reading) return { verdict: 'SUSPECT', reason: 'UNKNOWN_MEASUREMENT', value: stats };
  const definition = reading.definition;
  if (definition.dataType !== 'number' && definition.dataType !== 'integer') return BAD('WRONG_TYPE', stats);
  if (stats.min > stats.max || stats.avg < stats.min || stats.avg > stats.max) {
    return BAD('INCONSISTENT_AGGREGATE', stats);
  }
  if (stats.last < stats.min || stats.last > stats.max) return BAD('INCONSISTENT_AGGREGATE', stats);
  const range = definition.validRange;
  if (range && (stats.min < range.min || stats.max > range.max)) return BAD('OUT_OF_RANGE', stats);
  return GOOD(stats);
}

/** Collects reading verdicts for one message (a class, so no closures are created per message). */
class ReadingCollector implements RuleSink {
  readonly notable: Reading[] = [];
  readonly ruleHits: RuleHit[] = [];
  readonly ruleMisses: string[] = [];
  readonly missValues: RuleValue[] = [];
  readonly statefulHits: StatefulHit[] = [];
  groupValues: Map<string, RuleValue> | undefined;
  readingCount = 0;
  readonly trends: TrendReading[] = [];
  decoded: Record<string, number> | undefined;
  requiredPresent = 0;
  scoreSum = 0;
  verdict: QualityVerdict = 'GOOD';
  presenceKey = '';
  allKnownAndGood = true;
  /** Readings converted to the registry's unit, by path (issue 14). */
  converted: Map<string, { readonly value: number; readonly unit: string }> | undefined;

  private note(check: LeafCheck, definition: CompiledReading | undefined): void {
    this.scoreSum += VERDICT_SCORE[check.verdict];
    if (definition?.required) this.requiredPresent++;
    if (definition) this.presenceKey += presenceKeyChar(definition);
    if (check.verdict !== 'GOOD' || !definition) {
      this.allKnownAndGood = false;
      this.verdict = worstVerdict(this.verdict, check.verdict);
    }
  }

  reading(path: string, wire: unknown, definition: CompiledReading | undefined, check: LeafCheck): void {
    const reasons = check.reason ? [check.reason] : undefined;
    const value = check === GOOD_AS_SENT ? wire : check.value;
    this.readingCount++;
    if (!definition || check.verdict !== 'GOOD') {
      this.notable.push({ path, wire, value, verdict: check.verdict, reasons, definition });
    }
    if (definition && definition.rules.length > 0 && check.verdict !== 'BAD') {
      collectReadingHits(definition, value as RuleValue, this);
    }
    if (definition?.groupRuleInput && check.verdict !== 'BAD') {
      this.keepForGroups(path, value as RuleValue);
    }
    this.note(check, definition);
    if (definition?.definition.encoding && check.verdict !== 'BAD' && typeof check.value === 'number') {
      this.decoded ??= {};
      this.decoded[path] = check.value;
    }
    if (check.convertedFrom !== undefined) {
      this.converted ??= new Map();
      this.converted.set(path, check.convertedFrom);
      this.allKnownAndGood = false;
      if (check.verdict !== 'BAD' && typeof check.value === 'number') {
        this.decoded ??= {};
        this.decoded[path] = check.value;
      }
    }
  }

  private keepForGroups(path: string, value: RuleValue): void {
    this.groupValues ??= new Map();
    this.groupValues.set(path, value);
  }

  unknown(path: string, wire: unknown): void {
    this.reading(path, wire, undefined, { verdict: 'SUSPECT', reason: 'UNKNOWN_MEASUREMENT', value: wire });
  }

  trend(path: string, stats: TrendStatistics, definition: CompiledReading | undefined): void {
    const check = checkTrend(definition, stats);
    const reasons = check.reason ? [check.reason] : undefined;
    this.trends.push({ path, stats, verdict: check.verdict, reasons, definition });
    this.note(check, definition);
    if (definition && definition.rules.length > 0 && check.verdict !== 'BAD') {
      collectTrendHits(definition, stats, this);
    }
    // Groups compare a trend channel's last value (a window's extremes belong to its own rules).
    if (definition?.groupRuleInput && check.verdict !== 'BAD') {
      this.keepForGroups(path, stats.last);
    }
  }
}

function collectTelemetry(
  measurements: Extract<RawMessage, { event_type: 'telemetry' }>['measurements'],
  type: CompiledDeviceType,
  collector: ReadingCollector,
  units: Readonly<Record<string, string>> | undefined,
): void {
  for (const key in measurements) {
    const value = measurements[key];
    const measurement = type.measurements.get(key);
    const valueIsGroup = typeof value === 'object' && value !== null;
    if (!measurement) {
      if (valueIsGroup)
        for (const component in value) collector.unknown(`${key}.${component}`, value[component]);
      else collector.unknown(key, value);
    } else if (measurement.isGroup) {
      if (!valueIsGroup) {
        collector.reading(key, value, undefined, BAD('WRONG_TYPE', value));
        continue;
      }
      const components = measurement.components as ReadonlyMap<string, CompiledReading>;
      const groupUnit = units?.[key];
      const groupUnitFits = groupUnit === undefined || unitFitsSomeComponent(groupUnit, components);
      for (const component in value) {
        const reading = components.get(component);
        const wire = value[component];
        if (reading)
          collector.reading(
            reading.path,
            wire,
            reading,
            units === undefined
              ? checkReading(reading, wire)
              : checkReadingWithUnit(reading, wire, units, key, groupUnitFits),
          );
        else collector.unknown(`${key}.${component}`, wire);
      }
    } else {
      const reading = measurement.reading as CompiledReading;
      collector.reading(
        key,
        value,
        reading,
        valueIsGroup
          ? BAD('WRONG_TYPE', value)
          : units === undefined
            ? checkReading(reading, value)
            : checkReadingWithUnit(reading, value, units),
      );
    }
  }
}

export function validateMessage(
  message: RawMessage,
  type: CompiledDeviceType,
  timestamp: TimestampCheck,
): ValidationResult {
  const collector = new ReadingCollector();
  const missing: string[] = [];
  let completeness = 1;

  if (message.event_type === 'telemetry') {
    collectTelemetry(message.measurements, type, collector, message.units);
  } else if (message.event_type === 'trends') {
    for (const path in message.measurements) {
      collector.trend(path, message.measurements[path] as TrendStatistics, type.readings.get(path));
    }
  }
  const presence = type.presence.getOrBuild(collector.presenceKey, () =>
    buildPresenceBlocks(type, collector.presenceKey),
  );
  if (message.event_type === 'telemetry') {
    if (collector.requiredPresent < type.requiredPaths.length) {
      for (const path of type.requiredPaths) if (!(path in presence.measurementMetadata)) missing.push(path);
    }
    if (type.requiredPaths.length > 0) {
      completeness = (type.requiredPaths.length - missing.length) / type.requiredPaths.length;
    }
  }

  let verdict = collector.verdict;
  const reasons: MessageQualityReason[] = [];
  let timestampFactor = 1;
  if (timestamp.reason) {
    reasons.push(timestamp.reason);
    verdict = worstVerdict(verdict, 'SUSPECT');
    timestampFactor = 0.5;
  }
  if (missing.length > 0) {
    reasons.push('MISSING_REQUIRED');
    verdict = worstVerdict(verdict, 'SUSPECT');
  }
  const { notable, trends } = collector;
  const count = collector.readingCount + trends.length;
  const meanScore = count === 0 ? 1 : collector.scoreSum / count;
  const score = Math.round(meanScore * completeness * timestampFactor * 1000) / 1000;
  // In the common all-GOOD case the per-reading map is the same for the same set of readings, so it
  // comes from the type's caches (a shared frozen object, and its JSON).
  let qualities: Record<string, ReadingQuality>;
  let readingsJson: string;
  if (collector.allKnownAndGood) {
    qualities = presence.goodQualities as Record<string, ReadingQuality>;
    readingsJson = presence.goodQualitiesJson;
  } else {
    // Known readings in message order (from the presence blocks), then the unknown ones.
    const flagged = new Map<string, Reading | TrendReading>();
    for (const r of notable) if (r.reasons) flagged.set(r.path, r);
    for (const t of trends) if (t.reasons) flagged.set(t.path, t);
    qualities = {};
    const converted = collector.converted;
    const toQuality = (path: string): ReadingQuality => {
      const r = flagged.get(path);
      const quality: ReadingQuality = r?.reasons
        ? { verdict: r.verdict, reasons: [...r.reasons] }
        : GOOD_READING;
      const from = converted?.get(path);
      return from === undefined ? quality : { ...quality, converted_from: { ...from } };
    };
    for (const path in presence.measurementMetadata) qualities[path] = toQuality(path);
    for (const r of notable) if (!r.definition) qualities[r.path] = toQuality(r.path);
    for (const t of trends) if (!t.definition) qualities[t.path] = toQuality(t.path);
    readingsJson = Object.keys(qualities)
      .map((path) => `${JSON.stringify(path)}:${JSON.stringify(qualities[path])}`)
      .join(',');
  }
  const quality: DataQuality = {
    verdict,
    score,
    completeness: Math.round(completeness * 1000) / 1000,
    reasons,
    missing,
    readings: qualities,
  };
  const qualityJson =
    `{"verdict":"${verdict}","score":${score},"completeness":${quality.completeness}` +
    `,"reasons":${reasons.length === 0 ? '[]' : JSON.stringify(reasons)}` +
    `,"missing":${missing.length === 0 ? '[]' : JSON.stringify(missing)},"readings":{${readingsJson}}}`;

  return {
    notableReadings: notable,
    ruleHits: collector.ruleHits,
    ruleMisses: collector.ruleMisses,
    missValues: collector.missValues,
    statefulHits: collector.statefulHits,
    ...(collector.groupValues ? { groupValues: collector.groupValues } : {}),
    trends,
    ...(collector.decoded ? { decoded: collector.decoded } : {}),
    quality,
    qualityJson,
    presence,
  };
}
