/**
 * Alert evaluation: each enabled rule of the type against the reading at its path, done during the
 * validation pass (validate.ts calls the collectors), so no per-reading record is kept for it. Only
 * readings that passed validation are evaluated: a BAD value (a sensor reporting 9999 V) is a data-quality problem,
 * reported as such, not an overvoltage. Trend messages are evaluated on each channel's extreme that
 * the rule looks at (max for "above" rules, min for "below" rules), so an excursion inside a window is
 * not averaged away.
 *
 * Rule kinds (issue 15; registry contract in contract/registry.ts):
 *  - threshold (v1): operator + threshold or range on one reading. Without `forSeconds` or
 *    `clearThreshold` it stays on the v1 fast path (hits and misses); with either it becomes a stateful
 *    observation (a raise/clear/hold signal) that alert-state.ts holds for the duration, and whose clear
 *    waits for the value to pass the clear threshold (hysteresis).
 *  - rate_of_change: the reading's change per second against the previous reading, which only the
 *    stored state knows: the observation carries the sample and alert-state.ts computes the rate.
 *  - group: all-of / any-of over conditions on several readings of one message (one level of nesting),
 *    in three-valued logic: a condition whose reading is absent is unknown, and a group the known
 *    conditions cannot decide says nothing (like a v1 rule whose reading is absent).
 *  - no_data: needs a clock, not a message (no-data.ts).
 */
import type { RuleObservation, RuleSignal } from './alert-state.js';
import type { Alert, TrendStatistics } from './contract/messages.js';
import {
  type AlertRuleKind,
  type ConditionLeaf,
  type GroupRule,
  type ReadingRule,
  ruleKind,
  type ThresholdRule,
} from './contract/registry.js';
import type { CompiledDeviceType, CompiledReading } from './registry.js';

export type RuleValue = number | boolean | string;

/** The comparison part of a threshold rule or of a group condition. */
export type Comparison = ThresholdRule | ConditionLeaf;

/** True when the rule fires for this value. A value of the wrong type never fires. */
export function ruleMatches(rule: Comparison, value: RuleValue): boolean {
  switch (rule.operator) {
    case 'gt':
      return typeof value === 'number' && value > rule.threshold;
    case 'gte':
      return typeof value === 'number' && value >= rule.threshold;
    case 'lt':
      return typeof value === 'number' && value < rule.threshold;
    case 'lte':
      return typeof value === 'number' && value <= rule.threshold;
    case 'eq':
      return value === rule.threshold;
    case 'outside_range':
      return typeof value === 'number' && (value < rule.min || value > rule.max);
    case 'inside_range':
      return typeof value === 'number' && value >= rule.min && value <= rule.max;
  }
}

/**
 * The signal of a comparison with an optional clear threshold: raise when it matches; otherwise clear,
 * unless a clear threshold is set and the value has not passed it yet (hold: hysteresis band).
 */
export function comparisonSignal(
  operator: 'gt' | 'gte' | 'lt' | 'lte',
  threshold: number,
  clearThreshold: number | undefined,
  value: number,
): RuleSignal {
  const raise =
    operator === 'gt'
      ? value > threshold
      : operator === 'gte'
        ? value >= threshold
        : operator === 'lt'
          ? value < threshold
          : value <= threshold;
  if (raise) return 'raise';
  if (clearThreshold === undefined) return 'clear';
  const cleared = operator === 'gt' || operator === 'gte' ? value < clearThreshold : value > clearThreshold;
  return cleared ? 'clear' : 'hold';
}

/** A rule that fired, with the value that made it fire. */
export interface RuleHit {
  readonly rule: ReadingRule | GroupRule;
  readonly value: RuleValue;
  readonly unit: string;
  /** For group rules: the condition the alert record describes. */
  readonly condition?: ConditionLeaf;
}

/** A stateful rule's reading: its signal, or (rate of change) the sample the state compares. */
export interface StatefulHit extends RuleHit {
  readonly signal?: RuleSignal;
}

/** Where the collectors put what they find (validate.ts's collector). */
export interface RuleSink {
  readonly ruleHits: RuleHit[];
  readonly ruleMisses: string[];
  /** The value each miss was evaluated on, same order as ruleMisses (for the clear event's record). */
  readonly missValues: RuleValue[];
  readonly statefulHits: StatefulHit[];
}

/** Rules on the v1 fast path: raised at once, cleared when they stop matching. */
const isThresholdRule = (rule: ReadingRule): rule is ThresholdRule => !('kind' in rule);

