import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { DeviceModel } from '../types.js';
import { createMeterModel, meterDemandProfile } from './meter.js';
import { DAY_MS, definitionOf, num, run, START } from './testing.js';

const definition = definitionOf('smart_meter');
const meter = (deviceId: string, seed = 1): DeviceModel =>
  createMeterModel({ deviceId, definition, random: Random.derive(seed, deviceId), startTime: START });

describe('smart_meter', () => {
  it('integrates demand into a monotonic energy register (∫ demand dt)', () => {
    const samples = run(meter('meter-1'), START, 60_000, 3 * 1_440);
    let integral = 0;
    for (let i = 1; i < samples.length; i++) {
      const before = samples[i - 1]?.step.measurements ?? {};
      const after = samples[i]?.step.measurements ?? {};
      expect(num(after, 'energy')).toBeGreaterThanOrEqual(num(before, 'energy'));
      integral += ((num(before, 'demand') + num(after, 'demand')) / 2) * (1 / 60);
    }
    const first = num(samples[0]?.step.measurements ?? {}, 'energy');
    const last = num(samples.at(-1)?.step.measurements ?? {}, 'energy');
    expect(Math.abs(last - first - integral)).toBeLessThan(0.002);
    expect(integral).toBeGreaterThan(100);
  });

  it('integrates irregular steps too', () => {
    const model = meter('meter-irregular');
    const random = new Random(5);
    let time = START;
    let previous = model.step(time).measurements;
    let integral = 0;
    const start = num(previous, 'energy');
    for (let i = 0; i < 500; i++) {
      const dt = Math.round(random.between(1_000, 30 * 60_000));
      time += dt;
      const current = model.step(time).measurements;
      integral += ((num(previous, 'demand') + num(current, 'demand')) / 2) * (dt / 3_600_000);
      previous = current;
    }
    expect(Math.abs(num(previous, 'energy') - start - integral)).toBeLessThan(0.002);
  });

  it('keeps demand under the high-demand threshold, power factor 0.88-0.98, voltage 240 V ±1 %', () => {
    const maxDemand = definition.rated?.maxDemandKw ?? 100;
    let peak = 0;
    for (let d = 0; d < 40; d++) {
      const samples = run(meter(`meter-${d}`, 3), START, 5 * 60_000, DAY_MS / (5 * 60_000));
      for (const { time, step } of samples) {
        const m = step.measurements;
        const demand = num(m, 'demand');
        const pf = num(m, 'power_factor');
        peak = Math.max(peak, demand);
        const ok =
          demand > 0 &&
          demand < 90 &&
          num(m, 'power') === Math.round(demand * 1_000 * 10) / 10 &&
          pf >= 0.88 &&
          pf <= 0.98 &&
          Math.abs(num(m, 'voltage') - 240) <= 2.4 + 1e-9;
        if (!ok) expect.fail(`meter-${d} at ${new Date(time).toISOString()}: ${JSON.stringify(m)}`);
      }
    }
    expect(peak).toBeGreaterThan(0.5 * maxDemand);
  });

  it('follows a daily profile: evening peak above the night base', () => {
    expect(meterDemandProfile(19)).toBeGreaterThan(0.95);
    expect(meterDemandProfile(3)).toBeLessThan(0.35);
    const samples = run(meter('meter-profile', 2), START, 60_000, 1_440);
    const at = (hour: number) => num(samples[hour * 60]?.step.measurements ?? {}, 'demand');
    expect(at(19)).toBeGreaterThan(2 * at(3));
  });

  it('raises demand during an overload, and only for its duration', () => {
    const model = meter('meter-overload', 4);
    const before = run(model, START + 12 * 3_600_000, 60_000, 5).at(-1)?.step.measurements ?? {};
    model.faults?.overload?.(1.8, 10 * 60_000);
    const during = run(model, START + 12 * 3_600_000 + 5 * 60_000, 60_000, 5).at(-1)?.step.measurements ?? {};
    const after = run(model, START + 12 * 3_600_000 + 30 * 60_000, 60_000, 1)[0]?.step.measurements ?? {};
    expect(num(during, 'demand')).toBeGreaterThan(1.5 * num(before, 'demand'));
    expect(num(after, 'demand')).toBeLessThan(1.3 * num(before, 'demand'));
  });
});
