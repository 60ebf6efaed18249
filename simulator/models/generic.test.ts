import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { Measurements } from '../types.js';
import { createGenericModel } from './generic.js';
import { createModel } from './index.js';
import { at, DAY_MS, definitionOf, num, run, START, SYNTHETIC_TYPE, telemetryProblem } from './testing.js';

const generic = (deviceId: string, seed = 1) =>
  createGenericModel({
    deviceId,
    definition: SYNTHETIC_TYPE,
    random: Random.derive(seed, deviceId),
    startTime: START,
  });

const paths = (m: Measurements): string[] =>
  Object.entries(m).flatMap(([key, value]) =>
    typeof value === 'object' ? Object.keys(value).map((c) => `${key}.${c}`) : [key],
  );

describe('generic model', () => {
  it('sends every required reading, a stable subset of optional ones, and optional strings never', () => {
    const subsets = new Set<string>();
    for (let d = 0; d < 30; d++) {
      const samples = run(generic(`gadget-${d}`), START, 15_000, 200);
      const first = paths(samples[0]?.step.measurements ?? {}).sort();
      for (const required of [
        'level',
        'count',
        'mode',
        'label',
        'enabled',
        'registers.tiny',
        'registers.wide',
      ]) {
        expect(first).toContain(required);
      }
      expect(first).not.toContain('note');
      // A group is only sent with readings in it, and its required components come with it.
      if (first.some((p) => p.startsWith('extras.'))) expect(first).toContain('extras.a');
      const signature = first.join(',');
      const changed = samples.find((s) => paths(s.step.measurements).sort().join(',') !== signature);
      expect(changed).toBeUndefined();
      subsets.add(first.join(','));
    }
    expect(subsets.size).toBeGreaterThan(1);
  });

  it('walks numbers inside the normal range, holds allowed values and rarely toggles booleans', () => {
    const samples = run(generic('gadget-walk', 4), START, 15_000, DAY_MS / 15_000);
    let modeChanges = 0;
    let toggles = 0;
    const levels = samples.map((s) => num(s.step.measurements, 'level'));
    for (let i = 0; i < samples.length; i++) {
      const m = samples[i]?.step.measurements ?? {};
      expect([0, 1, 7]).toContain(at(m, 'mode'));
      expect(Number.isInteger(at(m, 'count'))).toBe(true);
      expect(String(at(m, 'label')).length).toBeLessThanOrEqual(6);
      if (i > 0) {
        const previous = samples[i - 1]?.step.measurements ?? {};
        if (at(previous, 'mode') !== at(m, 'mode')) modeChanges++;
        if (at(previous, 'enabled') !== at(m, 'enabled')) toggles++;
      }
    }
    expect(Math.min(...levels)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...levels)).toBeLessThanOrEqual(80);
    expect(Math.max(...levels) - Math.min(...levels)).toBeGreaterThan(5);
    expect(modeChanges).toBeGreaterThan(5);
    expect(modeChanges).toBeLessThan(60);
    expect(toggles).toBeLessThan(15);
  });

  it('models a shipped type from its registry definition alone', () => {
    for (const typeId of ['smart_breaker', 'smart_meter', 'environmental_sensor', 'f2_access_controller']) {
      const definition = definitionOf(typeId);
      const model = createGenericModel({
        deviceId: 'g-1',
        definition,
        random: new Random(3),
        startTime: START,
      });
      for (const { time, step } of run(model, START, 60_000, 300)) {
        expect(telemetryProblem('g-1', typeId, time, step.measurements)).toBeUndefined();
      }
    }
  });

  it('is what createModel returns for an unknown type', () => {
    const options = { deviceId: 'x-1', definition: SYNTHETIC_TYPE, startTime: START };
    const viaIndex = run(createModel({ ...options, random: new Random(8) }), START, 1_000, 50);
    const direct = run(createGenericModel({ ...options, random: new Random(8) }), START, 1_000, 50);
    expect(viaIndex).toEqual(direct);
  });
});