export function isStatelessRule(rule: ReadingRule): rule is ThresholdRule {
  if ('kind' in rule || rule.forSeconds !== undefined) return false;
  return !('clearThreshold' in rule) || rule.clearThreshold === undefined;
}

function collectStateful(rule: ReadingRule, value: RuleValue, unit: string, sink: RuleSink): void {
  if (!isThresholdRule(rule)) {
    // rate of change: the state compares it with the previous reading (alert-state.ts).
    if (typeof value === 'number') sink.statefulHits.push({ rule, value, unit });
    return;
  }
  let signal: RuleSignal = ruleMatches(rule, value) ? 'raise' : 'clear';
  if (
    (rule.operator === 'gt' ||
      rule.operator === 'gte' ||
      rule.operator === 'lt' ||
      rule.operator === 'lte') &&
    typeof value === 'number'
  ) {
    const comparison = rule as unknown as { threshold: number; clearThreshold?: number };
    signal = comparisonSignal(rule.operator, comparison.threshold, comparison.clearThreshold, value);
  }
  sink.statefulHits.push({ rule, value, unit, signal });
}

/**
 * Collects the rules of a validated (not BAD) reading that fire for its value into `hits`, and the
 * ids of those evaluated that do not into `misses` (they clear an active condition, alert-state.ts).
 */
export function collectReadingHits(reading: CompiledReading, value: RuleValue, sink: RuleSink): void {
  const unit = reading.definition.unit;
  for (const rule of reading.rules) {
    if (!isStatelessRule(rule)) collectStateful(rule, value, unit, sink);
    else if (ruleMatches(rule, value)) sink.ruleHits.push({ rule, value, unit });
    else {
      sink.ruleMisses.push(rule.ruleId);
      sink.missValues.push(value);
    }
  }
}

/** The trend statistic each rule is sensitive to: max for "above", min for "below", both for outside. */
function trendCandidates(rule: ReadingRule, stats: TrendStatistics): number[] {
  if ('kind' in rule) return [stats.last];
  return rule.operator === 'gt' || rule.operator === 'gte'
    ? [stats.max]
    : rule.operator === 'lt' || rule.operator === 'lte'
      ? [stats.min]
      : rule.operator === 'outside_range'
        ? [stats.min, stats.max]
        : [stats.last];
}

/**
 * Collects the rules that fire for a trend channel, on the statistic each rule is sensitive to: the
 * window's max for "above" rules, its min for "below" rules, both for outside_range, last otherwise
 * (and for rate of change).
 */
export function collectTrendHits(reading: CompiledReading, stats: TrendStatistics, sink: RuleSink): void {
  const unit = reading.definition.unit;
  for (const rule of reading.rules) {
    const candidates = trendCandidates(rule, stats);
    if (!isStatelessRule(rule)) {
      const firing = 'kind' in rule ? undefined : candidates.find((value) => ruleMatches(rule, value));
      collectStateful(rule, firing ?? (candidates[0] as number), unit, sink);
      continue;
    }
    const firing = candidates.find((value) => ruleMatches(rule, value));
    if (firing !== undefined) sink.ruleHits.push({ rule, value: firing, unit });
    else {
      sink.ruleMisses.push(rule.ruleId);
      sink.missValues.push(candidates[0] as number);
    }
  }
}

type Truth = boolean | undefined;

/** Three-valued (Kleene) all/any: unknown conditions decide nothing the known ones do not. */
function combine(match: 'all' | 'any', truths: readonly Truth[]): Truth {
  if (match === 'all') {
    if (truths.includes(false)) return false;
    return truths.includes(undefined) ? undefined : true;
  }
  if (truths.includes(true)) return true;
  return truths.includes(undefined) ? undefined : false;
}

const leafTruth = (leaf: ConditionLeaf, values: ReadonlyMap<string, RuleValue>): Truth => {
  const value = values.get(leaf.path);
  return value === undefined ? undefined : ruleMatches(leaf, value);
};

