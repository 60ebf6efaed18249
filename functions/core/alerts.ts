/**
 * Alert evaluation: each enabled rule of the type against the reading at its path, done during the
 * validation pass (validate.ts calls the collectors), so no per-reading record is kept for it. Only
 * readings that passed validation are evaluated: a BAD value (a sensor reporting 9999 V) is a data-quality problem,
 * reported as such, not an overvoltage. Trend messages are evaluated on each channel's extreme that
 * the rule looks at (max for "above" rules, min for "below" rules), so an excursion inside a window is
 * not averaged away.
 */
import type { Alert, TrendStatistics } from './contract/messages.js';
import type { AlertRule } from './contract/registry.js';
import type { CompiledDeviceType, CompiledReading } from './registry.js';

export type RuleValue = number | boolean | string;

/** True when the rule fires for this value. A value of the wrong type never fires. */
export function ruleMatches(rule: AlertRule, value: RuleValue): boolean {
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

/** A rule that fired, with the value that made it fire. */
export interface RuleHit {
  readonly rule: AlertRule;
  readonly value: RuleValue;
  readonly unit: string;
}

/**
 * Collects the rules of a validated (not BAD) reading that fire for its value into `hits`, and the
 * ids of those evaluated that do not into `misses` (they clear an active condition, alert-state.ts).
 */
export function collectReadingHits(
  reading: CompiledReading,
  value: RuleValue,
  hits: RuleHit[],
  misses: string[],
): void {
  for (const rule of reading.rules) {
    if (ruleMatches(rule, value)) hits.push({ rule, value, unit: reading.definition.unit });
    else misses.push(rule.ruleId);
  }
}

/**
 * Collects the rules that fire for a trend channel, on the statistic each rule is sensitive to: the
 * window's max for "above" rules, its min for "below" rules, both for outside_range, last otherwise.
 */
export function collectTrendHits(
  reading: CompiledReading,
  stats: TrendStatistics,
  hits: RuleHit[],
  misses: string[],
): void {
  for (const rule of reading.rules) {
    const candidates =
      rule.operator === 'gt' || rule.operator === 'gte'
        ? [stats.max]
        : rule.operator === 'lt' || rule.operator === 'lte'
          ? [stats.min]
          : rule.operator === 'outside_range'
            ? [stats.min, stats.max]
            : [stats.last];
    const firing = candidates.find((value) => ruleMatches(rule, value));
    if (firing !== undefined) hits.push({ rule, value: firing, unit: reading.definition.unit });
    else misses.push(rule.ruleId);
  }
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

/** Turns the rule hits of one message into alert records. */
export function toAlerts(hits: readonly RuleHit[], context: AlertContext): Alert[] {
  return hits.map(({ rule, value, unit }) => {
    const alert: Alert = {
      // Stable for the same message and rule: at-least-once delivery can repeat it, consumers de-duplicate.
      alert_id: `${context.messageId}:${rule.ruleId}`,
      device_id: context.deviceId,
      device_type: context.type.typeId,
      rule_id: rule.ruleId,
      rule_name: rule.name,
      path: rule.path,
      operator: rule.operator,
      value,
      unit,
      severity: rule.severity,
      triggered_at: context.triggeredAt,
      raised_at: context.raisedAt,
      message_id: context.messageId,
    };
    if ('threshold' in rule) alert.threshold = rule.threshold;
    else alert.range = { min: rule.min, max: rule.max };
    return alert;
  });
}
