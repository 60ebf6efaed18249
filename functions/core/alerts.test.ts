import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { ruleMatches } from './alerts.js';
import type { ThresholdRule as AlertRule } from './contract/registry.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import {
  accessControllerTelemetry,
  BREAKER_ID,
  breakerTelemetry,
  breakerTrends,
  environmentalTelemetry,
  eventMessage,
  meterTelemetry,
  PROCESSED_AT,
  RECEIVED_AT,
  statusMessage,
  type TestMessage,
  TIMESTAMP,
} from './test-support/messages.js';

const registry = compileRegistry(seedRegistry);

function run(message: TestMessage, processedAt = PROCESSED_AT): ProcessOutcome {
  return processMessage(
    JSON.stringify(message),
    { receivedAt: RECEIVED_AT, processedAt },
    { registry, service: 'enrich', serviceVersion: 'test' },
  );
}

function alertsOf(message: TestMessage, processedAt = PROCESSED_AT) {
  const outcome = run(message, processedAt);
  if (outcome.kind !== 'enriched') {
    throw new Error(
      `expected an enriched message, got ${outcome.rejection.reason}: ${outcome.rejection.detail}`,
    );
  }
  return outcome.alerts;
}

const ruleIds = (message: TestMessage) => alertsOf(message).map((alert) => alert.rule_id);

const base = { ruleId: 'rule', name: 'Rule', path: 'temperature', severity: 'high', enabled: true } as const;
const comparison = (operator: 'gt' | 'gte' | 'lt' | 'lte', threshold: number): AlertRule => ({
  ...base,
  operator,
  threshold,
});
const equality = (threshold: number | boolean | string): AlertRule => ({
  ...base,
  operator: 'eq',
  threshold,
});
const range = (operator: 'outside_range' | 'inside_range', min: number, max: number): AlertRule => ({
  ...base,
  operator,
  min,
  max,
});

describe('ruleMatches', () => {
  it.each([
    [124.9, false],
    [125, false],
    [125.1, true],
  ])('gt 125 fires for %d: %s', (value, fires) => {
    // Prepare
    const rule = comparison('gt', 125);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    [124.9, false],
    [125, true],
    [125.1, true],
  ])('gte 125 fires for %d: %s', (value, fires) => {
    // Prepare
    const rule = comparison('gte', 125);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    [114.9, true],
    [115, false],
    [115.1, false],
  ])('lt 115 fires for %d: %s', (value, fires) => {
    // Prepare
    const rule = comparison('lt', 115);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    [114.9, true],
    [115, true],
    [115.1, false],
  ])('lte 115 fires for %d: %s', (value, fires) => {
    // Prepare
    const rule = comparison('lte', 115);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    [2, 2, true],
    [2, 1, false],
    [true, true, true],
    [true, false, false],
    ['door_forced', 'door_forced', true],
    ['door_forced', 'door_open', false],
  ])('eq %s fires for %s: %s', (threshold, value, fires) => {
    // Prepare
    const rule = equality(threshold);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    [59.4, true],
    [59.5, false],
    [60, false],
    [60.5, false],
    [60.6, true],
  ])('outside_range 59.5..60.5 fires for %d: %s', (value, fires) => {
    // Prepare
    const rule = range('outside_range', 59.5, 60.5);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    [9.9, false],
    [10, true],
    [15, true],
    [20, true],
    [20.1, false],
  ])('inside_range 10..20 fires for %d: %s', (value, fires) => {
    // Prepare
    const rule = range('inside_range', 10, 20);

    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(fires);
  });

  it.each([
    ['gt 125', '130', comparison('gt', 125)],
    ['gte 125', true, comparison('gte', 125)],
    ['lt 115', '100', comparison('lt', 115)],
    ['lte 115', false, comparison('lte', 115)],
    ['eq 2', '2', equality(2)],
    ['eq true', 'true', equality(true)],
    ['eq true', 1, equality(true)],
    ['outside_range', '70', range('outside_range', 59.5, 60.5)],
    ['inside_range', '15', range('inside_range', 10, 20)],
  ])('%s never fires for the wrong-typed value %j', (_name, value, rule) => {
    // Act
    const result = ruleMatches(rule, value);

    // Assess
    expect(result).toBe(false);
  });
});

