import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { createEnvironmentalModel, relativeHumidity } from './environmental.js';
import { correlation, DAY_MS, definitionOf, num, run, START } from './testing.js';

const definition = definitionOf('environmental_sensor');
const sensor = (deviceId: string, seed = 1) =>
  createEnvironmentalModel({ deviceId, definition, random: Random.derive(seed, deviceId), startTime: START });

describe('environmental_sensor', () => {
  it('computes relative humidity from the dew point', () => {
    expect(relativeHumidity(20, 20)).toBeCloseTo(100, 6);
    expect(relativeHumidity(25, 10)).toBeGreaterThan(35);
    expect(relativeHumidity(25, 10)).toBeLessThan(45);
  });

  for (const deviceId of ['env-1', 'env-2', 'env-3', 'env-4']) {
    it(`${deviceId}: warm afternoons, humidity anti-correlated with temperature`, () => {
      const samples = run(sensor(deviceId), START, 30_000, DAY_MS / 30_000);
      const temperature = samples.map((s) => num(s.step.measurements, 'temperature'));
      const humidity = samples.map((s) => num(s.step.measurements, 'humidity'));
      expect(correlation(temperature, humidity)).toBeLessThan(-0.5);
      const warmest = temperature.indexOf(Math.max(...temperature)) / 120;
      expect(warmest).toBeGreaterThan(11);
      expect(warmest).toBeLessThan(19);
      for (const value of humidity) {
        expect(value).toBeGreaterThanOrEqual(5);
        expect(value).toBeLessThanOrEqual(100);
      }
    });
  }

  it('drifts pressure slowly within 980-1040 hPa and drains the battery without going below range', () => {
    const samples = run(sensor('env-week'), START, 10 * 60_000, (30 * DAY_MS) / (10 * 60_000));
    let previousBattery = Number.POSITIVE_INFINITY;
    let previousPressure: number | undefined;
    for (const { step } of samples) {
      const pressure = num(step.measurements, 'pressure');
      expect(pressure).toBeGreaterThanOrEqual(980);
      expect(pressure).toBeLessThanOrEqual(1040);
      if (previousPressure !== undefined) expect(Math.abs(pressure - previousPressure)).toBeLessThan(5);
      previousPressure = pressure;
      const battery = num(step.measurements, 'battery');
      expect(battery).toBeLessThanOrEqual(previousBattery);
      expect(battery).toBeGreaterThanOrEqual(0);
      previousBattery = battery;
    }
    const first = num(samples[0]?.step.measurements ?? {}, 'battery');
    expect(first - previousBattery).toBeGreaterThan(0.3);
    expect(first - previousBattery).toBeLessThan(3);
  });
});
