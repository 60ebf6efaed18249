/**
 * The rule language (issue 15) end to end through the pure core: processMessage evaluates each message,
 * decideAlerts applies it to the stored state, the test keeps the state between messages like the
 * alert-state store would. Each kind: which message raises, which holds, which clears, and a
 * redelivery that changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { type ConditionState, decideAlerts, type RuleEvaluation } from './alert-state.js';
import type { Alert } from './contract/messages.js';
import { evaluateNoData, NO_DATA_WINDOW_MS } from './no-data.js';
import { processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import { BREAKER_ID, breakerTelemetry, ENVIRONMENTAL_ID, type TestMessage } from './test-support/messages.js';

const registry = compileRegistry(seedRegistry);
const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** One message at `seconds` after T0, at stream offset `offset`. */
function evaluation(message: TestMessage, seconds: number, offset: number): RuleEvaluation {
  const time = T0 + seconds * 1000;
  const outcome = processMessage(
    JSON.stringify({ ...message, timestamp: new Date(time).toISOString(), message_id: `m${offset}` }),
    { receivedAt: time, processedAt: time + 10 },
    { registry, service: 'enrich', serviceVersion: 'test' },
  );
  if (outcome.kind !== 'enriched') throw new Error(`rejected: ${outcome.rejection.reason}`);
  return {
    position: { stream: 'iot.raw-0', offset },
    matched: outcome.alerts,
    notMatched: outcome.notMatchedRules,
    describe: outcome.describeRule,
    observations: outcome.observations,
  };
}

/** Applies evaluations one at a time, keeping the state; returns each one's events of `ruleId`. */
class Device {
  state = new Map<string, ConditionState>();
  apply(evaluation: RuleEvaluation, ruleId: string): Alert[] {
    const decision = decideAlerts(this.state, [evaluation]);
    for (const [id, next] of decision.changed) this.state.set(id, next);
    return decision.events.filter((event) => event.rule_id === ruleId);
  }
  /** `[index of the message, transition]` for each event of the rule over a run of evaluations. */
  run(evaluations: readonly RuleEvaluation[], ruleId: string): [number, string | undefined][] {
    return evaluations.flatMap((e, i) =>
      this.apply(e, ruleId).map((a) => [i, a.transition] as [number, string | undefined]),
    );
  }
}

const breaker = (measurements: TestMessage) => breakerTelemetry({ device_id: BREAKER_ID, measurements });
const environmental = (temperature: number) => ({
  device_id: ENVIRONMENTAL_ID,
  device_type: 'environmental_sensor',
  event_type: 'telemetry',
  measurements: { temperature, humidity: 45, battery: 90 },
});

describe('threshold held for a duration, with hysteresis (breaker temperature-high: > 75 for 30 s, clears < 70)', () => {
  it('raises at the first message 30 s into the excursion, holds between 70 and 75, clears below 70', () => {
    // Prepare
    const temperatures: [number, number][] = [
      [0, 76], // pending
      [10, 77], // pending
      [30, 76], // 30 s held: raises
      [40, 80], // continuation
      [50, 72], // under the raise threshold, above the clear one: holds
      [60, 69], // clears
    ];
    const evaluations = temperatures.map(([s, t], i) => evaluation(breaker({ temperature: t }), s, i));

    // Act
    const events = new Device().run(evaluations, 'temperature-high');

    // Assess
    expect(events).toEqual([
      [2, 'raised'],
      [5, 'cleared'],
    ]);
  });

  it('starts the wait over when the condition stops holding before the duration', () => {
    // Prepare
    const temperatures: [number, number][] = [
      [0, 76],
      [20, 60], // stops holding: the wait starts over
      [25, 76],
      [50, 76], // 25 s since the new start: still waiting
      [55, 77], // 30 s: raises
    ];
    const evaluations = temperatures.map(([s, t], i) => evaluation(breaker({ temperature: t }), s, i));

    // Act
    const events = new Device().run(evaluations, 'temperature-high');

    // Assess
    expect(events).toEqual([[4, 'raised']]);
  });

  it('describes the clear as an event of the raise it ends', () => {
    // Prepare
    const device = new Device();
    device.apply(evaluation(breaker({ temperature: 76 }), 0, 0), 'temperature-high');
    const [raise] = device.apply(evaluation(breaker({ temperature: 76 }), 30, 1), 'temperature-high');

    // Act
    const [clear] = device.apply(evaluation(breaker({ temperature: 65 }), 40, 2), 'temperature-high');

    // Assess
    expect(raise?.alert_id).toBe('m1:temperature-high');
    expect(clear).toMatchObject({
      alert_id: 'm1:temperature-high:cleared',
      transition: 'cleared',
      cleared_by: 'condition',
      raised_alert_id: 'm1:temperature-high',
      value: 65,
      rule_kind: 'threshold',
    });
  });
});