describe('alerts raised by processMessage', () => {
  it('raises no alert for a breaker inside every threshold', () => {
    // Act
    const alerts = alertsOf(breakerTelemetry());

    // Assess
    expect(alerts).toEqual([]);
  });

  it('raises voltage-phase-b-high for 126 V on phase B with the alert fields', () => {
    // Prepare
    const message = breakerTelemetry({ message_id: 'msg-0001', measurements: { voltage: { phase_b: 126 } } });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts).toEqual([
      {
        alert_id: 'msg-0001:voltage-phase-b-high',
        device_id: BREAKER_ID,
        device_type: 'smart_breaker',
        rule_id: 'voltage-phase-b-high',
        rule_name: 'Overvoltage phase B',
        path: 'voltage.phase_b',
        operator: 'gt',
        value: 126,
        threshold: 125,
        unit: 'V',
        severity: 'critical',
        triggered_at: TIMESTAMP,
        raised_at: new Date(PROCESSED_AT).toISOString(),
        message_id: 'msg-0001',
        transition: 'raised',
        rule_kind: 'threshold',
      },
    ]);
  });

  it('does not raise voltage-phase-b-high at exactly 125 V', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: { phase_b: 125 } } });

    // Act
    const ids = ruleIds(message);

    // Assess
    expect(ids).toEqual([]);
  });

  it('gives the same alert_id when the same message is processed again later', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: { phase_b: 126 } } });

    // Act
    const first = alertsOf(message, PROCESSED_AT);
    const second = alertsOf(message, PROCESSED_AT + 60_000);

    // Assess
    expect(first[0]?.alert_id).toBeDefined();
    expect(second[0]?.alert_id).toBe(first[0]?.alert_id);
    expect(first[0]?.alert_id).toBe(`${first[0]?.message_id}:voltage-phase-b-high`);
  });

  it('raises no alert for a BAD reading outside the valid range', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: { phase_b: 9999 } } });

    // Act
    const ids = ruleIds(message);

    // Assess
    expect(ids).toEqual([]);
  });

  it('raises no alert for a wrong-typed reading', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: { phase_b: '130' } } });

    // Act
    const ids = ruleIds(message);

    // Assess
    expect(ids).toEqual([]);
  });

  it('raises arc-fault-detected for arc_fault_detected true', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { protection: { arc_fault_detected: true } } });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule_id: 'arc-fault-detected',
      operator: 'eq',
      value: true,
      threshold: true,
      severity: 'critical',
    });
  });

  it('raises breaker-tripped for status code 2', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { status: { breaker: 2 } } });

    // Act
    const ids = ruleIds(message);

    // Assess
    expect(ids).toEqual(['breaker-tripped']);
  });

  it('raises frequency-out-of-range for 61 Hz with a range and no threshold', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { frequency: 61 } });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule_id: 'frequency-out-of-range',
      operator: 'outside_range',
      value: 61,
      range: { min: 59.5, max: 60.5 },
    });
    expect(alerts[0]).not.toHaveProperty('threshold');
  });

  it('raises the critical temperature rule at once above 80 °C, and observes the held one', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { temperature: 81 } });

    // Act
    const outcome = run(message);

    // Assess: temperature-high holds 30 s before it raises (alert-state.ts decides), so it is an observation.
    if (outcome.kind !== 'enriched') throw new Error('expected enriched');
    expect(outcome.alerts.map((a) => a.rule_id)).toEqual(['temperature-critical']);
    expect(outcome.observations.map((o) => [o.ruleId, o.signal, o.forMs])).toEqual([
      ['temperature-high', 'raise', 30_000],
      ['overload', 'clear', 0],
    ]);
  });

  it('raises an alert on a decoded hex value', () => {
    // Prepare: 0x0226 = 550 * 0.1 = 55 °C, above the 50 °C rule.
    const message = accessControllerTelemetry({ measurements: { rs485: { temperature: '0226' } } });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts.map((alert) => [alert.rule_id, alert.value])).toEqual([['rs485-temperature-high', 55]]);
  });

  it('raises a meter rule on a top-level reading', () => {
    // Prepare
    const message = meterTelemetry({ measurements: { demand: 95 } });

    // Act
    const ids = ruleIds(message);

    // Assess
    expect(ids).toEqual(['demand-high']);
  });

  it('raises an alert on a SUSPECT message with a stale timestamp, filed at the reading time', () => {
    // Prepare
    const stale = '2026-11-21T10:00:00.000Z';
    const message = environmentalTelemetry({ timestamp: stale, measurements: { temperature: 41 } });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts.map((alert) => [alert.rule_id, alert.triggered_at])).toEqual([['temperature-high', stale]]);
  });

  it('raises no alert for status and event messages', () => {
    // Act
    const alerts = [...alertsOf(statusMessage()), ...alertsOf(eventMessage())];

    // Assess
    expect(alerts).toEqual([]);
  });
});

