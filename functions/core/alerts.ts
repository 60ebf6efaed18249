/**
 * Alert evaluation: each enabled rule of the type against the reading at its path. Only readings that
 * passed validation are evaluated: a BAD value (a sensor reporting 9999 V) is a data-quality problem,
 * reported as such, not an overvoltage. Trend messages are evaluated on each channel's extreme that
 * the rule looks at (max for "above" rules, min for "below" rules), so an excursion inside a window is
 * not averaged away.
 */
import type { Alert } from './contract/messages.js';
import type { AlertRule } from './contract/registry.js';
import type { CompiledDeviceType } from './registry.js';
import type { Reading, TrendReading } from './validate.js';

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

export interface AlertContext {
  readonly deviceId: string;
  readonly type: CompiledDeviceType;
  /** The reading time, ISO. */
  readonly triggeredAt: string;
  /** When the platform raised it, ISO. */
  readonly raisedAt: string;
  readonly messageId: string;
}

function toAlert(rule: AlertRule, value: RuleValue, unit: string, context: AlertContext): Alert {
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
}

/** `readings` must include every reading that has rules (ValidationResult.notableReadings does). */
export function evaluateAlerts(
  readings: readonly Reading[],
  trends: readonly TrendReading[],
  context: AlertContext,
): Alert[] {
  if (!context.type.hasRules) return [];
  const alerts: Alert[] = [];
  for (const reading of readings) {
    const definition = reading.definition;
    if (!definition || definition.rules.length === 0 || reading.verdict === 'BAD') continue;
    const value = reading.value as RuleValue;
    for (const rule of definition.rules) {
      if (ruleMatches(rule, value)) alerts.push(toAlert(rule, value, definition.definition.unit, context));
    }
  }
  for (const trend of trends) {
    const definition = trend.definition;
    if (!definition || definition.rules.length === 0 || trend.verdict === 'BAD') continue;
    for (const rule of definition.rules) {
      // The extreme the rule is sensitive to; ranges check both ends.
      const candidates =
        rule.operator === 'gt' || rule.operator === 'gte'
          ? [trend.stats.max]
          : rule.operator === 'lt' || rule.operator === 'lte'
            ? [trend.stats.min]
            : rule.operator === 'outside_range'
              ? [trend.stats.min, trend.stats.max]
              : [trend.stats.last];
      const firing = candidates.find((value) => ruleMatches(rule, value));
      if (firing !== undefined) alerts.push(toAlert(rule, firing, definition.definition.unit, context));
    }
  }
  return alerts;
}
