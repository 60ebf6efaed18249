/**
 * Evaluates the platform's IoT rule declarations locally. It understands exactly the subset of the IoT
 * SQL the declarations use (`encode(*, 'base64')`, `topic()`, `topic(n)`, `timestamp()`, `clientid()`
 * in the SELECT list, one topic filter in FROM, no WHERE) and refuses anything else when it starts, so
 * a rule that would behave differently in AWS is caught at once rather than imitated.
 */
import type { IotRuleDeclaration } from '../functions/shared/iot-rules.js';

type Projection = (message: RuleInput) => string | number | undefined;

export interface RuleInput {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly clientId?: string;
  /** Receive time, epoch ms. */
  readonly receivedAt: number;
}

export class UnsupportedRuleError extends Error {
  override readonly name = 'UnsupportedRuleError';
}

const SELECT_PATTERN = /^SELECT\s+(.+?)\s+FROM\s+'([^']+)'\s*$/is;
const ITEM_PATTERN = /^(.+?)\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)$/i;

function compileExpression(expression: string, rule: string): Projection {
  const text = expression.trim();
  if (/^encode\(\s*\*\s*,\s*'base64'\s*\)$/i.test(text)) {
    return (m) =>
      Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('base64');
  }
  if (/^topic\(\s*\)$/i.test(text)) return (m) => m.topic;
  const segment = /^topic\(\s*(\d+)\s*\)$/i.exec(text);
  if (segment) {
    const index = Number(segment[1]) - 1; // IoT SQL counts topic segments from 1
    return (m) => m.topic.split('/')[index];
  }
  if (/^timestamp\(\s*\)$/i.test(text)) return (m) => m.receivedAt;
  if (/^clientid\(\s*\)$/i.test(text)) return (m) => m.clientId;
  throw new UnsupportedRuleError(`rule ${rule}: the local rule runner does not support "${text}"`);
}

/** MQTT topic-filter matching: `+` one level, `#` the rest. */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

export interface CompiledRule {
  readonly declaration: IotRuleDeclaration;
  /** The projected message, or undefined when the topic does not match the rule. */
  evaluate(message: RuleInput): Record<string, string | number> | undefined;
}

export function compileRule(declaration: IotRuleDeclaration): CompiledRule {
  const match = SELECT_PATTERN.exec(declaration.sql.trim());
  if (!match)
    throw new UnsupportedRuleError(`rule ${declaration.name}: expected "SELECT ... FROM '<filter>'"`);
  const [, selectList, filter] = match as unknown as [string, string, string];
  if (filter !== declaration.topicFilter) {
    throw new UnsupportedRuleError(
      `rule ${declaration.name}: FROM '${filter}' differs from topicFilter '${declaration.topicFilter}'`,
    );
  }
  const projections = selectList.split(/,(?![^()]*\))/).map((item) => {
    const itemMatch = ITEM_PATTERN.exec(item.trim());
    if (!itemMatch)
      throw new UnsupportedRuleError(`rule ${declaration.name}: "${item.trim()}" needs "AS name"`);
    return {
      name: itemMatch[2] as string,
      project: compileExpression(itemMatch[1] as string, declaration.name),
    };
  });
  return {
    declaration,
    evaluate(message) {
      if (!topicMatches(filter, message.topic)) return undefined;
      const output: Record<string, string | number> = {};
      for (const { name, project } of projections) {
        const value = project(message);
        // IoT SQL leaves out what evaluates to undefined.
        if (value !== undefined) output[name] = value;
      }
      return output;
    },
  };
}
