/** One line per alert rule kind for the registry view (issue 15 rule language). */
import type { AlertRule, ConditionLeaf } from '../api-types.js';

const leafText = (leaf: ConditionLeaf): string =>
  'threshold' in leaf
    ? `${leaf.path} ${leaf.operator} ${String(leaf.threshold)}`
    : `${leaf.path} ${leaf.operator.replace('_', ' ')} ${leaf.min} to ${leaf.max}`;

/** The reading a rule watches ("" for a group, which names its readings in the condition). */
export function ruleReading(rule: AlertRule): string {
  if ('conditions' in rule) return '';
  return rule.path ?? '(device)';
}

/** The rule's condition in words: kind, comparison, duration, hysteresis. */
export function ruleCondition(rule: AlertRule): string {
  const held = 'forSeconds' in rule && rule.forSeconds ? ` for ${rule.forSeconds} s` : '';
  const clears =
    'clearThreshold' in rule && rule.clearThreshold !== undefined
      ? `, clears past ${rule.clearThreshold}`
      : '';
  if ('kind' in rule && rule.kind === 'no_data') {
    return `no data for ${rule.silentSeconds === undefined ? '3 x update frequency' : `${rule.silentSeconds} s`}`;
  }
  if ('kind' in rule && rule.kind === 'group') {
    const parts = rule.conditions.map((c) =>
      'conditions' in c ? `(${c.match} of: ${c.conditions.map(leafText).join('; ')})` : leafText(c),
    );
    return `${rule.match} of: ${parts.join('; ')}${held}`;
  }
  if ('kind' in rule) return `change ${rule.operator} ${rule.threshold}/s${clears}${held}`;
  return `${'threshold' in rule ? `${rule.operator} ${String(rule.threshold)}` : `${rule.operator.replace('_', ' ')} ${rule.min} to ${rule.max}`}${clears}${held}`;
}