describe('alerts on trends', () => {
  it('evaluates gt rules on the channel max', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'voltage.phase_a': { avg: 120, min: 118, max: 127, last: 119, count: 60 } },
    });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts.map((alert) => [alert.rule_id, alert.value])).toEqual([['voltage-phase-a-high', 127]]);
  });

  it('evaluates lt rules on the channel min', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'voltage.phase_a': { avg: 120, min: 110, max: 122, last: 121, count: 60 } },
    });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts.map((alert) => [alert.rule_id, alert.value])).toEqual([['voltage-phase-a-low', 110]]);
  });

  it('evaluates outside_range rules on both extremes', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { frequency: { avg: 60, min: 59.9, max: 60.7, last: 60, count: 60 } },
    });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts.map((alert) => [alert.rule_id, alert.value])).toEqual([['frequency-out-of-range', 60.7]]);
  });

  it('raises no alert for an inconsistent trend channel', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'voltage.phase_a': { avg: 120, min: 130, max: 127, last: 128, count: 60 } },
    });

    // Act
    const alerts = alertsOf(message);

    // Assess
    expect(alerts).toEqual([]);
  });

  it('files trend alerts at the message timestamp', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { temperature: { avg: 60, min: 41, max: 76, last: 50, count: 60 } },
    });

    // Act
    const outcome = run(message);

    // Assess
    if (outcome.kind !== 'enriched') throw new Error('expected enriched');
    expect(outcome.observations.map((o) => o.alert.triggered_at)).toEqual([TIMESTAMP]);
  });
});

describe('seed alert rules', () => {
  it('has at least the 19 enabled breaker rules of the prototype', () => {
    // Prepare
    const sets = seedRegistry.alertRules.filter((set) => set.deviceType === 'smart_breaker');

    // Act
    const enabled = sets.flatMap((set) => set.rules).filter((rule) => rule.enabled);

    // Assess
    expect(enabled.length).toBeGreaterThanOrEqual(19);
  });

  it('names a reading of its own type in every rule path', () => {
    // Prepare
    const misplaced: string[] = [];

    // Act
    for (const set of seedRegistry.alertRules) {
      const readings = registry.types.get(set.deviceType)?.readings;
      for (const rule of set.rules) {
        const paths =
          'conditions' in rule
            ? rule.conditions.flatMap((c) =>
                ('conditions' in c ? c.conditions : [c]).map((leaf) => leaf.path),
              )
            : rule.path === undefined
              ? []
              : [rule.path];
        for (const path of paths) {
          if (!readings?.has(path)) misplaced.push(`${set.deviceType}: ${rule.ruleId} -> ${path}`);
        }
      }
    }

    // Assess
    expect(misplaced).toEqual([]);
  });

  it('uses rule ids that are unique within each type', () => {
    // Act
    const duplicates = seedRegistry.alertRules.flatMap((set) => {
      const ids = set.rules.map((rule) => rule.ruleId);
      return ids.filter((id, index) => ids.indexOf(id) !== index).map((id) => `${set.deviceType}: ${id}`);
    });

    // Assess
    expect(duplicates).toEqual([]);
  });
});
