import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { DeviceModel, ModelEvent, ModelSettings } from '../types.js';
import {
  breakerLoadProfile,
  createBreakerModel,
  inverseTimeSeconds,
  PHASES,
  PICKUP_MULTIPLE,
  TRIP_SECONDS_AT_150_PERCENT,
  tripReason,
} from './breaker.js';
import { correlation, DAY_MS, definitionOf, num, run, type Sample, START } from './testing.js';

const HOUR = 3_600_000;
const definition = definitionOf('smart_breaker');
const RATED = definition.rated?.ratedCurrentA ?? 100;

function breaker(deviceId = 'breaker-1', seed = 1, settings?: ModelSettings): DeviceModel {
  return createBreakerModel({
    deviceId,
    definition,
    random: Random.derive(seed, deviceId),
    startTime: START,
    ...(settings ? { settings } : {}),
  });
}

function hooks(model: DeviceModel) {
  const faults = model.faults;
  if (!faults?.overload || !faults.groundFault || !faults.arcFault) throw new Error('fault hooks missing');
  return { overload: faults.overload, groundFault: faults.groundFault, arcFault: faults.arcFault };
}

const trips = (events: readonly ModelEvent[]) => events.filter((e) => e.type === 'trip');
const maxCurrent = (sample: Sample) =>
  Math.max(...PHASES.map((p) => num(sample.step.measurements, `current.${p}`)));

describe('smart_breaker: inverse-time curve', () => {
  it('follows IEC standard inverse with 150 % of rated tripping in 30-60 s', () => {
    const t150 = inverseTimeSeconds(1.5 * RATED, RATED);
    expect(t150).toBeCloseTo(TRIP_SECONDS_AT_150_PERCENT, 6);
    expect(t150).toBeGreaterThanOrEqual(30);
    expect(t150).toBeLessThanOrEqual(60);
    expect(inverseTimeSeconds(PICKUP_MULTIPLE * RATED, RATED)).toBe(Number.POSITIVE_INFINITY);
    expect(inverseTimeSeconds(RATED, RATED)).toBe(Number.POSITIVE_INFINITY);
    expect(inverseTimeSeconds(1.2 * RATED, RATED)).toBeGreaterThan(t150);
    expect(inverseTimeSeconds(3 * RATED, RATED)).toBeLessThan(t150 / 2.5);
  });

  it('decides the trip reason, fastest protection first', () => {
    const quiet = { arcFault: false, groundFaultCurrent: 0.1, overcurrentIntegral: 0.5, temperature: 60 };
    expect(tripReason(quiet)).toBeUndefined();
    expect(tripReason({ ...quiet, temperature: 86 })).toBe('over_temperature');
    expect(tripReason({ ...quiet, temperature: 86, overcurrentIntegral: 1 })).toBe('overcurrent');
    expect(tripReason({ ...quiet, groundFaultCurrent: 5.1, overcurrentIntegral: 1 })).toBe('ground_fault');
    expect(tripReason({ ...quiet, groundFaultCurrent: 5 })).toBeUndefined();
    expect(tripReason({ ...quiet, arcFault: true, groundFaultCurrent: 9 })).toBe('arc_fault');
  });
});