describe('rate of change (environmental temperature-rising-fast: > 0.05 °C/s, clears < 0.01 °C/s)', () => {
  it('raises on a fast rise, holds while rising slowly, clears when flat', () => {
    // Prepare
    const readings: [number, number][] = [
      [0, 20],
      [30, 20.5], // 0.017 °C/s
      [60, 23], // 0.083 °C/s: raises
      [90, 23.6], // 0.02 °C/s: between the thresholds, holds
      [120, 23.7], // 0.003 °C/s: clears
    ];
    const evaluations = readings.map(([s, t], i) => evaluation(environmental(t), s, i));

    // Act
    const events = new Device().run(evaluations, 'temperature-rising-fast');

    // Assess
    expect(events).toEqual([
      [2, 'raised'],
      [4, 'cleared'],
    ]);
  });

  it('records the rate per second in the alert, in the unit per second', () => {
    // Prepare
    const device = new Device();
    device.apply(evaluation(environmental(20), 0, 0), 'temperature-rising-fast');

    // Act
    const [raise] = device.apply(evaluation(environmental(23), 30, 1), 'temperature-rising-fast');

    // Assess
    expect(raise).toMatchObject({ value: 0.1, unit: '°C/s', threshold: 0.05, rule_kind: 'rate_of_change' });
  });

  it('takes a rate over half an update interval at least, so noise at a high message rate does not flap', () => {
    // Prepare: ten readings a second (a backlog, or a device far faster than its 30 s), alternating
    // 0.02 °C of sensor noise: 0.2 °C/s between neighbours, four times the raise threshold.
    const noisy = Array.from({ length: 200 }, (_, i) =>
      evaluation(environmental(20 + (i % 2) * 0.02), i / 10, i),
    );

    // Act
    const events = new Device().run(noisy, 'temperature-rising-fast');

    // Assess
    expect(events).toEqual([]);
  });

  it('still raises on a real rise sampled at a high rate, at the first reading a span after the last rate', () => {
    // Prepare: 0.1 °C/s for 40 s, one reading a second; the default span is 15 s.
    const rising = Array.from({ length: 41 }, (_, i) => evaluation(environmental(20 + i * 0.1), i, i));

    // Act
    const events = new Device().run(rising, 'temperature-rising-fast');

    // Assess: compared at 15 s (0.1 °C/s) against the reading at 0 s.
    expect(events).toEqual([[15, 'raised']]);
  });

  it('compares nothing across a gap wider than three update intervals', () => {
    // Prepare: the sensor reports every 30 s; 100 s without a reading is a gap.
    const evaluations = [evaluation(environmental(20), 0, 0), evaluation(environmental(30), 100, 1)];

    // Act
    const events = new Device().run(evaluations, 'temperature-rising-fast');

    // Assess
    expect(events).toEqual([]);
  });
});

describe('condition groups (breaker overload: load > 85 % AND any phase current > 90 A)', () => {
  const overload = (load: number, currents: [number, number, number]) =>
    breaker({
      operational: { load_percentage: load, operating_hours: 1, maintenance_due: false },
      current: { phase_a: currents[0], phase_b: currents[1], phase_c: currents[2] },
    });

  it('raises when the load and one phase (of the nested any-of) are high, clears when no phase is', () => {
    // Prepare
    const evaluations = [
      evaluation(overload(90, [50, 50, 50]), 0, 0), // load high, no phase high: false
      evaluation(overload(90, [50, 95, 50]), 5, 1), // load and phase b: raises
      evaluation(overload(92, [96, 50, 50]), 10, 2), // still true (phase a): continuation
      evaluation(overload(90, [50, 50, 50]), 15, 3), // clears
    ];

    // Act
    const events = new Device().run(evaluations, 'overload');

    // Assess
    expect(events).toEqual([
      [1, 'raised'],
      [3, 'cleared'],
    ]);
  });

  it('describes the condition that made the group fire', () => {
    // Act
    const [raise] = new Device().apply(evaluation(overload(90, [50, 95, 50]), 0, 0), 'overload');

    // Assess
    expect(raise).toMatchObject({ path: 'operational.load_percentage', rule_kind: 'group', value: 90 });
  });

  it('says nothing when missing readings leave the group undecided', () => {
    // Prepare: the load is high but no phase current arrives: true AND unknown cannot be decided.
    const device = new Device();
    device.apply(evaluation(overload(90, [50, 95, 50]), 0, 0), 'overload');
    const noCurrents = overload(90, [0, 0, 0]);
    delete (noCurrents.measurements as Record<string, unknown>).current;

    // Act
    const events = device.apply(evaluation(noCurrents, 5, 1), 'overload');

    // Assess: still active, nothing cleared.
    expect(events).toEqual([]);
    expect(device.state.get('overload')?.active).toBe(true);
  });
});

