/**
 * The contract every model keeps: a simulated day at the registry's update frequency, every telemetry
 * step enriched as GOOD by the real core, every event accepted.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { DeviceModel } from '../types.js';
import { createModel, MODEL_FACTORIES } from './index.js';
import {
  DAY_MS,
  definitionOf,
  eventProblem,
  run,
  type Sample,
  START,
  SYNTHETIC_TYPE,
  telemetryProblem,
} from './testing.js';

function firstProblem(deviceId: string, typeId: string, samples: readonly Sample[]): string | undefined {
  for (const { time, step } of samples) {
    const problem = telemetryProblem(deviceId, typeId, time, step.measurements);
    if (problem) {
      return `${new Date(time).toISOString()}: ${problem}\n${JSON.stringify(step.measurements)}`;
    }
    for (const event of step.events) {
      const eventIssue = eventProblem(deviceId, typeId, time, event);
      if (eventIssue) return `${new Date(time).toISOString()}: event ${JSON.stringify(event)}: ${eventIssue}`;
    }
  }
  return undefined;
}

function modelFor(typeId: string, deviceId: string, seed = 7): DeviceModel {
  return createModel({
    deviceId,
    definition: definitionOf(typeId),
    random: Random.derive(seed, deviceId),
    startTime: START,
  });
}

describe('model contract: a simulated day validates GOOD', () => {
  for (const typeId of [...Object.keys(MODEL_FACTORIES), SYNTHETIC_TYPE.typeId]) {
    it(typeId, () => {
      const definition = definitionOf(typeId);
      const interval = definition.updateFrequencySeconds * 1000;
      const deviceId = `${typeId.replaceAll('_', '-')}-001`;
      const model = modelFor(typeId, deviceId);
      expect(model.deviceType).toBe(typeId);
      const samples = run(model, START, interval, Math.round(DAY_MS / interval));
      expect(firstProblem(deviceId, typeId, samples)).toBeUndefined();
    });
  }

  it('smart_breaker through overloads, ground faults and arc faults', () => {
    const deviceId = 'breaker-faults';
    const model = modelFor('smart_breaker', deviceId, 11);
    const faults = model.faults;
    if (!faults?.overload || !faults.groundFault || !faults.arcFault)
      throw new Error('breaker fault hooks missing');
    const { overload, groundFault, arcFault } = faults;
    const trips: string[] = [];
    // A fault of some kind every two hours, overloads of growing severity (up to far beyond the rating).
    const samples = run(model, START, 5_000, DAY_MS / 5_000, (_time, i) => {
      if (i % 1_440 === 100) overload(1.3 + (i / 1_440) * 0.4, 10 * 60_000);
      if (i % 1_440 === 700) groundFault();
      if (i % 1_440 === 1_100) arcFault();
    });
    for (const { step } of samples) {
      for (const event of step.events) if (event.type === 'trip') trips.push(String(event.data?.reason));
    }
    expect(firstProblem(deviceId, 'smart_breaker', samples)).toBeUndefined();
    expect(trips.filter((r) => r === 'ground_fault')).toHaveLength(12);
    expect(trips.filter((r) => r === 'arc_fault')).toHaveLength(12);
    expect(trips).toContain('overcurrent');
  });

  it('smart_meter through overloads', () => {
    const deviceId = 'meter-faults';
    const model = modelFor('smart_meter', deviceId, 5);
    const samples = run(model, START, 60_000, 1_440, (_time, i) => {
      if (i % 120 === 0) model.faults?.overload?.(1 + i / 300, 30 * 60_000);
    });
    expect(firstProblem(deviceId, 'smart_meter', samples)).toBeUndefined();
  });

  it('irregular and long steps (a fleet at a fixed rate) stay GOOD', () => {
    for (const typeId of Object.keys(MODEL_FACTORIES)) {
      const deviceId = `${typeId.replaceAll('_', '-')}-irregular`;
      const model = modelFor(typeId, deviceId, 3);
      const random = new Random(99);
      const samples: Sample[] = [];
      let time = START;
      for (let i = 0; i < 300; i++) {
        time += Math.round(random.exponential(10 * 60_000));
        samples.push({ time, step: model.step(time) });
      }
      expect(firstProblem(deviceId, typeId, samples)).toBeUndefined();
    }
  });

  it('createModel falls back to the generic model for unknown types', () => {
    const model = modelFor(SYNTHETIC_TYPE.typeId, 'gadget-1');
    expect(model.deviceType).toBe('synthetic_gadget');
    expect(model.faults).toBeUndefined();
  });
});

describe('determinism', () => {
  for (const typeId of [...Object.keys(MODEL_FACTORIES), SYNTHETIC_TYPE.typeId]) {
    it(`${typeId}: same seed, same output; another seed, other output`, () => {
      const interval = definitionOf(typeId).updateFrequencySeconds * 1000;
      const output = (seed: number) =>
        JSON.stringify(run(modelFor(typeId, 'device-1', seed), START, interval, 500).map((s) => s.step));
      expect(output(1)).toBe(output(1));
      expect(output(1)).not.toBe(output(2));
    });
  }
});
