import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import {
  type ConditionState,
  decideAlerts,
  MAX_REMEMBERED_ONSETS,
  type RuleEvaluation,
  type StreamPosition,
} from './alert-state.js';
import type { Alert } from './contract/messages.js';
import { processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import { ENVIRONMENTAL_ID, PROCESSED_AT, RECEIVED_AT, TIMESTAMP } from './test-support/messages.js';

const registry = compileRegistry(seedRegistry);

function evaluate(measurements: Record<string, unknown>) {
  const outcome = processMessage(
    JSON.stringify({
      device_id: ENVIRONMENTAL_ID,
      device_type: 'environmental_sensor',
      timestamp: TIMESTAMP,
      event_type: 'telemetry',
      measurements,
    }),
    { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
    { registry, service: 'enrich', serviceVersion: 'test' },
  );
  if (outcome.kind !== 'enriched') throw new Error(`rejected: ${outcome.rejection.reason}`);
  return { matched: outcome.alerts.map((a) => a.rule_id), notMatched: [...outcome.notMatchedRules] };
}

describe('rule evaluations reported by processMessage', () => {
  it('lists the rules that matched and those evaluated that did not', () => {
    // 50 °C is above temperature-high, not below temperature-low; humidity 45 % matches nothing.
    const { matched, notMatched } = evaluate({ temperature: 50, humidity: 45, battery: 88 });

    expect(matched).toEqual(['temperature-high']);
    expect(notMatched.sort()).toEqual(['battery-low', 'humidity-high', 'temperature-low']);
  });

  it('says nothing about a rule whose reading is absent from the message', () => {
    const { matched, notMatched } = evaluate({ temperature: 21 });

    expect(matched).toEqual([]);
    expect(notMatched.sort()).toEqual(['temperature-high', 'temperature-low']);
  });

  it('says nothing about a rule whose reading is BAD (outside its valid range)', () => {
    const { matched, notMatched } = evaluate({ temperature: 9999, humidity: 45 });

    expect(matched).toEqual([]);
    expect(notMatched).toEqual(['humidity-high']);
  });
});

const alert = (messageId: string, ruleId = 'maintenance-due'): Alert => ({
  alert_id: `${messageId}:${ruleId}`,
  device_id: 'brk-00001',
  device_type: 'smart_breaker',
  rule_id: ruleId,
  rule_name: ruleId,
  path: 'operational.maintenance_due',
  operator: 'eq',
  value: true,
  threshold: true,
  unit: '',
  severity: 'low',
  triggered_at: TIMESTAMP,
  raised_at: TIMESTAMP,
  message_id: messageId,
});
const at = (offset: number): StreamPosition => ({ stream: 'iot.raw-0', offset });
const match = (offset: number, ruleId = 'maintenance-due'): RuleEvaluation => ({
  position: at(offset),
  matched: [alert(`m${offset}`, ruleId)],
  notMatched: [],
});
const clear = (offset: number, ruleId = 'maintenance-due'): RuleEvaluation => ({
  position: at(offset),
  matched: [],
  notMatched: [ruleId],
});
const absent = (offset: number): RuleEvaluation => ({ position: at(offset), matched: [], notMatched: [] });

/** Runs batches one after the other, carrying the stored state as a store would. */
function runBatches(batches: RuleEvaluation[][], initial = new Map<string, ConditionState>()) {
  let stored = initial;
  const raised: string[][] = [];
  const suppressed: number[] = [];
  for (const batch of batches) {
    const decision = decideAlerts(stored, batch);
    stored = new Map([...stored, ...decision.changed]);
    raised.push(decision.raised.map((a) => a.alert_id));
    suppressed.push(decision.suppressed);
  }
  return { raised, suppressed, stored };
}

/** A message of reading time `reading` (seconds after T0), received when it was read unless told. */
const timed = (evaluation: RuleEvaluation, reading: number, received = reading): RuleEvaluation => ({
  ...evaluation,
  time: { reading: T0 + reading * 1000, received: T0 + received * 1000 },
});
const T0 = Date.parse('2026-12-06T10:00:00.000Z');

describe('decideAlerts: stale readings (a device re-sends or sends late)', () => {
  it('an older normal reading does not clear a newer breach', () => {
    const { raised, stored } = runBatches([[timed(match(1), 10)], [timed(clear(2), 0, 12)]]);

    expect(raised).toEqual([['m1:maintenance-due'], []]);
    expect(stored.get('maintenance-due')).toMatchObject({ active: true, version: 1 });
  });

  it('a re-sent breach does not raise again after its clear', () => {
    const { raised, stored } = runBatches([
      [timed(match(1), 20), timed(clear(2), 25)],
      // The device re-sends its t+20 message (its PUBACK was lost): a new stream record.
      [timed(match(3), 20, 30)],
    ]);

    expect(raised).toEqual([['m1:maintenance-due'], []]);
    expect(stored.get('maintenance-due')).toMatchObject({ active: false, newest: T0 + 25_000 });
  });

  it('takes a reading newer than the last write, even if it arrived late', () => {
    const { raised } = runBatches([[timed(match(1), 10), timed(clear(2), 20)], [timed(match(3), 21, 60)]]);

    expect(raised).toEqual([['m1:maintenance-due'], ['m3:maintenance-due']]);
  });

  it('caps the guard at the receive time, so a timestamp from a wrong clock does not freeze the rule', () => {
    const yearAhead = 365 * 24 * 3600;
    const { raised } = runBatches([
      [timed(match(1), yearAhead, 10)],
      [timed(clear(2), 11)],
      [timed(match(3), 12)],
    ]);

    expect(raised).toEqual([['m1:maintenance-due'], [], ['m3:maintenance-due']]);
  });

  it("applies stateful observations only when newer (an old reading does not end a held rule's wait)", () => {
    const observation = (offset: number, signal: 'raise' | 'clear', reading: number): RuleEvaluation =>
      timed(
        {
          position: at(offset),
          matched: [],
          notMatched: [],
          observations: [
            {
              ruleId: 'held',
              at: T0 + reading * 1000,
              forMs: 30_000,
              alert: alert(`m${offset}`, 'held'),
              signal,
            },
          ],
        },
        reading,
        Math.max(reading, 100),
      );
    // Without the guard, the old reading's clear signal would end the wait begun at t+50.
    const { stored } = runBatches([[observation(1, 'raise', 50)], [observation(2, 'clear', 10)]]);

    expect(stored.get('held')).toMatchObject({ active: false, pendingSince: T0 + 50_000, version: 1 });
  });
});

describe('decideAlerts (edge-triggered)', () => {
  it('raises on the onset only, and suppresses the continuations', () => {
    const { raised, suppressed } = runBatches([[match(1), match(2), match(3)], [match(4)]]);

    expect(raised).toEqual([['m1:maintenance-due'], []]);
    expect(suppressed).toEqual([2, 1]);
  });

  it('clears on a message where the rule was evaluated and did not match, then raises again', () => {
    const { raised } = runBatches([[match(1), match(2), clear(3), match(4)], [clear(5)], [match(6)]]);

    expect(raised).toEqual([['m1:maintenance-due', 'm4:maintenance-due'], [], ['m6:maintenance-due']]);
  });

  it('keeps the condition active across messages that lack the reading', () => {
    const { raised } = runBatches([[match(1), absent(2), match(3)]]);

    expect(raised).toEqual([['m1:maintenance-due']]);
  });

  it('keeps each rule of a device separately', () => {
    const { raised } = runBatches([
      [match(1, 'a'), match(2, 'b'), clear(3, 'a'), match(4, 'a'), match(5, 'b')],
    ]);

    expect(raised).toEqual([['m1:a', 'm2:b', 'm4:a']]);
  });

  it('writes only transitions: continuations and clears of inactive rules change nothing', () => {
    const first = decideAlerts(new Map(), [clear(1), match(2)]);
    const stored = new Map(first.changed);
    const second = decideAlerts(stored, [match(3), match(4)]);

    expect(first.changed.get('maintenance-due')).toMatchObject({ active: true, version: 1 });
    expect(second.changed.size).toBe(0);
  });

  it('re-raises the same alert ids when a batch is redelivered after its state was saved', () => {
    // The first delivery saved the state, then the process crashed before producing the alerts.
    const batch = [match(10), match(11), clear(12), match(13), match(14)];
    const { stored } = runBatches([batch]);

    const redelivered = decideAlerts(stored, batch);

    expect(redelivered.raised.map((a) => a.alert_id)).toEqual(['m10:maintenance-due', 'm13:maintenance-due']);
    expect(redelivered.changed.size).toBe(0);
  });

  it('raises nothing new when a batch of continuations and a clear is redelivered', () => {
    const { stored } = runBatches([[match(1)], [match(2), clear(3)]]);

    const redelivered = decideAlerts(stored, [match(2), clear(3)]);

    expect(redelivered.raised).toEqual([]);
    expect(redelivered.changed.size).toBe(0);
  });

  it('remembers a bounded number of onsets', () => {
    const flips = Array.from({ length: MAX_REMEMBERED_ONSETS + 5 }, (_, i) => [
      match(2 * i),
      clear(2 * i + 1),
    ]);
    const { stored } = runBatches([flips.flat()]);

    expect(stored.get('maintenance-due')?.onsets).toHaveLength(MAX_REMEMBERED_ONSETS);
  });
});