describe('no data (smart_meter meter-silent: default 3 x 60 s)', () => {
  const meterType = registry.types.get('smart_meter');
  if (!meterType) throw new Error('smart_meter missing from the seed registry');
  const lastSeen = T0;
  const at = (minutes: number) => T0 + minutes * NO_DATA_WINDOW_MS + 15_000;

  it('raises once the device is silent for longer than the interval, and clears when it reports', () => {
    // Prepare
    const device = new Device();

    // Act
    const atTwo = device.apply(
      evaluateNoData(meterType, { deviceId: 'meter-9', lastSeen }, at(2)),
      'meter-silent',
    );
    const atFour = device.apply(
      evaluateNoData(meterType, { deviceId: 'meter-9', lastSeen }, at(4)),
      'meter-silent',
    );
    const atFive = device.apply(
      evaluateNoData(meterType, { deviceId: 'meter-9', lastSeen }, at(5)),
      'meter-silent',
    );
    const back = device.apply(
      evaluateNoData(meterType, { deviceId: 'meter-9', lastSeen: at(5) + 1000 }, at(6)),
      'meter-silent',
    );

    // Assess
    expect(atTwo).toEqual([]);
    expect(atFour.map((a) => [a.transition, a.value, a.threshold, a.path])).toEqual([
      ['raised', 240, 180, 'last_seen'],
    ]);
    expect(atFive).toEqual([]);
    expect(back.map((a) => [a.transition, a.cleared_by, a.raised_alert_id])).toEqual([
      ['cleared', 'condition', atFour[0]?.alert_id],
    ]);
  });

  it('is idempotent per evaluation window: a second run in the window changes nothing', () => {
    // Prepare
    const device = new Device();
    const first = evaluateNoData(meterType, { deviceId: 'meter-9', lastSeen }, at(4));
    const raised = device.apply(first, 'meter-silent');

    // Act: the same window, a few seconds later.
    const again = evaluateNoData(meterType, { deviceId: 'meter-9', lastSeen }, at(4) + 30_000);
    const decision = decideAlerts(device.state, [again]);

    // Assess: the same alert id at most, and no state write.
    expect(decision.changed.size).toBe(0);
    expect(decision.events.map((a) => a.alert_id)).toEqual(raised.map((a) => a.alert_id));
  });

  it('watches one reading against its newest value (environmental humidity-silent, 600 s)', () => {
    // Prepare
    const envType = registry.types.get('environmental_sensor');
    if (!envType) throw new Error('environmental_sensor missing');
    const now = at(12);
    const readingsSeen = new Map([['humidity', T0]]);

    // Act
    const evaluated = evaluateNoData(envType, { deviceId: 'env-9', lastSeen: now - 1000, readingsSeen }, now);

    // Assess
    expect(evaluated.observations?.map((o) => [o.ruleId, o.signal, o.alert.path])).toEqual([
      ['humidity-silent', 'raise', 'humidity'],
    ]);
  });
});

describe('redelivery', () => {
  it('changes no state and re-produces only alert ids already produced', () => {
    // Prepare: a run of every stateful kind on the breaker, applied once.
    const run = [
      evaluation(breaker({ temperature: 76 }), 0, 0),
      evaluation(breaker({ temperature: 76 }), 30, 1),
      evaluation(breaker({ temperature: 65 }), 40, 2),
      evaluation(
        breaker({
          operational: { load_percentage: 90, operating_hours: 1, maintenance_due: false },
          current: { phase_a: 95, phase_b: 1, phase_c: 1 },
        }),
        45,
        3,
      ),
    ];
    const first = decideAlerts(new Map(), run);

    // Act: the whole batch again, against the state the first delivery stored.
    const again = decideAlerts(first.changed, run);

    // Assess
    expect(again.changed.size).toBe(0);
    expect(again.events.map((a) => a.alert_id)).toEqual(first.events.map((a) => a.alert_id));
  });
});