/** A group rule on one message's validated readings: raise, clear, or nothing (undecided). */
export function evaluateGroupRule(
  rule: GroupRule,
  values: ReadonlyMap<string, RuleValue>,
  type: CompiledDeviceType,
): StatefulHit | undefined {
  const truths = rule.conditions.map((condition) =>
    'conditions' in condition
      ? combine(
          condition.match,
          condition.conditions.map((leaf) => leafTruth(leaf, values)),
        )
      : leafTruth(condition, values),
  );
  const truth = combine(rule.match, truths);
  if (truth === undefined) return undefined;
  // The record describes the first condition that holds (raise) or the first one known (clear).
  const leaves = rule.conditions.flatMap((condition) =>
    'conditions' in condition ? condition.conditions : [condition],
  );
  const described =
    leaves.find((leaf) => truth && leafTruth(leaf, values) === true) ??
    leaves.find((leaf) => values.has(leaf.path));
  if (!described) return undefined;
  return {
    rule,
    condition: described,
    value: values.get(described.path) as RuleValue,
    unit: type.readings.get(described.path)?.definition.unit ?? '1',
    signal: truth ? 'raise' : 'clear',
  };
}

export interface AlertContext {
  readonly deviceId: string;
  readonly type: CompiledDeviceType;
  /** The reading time, ISO. */
  readonly triggeredAt: string;
  /** When the platform raised it, ISO. */
  readonly raisedAt: string;
  readonly messageId: string;
}

/** The alert record of one hit (a raise; alert-state.ts derives a clear from it). */
export function toAlert({ rule, value, unit, condition }: RuleHit, context: AlertContext): Alert {
  const comparison = condition ?? (rule as ReadingRule);
  const kind: AlertRuleKind = ruleKind(rule);
  const alert: Alert = {
    // Stable for the same message and rule: at-least-once delivery can repeat it, consumers de-duplicate.
    alert_id: `${context.messageId}:${rule.ruleId}`,
    device_id: context.deviceId,
    device_type: context.type.typeId,
    rule_id: rule.ruleId,
    rule_name: rule.name,
    path: comparison.path,
    operator: comparison.operator,
    value,
    unit: kind === 'rate_of_change' ? `${unit}/s` : unit,
    severity: rule.severity,
    triggered_at: context.triggeredAt,
    raised_at: context.raisedAt,
    message_id: context.messageId,
    transition: 'raised',
    rule_kind: kind,
  };
  if ('threshold' in comparison) alert.threshold = comparison.threshold;
  else alert.range = { min: comparison.min, max: comparison.max };
  return alert;
}

/** Turns the rule hits of one message into alert records. */
export function toAlerts(hits: readonly RuleHit[], context: AlertContext): Alert[] {
  return hits.map((hit) => toAlert(hit, context));
}

/** A rule's `forSeconds` in ms (0: raised at once). */
const holdMs = (rule: ReadingRule | GroupRule): number =>
  ('forSeconds' in rule && rule.forSeconds !== undefined ? rule.forSeconds : 0) * 1000;

/** Default factor on the type's update frequency: the gap a rate, or a no-data rule, tolerates. */
export const UPDATE_INTERVAL_FACTOR = 3;
/**
 * Default factor on the type's update frequency: the shortest span a rate is taken over. Readings at the
 * nominal rate are all compared; 10 readings a second of a 30 s sensor would otherwise turn 0.01 °C of
 * noise into 0.1 °C/s and raise and clear a rate alert on almost every message.
 */
export const MIN_SPAN_FACTOR = 0.5;

/** Stateful hits as observations for alert-state.ts. `at` is the reading time, epoch ms. */
export function toObservations(
  hits: readonly StatefulHit[],
  context: AlertContext,
  at: number,
): RuleObservation[] {
  return hits.map((hit) => {
    const alert = toAlert(hit, context);
    const rule = hit.rule;
    if ('kind' in rule && rule.kind === 'rate_of_change') {
      const { updateFrequencySeconds } = context.type.definition;
      const maxGapSeconds = rule.maxGapSeconds ?? updateFrequencySeconds * UPDATE_INTERVAL_FACTOR;
      const minSpanSeconds = rule.minSpanSeconds ?? updateFrequencySeconds * MIN_SPAN_FACTOR;
      return {
        ruleId: rule.ruleId,
        at,
        forMs: holdMs(rule),
        alert,
        rate: {
          sample: hit.value as number,
          operator: rule.operator,
          threshold: rule.threshold,
          ...(rule.clearThreshold === undefined ? {} : { clearThreshold: rule.clearThreshold }),
          maxGapMs: maxGapSeconds * 1000,
          minSpanMs: minSpanSeconds * 1000,
        },
      };
    }
    return { ruleId: rule.ruleId, at, forMs: holdMs(rule), alert, signal: hit.signal ?? 'clear' };
  });
}