describe('smart_breaker: invariants over three days with faults', () => {
  const model = breaker('breaker-long', 42);
  const { overload, groundFault, arcFault } = hooks(model);
  const samples = run(model, START, 5_000, (3 * DAY_MS) / 5_000, (_t, i) => {
    if (i % 2_000 === 500) overload(1.4 + (i % 6_000) / 6_000, 15 * 60_000);
    if (i % 7_919 === 3_000) groundFault();
    if (i % 9_973 === 4_000) arcFault();
  });

  /** Plain checks (vitest's expect is too slow for 50,000 samples): the first few violations, if any. */
  function violations(check: (sample: Sample, previous: Sample | undefined) => string | undefined): string[] {
    const found: string[] = [];
    let previous: Sample | undefined;
    for (const sample of samples) {
      const problem = check(sample, previous);
      if (problem && found.length < 5) found.push(`${new Date(sample.time).toISOString()}: ${problem}`);
      previous = sample;
    }
    return found;
  }

  it('keeps S² = P² + Q², P ≤ S and S = Σ V·I, per phase and in total', () => {
    const found = violations(({ step: { measurements: m } }) => {
      const pf = num(m, 'power.factor');
      const s = num(m, 'power.apparent');
      const p = num(m, 'power.active');
      const q = num(m, 'power.reactive');
      let sumS = 0;
      let sumP = 0;
      let sumQ = 0;
      for (const phase of PHASES) {
        const si = num(m, `voltage.${phase}`) * num(m, `current.${phase}`);
        const pi = si * pf;
        const qi = Math.sqrt(si * si - pi * pi);
        if (Math.abs(si * si - pi * pi - qi * qi) > 1e-6 * Math.max(1, si * si))
          return `phase ${phase}: S² ≠ P² + Q²`;
        if (pi > si) return `phase ${phase}: P > S`;
        sumS += si;
        sumP += pi;
        sumQ += qi;
      }
      if (Math.abs(s - sumS) > 0.01) return `S ${s} ≠ Σ V·I ${sumS}`;
      if (Math.abs(p - sumP) > 0.02) return `P ${p} ≠ Σ P_i ${sumP}`;
      if (Math.abs(q - sumQ) > 0.02) return `Q ${q} ≠ Σ Q_i ${sumQ}`;
      if (p > s) return `P ${p} > S ${s}`;
      if (Math.abs(s * s - p * p - q * q) > 0.02 * (s + p + q) + 1e-6)
        return `S² ≠ P² + Q² (${s}, ${p}, ${q})`;
      return undefined;
    });
    expect(found).toEqual([]);
  });

  it('has monotonic trip count and operating hours, and a consistent maintenance flag', () => {
    const found = violations((sample, previous) => {
      const m = sample.step.measurements;
      const hours = num(m, 'operational.operating_hours');
      const count = num(m, 'protection.trip_count');
      const due = (m.operational as Record<string, unknown>).maintenance_due;
      if (due !== hours > 8_760) return `maintenance_due ${String(due)} at ${hours} h`;
      for (const event of trips(sample.step.events)) {
        if (event.data?.trip_count !== count) return `trip event count ${event.data?.trip_count} ≠ ${count}`;
      }
      if (!previous) return undefined;
      const pm = previous.step.measurements;
      const expected = num(pm, 'protection.trip_count') + trips(sample.step.events).length;
      if (count !== expected) return `trip_count ${count}, expected ${expected}`;
      const gained = hours - num(pm, 'operational.operating_hours');
      if (gained < 0) return `operating hours went back by ${-gained}`;
      // Closed for the whole step: the step's duration is added (rounded to 3 decimals).
      const step = (sample.time - previous.time) / HOUR;
      if (num(pm, 'status.breaker') === 1 && Math.abs(gained - step) > 0.0011)
        return `gained ${gained} h in ${step} h`;
      return undefined;
    });
    expect(found).toEqual([]);
  });

  it('reads zero current and power while tripped, and really trips', () => {
    let tripped = 0;
    const found = violations((sample) => {
      const m = sample.step.measurements;
      const breakerStatus = num(m, 'status.breaker');
      if (breakerStatus === 2) {
        tripped++;
        if (maxCurrent(sample) !== 0) return 'current while tripped';
        if (JSON.stringify(m.power) !== JSON.stringify({ active: 0, reactive: 0, apparent: 0, factor: 1 })) {
          return `power while tripped: ${JSON.stringify(m.power)}`;
        }
        if (num(m, 'operational.load_percentage') !== 0) return 'load while tripped';
      } else if (breakerStatus !== 1 || maxCurrent(sample) <= 0) {
        return `status ${breakerStatus} with ${maxCurrent(sample)} A`;
      }
      return undefined;
    });
    expect(found).toEqual([]);
    const reasons = new Set(samples.flatMap((s) => trips(s.step.events).map((e) => e.data?.reason)));
    expect([...reasons].sort()).toEqual(['arc_fault', 'ground_fault', 'overcurrent']);
    expect(tripped).toBeGreaterThan(10);
  });

  it('keeps the load percentage equal to the highest phase current over rated', () => {
    const found = violations((sample) => {
      const load = num(sample.step.measurements, 'operational.load_percentage');
      const expected = (maxCurrent(sample) / RATED) * 100;
      return Math.abs(load - expected) > 0.01 ? `load ${load} % for ${maxCurrent(sample)} A` : undefined;
    });
    expect(found).toEqual([]);
  });
});

describe('smart_breaker: protection physics', () => {
  it('trips a 1.6× afternoon overload by inverse-time overcurrent, then resets after tripResetMs', () => {
    // A busy device: 1.6 times its afternoon load is well above pickup (a lightly loaded one would
    // carry the same overload below pickup, as the night test shows).
    const model = breaker('breaker-ot', 6, { tripResetMs: 45_000 });
    const overloadAt = START + 15 * HOUR;
    const settled = run(model, START + 14 * HOUR, 5_000, 720).at(-1);
    expect(num(settled?.step.measurements ?? {}, 'operational.load_percentage')).toBeGreaterThan(75);
    hooks(model).overload(1.6, 20 * 60_000);
    const samples = run(model, overloadAt, 5_000, 60);

    const tripIndex = samples.findIndex((s) => trips(s.step.events).length > 0);
    expect(tripIndex).toBeGreaterThan(1);
    const trip = trips(samples[tripIndex]?.step.events ?? [])[0];
    expect(trip).toMatchObject({ type: 'trip', severity: 'critical', data: { reason: 'overcurrent' } });
    const tripCurrent = Number(trip?.data?.trip_current);
    expect(tripCurrent).toBeGreaterThan(PICKUP_MULTIPLE * RATED);

    // Not instantly and not never: the published currents integrate the curve to 1 at the trip step.
    let integral = 0;
    for (let i = 1; i < tripIndex; i++) {
      const sample = samples[i] as Sample;
      expect(num(sample.step.measurements, 'status.breaker')).toBe(1);
      integral += 5 / inverseTimeSeconds(maxCurrent(sample), RATED);
    }
    expect(integral).toBeLessThan(1);
    expect(integral + 5 / inverseTimeSeconds(tripCurrent, RATED)).toBeGreaterThanOrEqual(0.97);
    const elapsed = ((samples[tripIndex]?.time ?? 0) - overloadAt) / 1000;
    expect(elapsed).toBeGreaterThan(TRIP_SECONDS_AT_150_PERCENT / 2);
    expect(elapsed).toBeLessThan(5 * 60);

    // Open for the reset delay, currents zero, then closed again with a reset event.
    const resetIndex = samples.findIndex((s) => s.step.events.some((e) => e.type === 'reset'));
    expect(resetIndex).toBeGreaterThan(tripIndex);
    const resetDelay = (samples[resetIndex]?.time ?? 0) - (samples[tripIndex]?.time ?? 0);
    expect(resetDelay).toBeGreaterThanOrEqual(45_000);
    expect(resetDelay).toBeLessThan(45_000 + 5_000);
    for (const s of samples.slice(tripIndex, resetIndex)) {
      expect(num(s.step.measurements, 'status.breaker')).toBe(2);
      expect(maxCurrent(s)).toBe(0);
    }
    const reset = samples[resetIndex]?.step.events.find((e) => e.type === 'reset');
    expect(reset).toMatchObject({ severity: 'info', data: { trip_count: trip?.data?.trip_count } });
  });

  it('carries a 1.6× night overload (it stays below pickup) without tripping', () => {
    const model = breaker('breaker-night', 3);
    run(model, START + 2 * HOUR, 5_000, 100);
    hooks(model).overload(1.6, 20 * 60_000);
    const samples = run(model, START + 2 * HOUR + 500_000, 5_000, 240);
    expect(samples.flatMap((s) => trips(s.step.events))).toEqual([]);
    expect(Math.max(...samples.map(maxCurrent))).toBeGreaterThan(40);
  });

  it('trips at once on a ground fault and on an arc fault', () => {
    const model = breaker('breaker-gf', 4);
    const { groundFault, arcFault } = hooks(model);
    run(model, START, 5_000, 10);
    groundFault();
    const [gf] = run(model, START + 50_000, 5_000, 1);
    expect(trips(gf?.step.events ?? [])).toMatchObject([{ data: { reason: 'ground_fault' } }]);
    const gm = gf?.step.measurements ?? {};
    expect(num(gm, 'protection.ground_fault_current')).toBeGreaterThan(5);
    expect(num(gm, 'status.breaker')).toBe(2);

    run(model, START + 55_000, 5_000, 20); // through the reset
    arcFault();
    const [arc, after] = run(model, START + 155_000, 5_000, 2);
    expect(trips(arc?.step.events ?? [])).toMatchObject([{ data: { reason: 'arc_fault' } }]);
    expect(arc?.step.measurements.protection).toMatchObject({ arc_fault_detected: true });
    expect(after?.step.measurements.protection).toMatchObject({ arc_fault_detected: false });
    expect(num(arc?.step.measurements ?? {}, 'current.phase_a')).toBe(0);
  });

  it('heats with load: temperature follows the daily load and rises under overload', () => {
    const model = breaker('breaker-heat', 5);
    const samples = run(model, START, 60_000, 1_440);
    const load = samples.map((s) => num(s.step.measurements, 'operational.load_percentage'));
    const temperature = samples.map((s) => num(s.step.measurements, 'temperature'));
    expect(correlation(load, temperature)).toBeGreaterThan(0.8);
    const at = (hour: number) => temperature[hour * 60] ?? Number.NaN;
    expect(at(15)).toBeGreaterThan(at(4) + 8);

    const hot = breaker('breaker-hot', 5);
    run(hot, START + 14 * HOUR, 60_000, 60);
    hooks(hot).overload(1.3, HOUR);
    const warm = run(hot, START + 15 * HOUR, 5_000, 2);
    const later = run(hot, START + 15 * HOUR + 60_000, 60_000, 15);
    const before = num(warm[0]?.step.measurements ?? {}, 'temperature');
    const peak = Math.max(...later.map((s) => num(s.step.measurements, 'temperature')));
    expect(peak).toBeGreaterThan(before + 3);
  });

  it('shapes the load over the day: night 25-35 %, afternoon 65-80 % of rated on average', () => {
    expect(breakerLoadProfile(3)).toBeCloseTo(0.3, 5);
    expect(breakerLoadProfile(15)).toBeCloseTo(0.72, 5);
    const night: number[] = [];
    const afternoon: number[] = [];
    for (let d = 0; d < 30; d++) {
      const model = breaker(`breaker-${d}`, 9);
      for (const s of run(model, START + 3 * HOUR, 60_000, 3))
        night.push(num(s.step.measurements, 'operational.load_percentage'));
      for (const s of run(model, START + 15 * HOUR, 60_000, 3))
        afternoon.push(num(s.step.measurements, 'operational.load_percentage'));
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(night)).toBeGreaterThan(25);
    expect(mean(night)).toBeLessThan(36);
    expect(mean(afternoon)).toBeGreaterThan(62);
    expect(mean(afternoon)).toBeLessThan(82);
  });

  it('starts devices at 0-9,500 operating hours and 0-3 trips, some past the maintenance threshold', () => {
    const hours: number[] = [];
    for (let d = 0; d < 100; d++) {
      const [first] = run(breaker(`breaker-${d}`, 1), START, 5_000, 1);
      const m = first?.step.measurements ?? {};
      hours.push(num(m, 'operational.operating_hours'));
      expect(num(m, 'protection.trip_count')).toBeGreaterThanOrEqual(0);
      expect(num(m, 'protection.trip_count')).toBeLessThanOrEqual(3);
    }
    expect(Math.min(...hours)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...hours)).toBeLessThanOrEqual(9_500);
    expect(hours.some((h) => h > 8_760)).toBe(true);
    const custom = run(breaker('breaker-x', 1, { maintenanceThresholdHours: 1 }), START, 5_000, 1)[0];
    expect(custom?.step.measurements.operational).toMatchObject({ maintenance_due: true });
  });

  it('runs the grid frequency around 60 Hz, or 50 Hz when configured', () => {
    for (const nominal of [50, 60]) {
      const samples = run(breaker('breaker-f', 2, { nominalFrequencyHz: nominal }), START, 5_000, 5_000);
      const values = samples.map((s) => num(s.step.measurements, 'frequency'));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      expect(mean).toBeCloseTo(nominal, 1);
      expect(Math.max(...values.map((v) => Math.abs(v - nominal)))).toBeLessThan(0.1);
    }
  });

  it('keeps phase voltages near nominal with a fixed per-phase imbalance', () => {
    const samples = run(breaker('breaker-v', 8), START, 5_000, DAY_MS / 5_000);
    for (const phase of PHASES) {
      const values = samples.map((s) => num(s.step.measurements, `voltage.${phase}`));
      expect(Math.min(...values)).toBeGreaterThan(115);
      expect(Math.max(...values)).toBeLessThan(125);
    }
  });
});
