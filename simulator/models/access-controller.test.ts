import { describe, expect, it } from 'vitest';
import { decodeHex } from '../../functions/core/index.js';
import { Random } from '../random.js';
import type { Measurements, ModelEvent } from '../types.js';
import { createAccessControllerModel, occupancy } from './access-controller.js';
import { readingAt } from './common.js';
import { at, correlation, DAY_MS, definitionOf, run, type Sample, START } from './testing.js';

const definition = definitionOf('f2_access_controller');
const HOUR = 3_600_000;

const samples = run(
  createAccessControllerModel({
    deviceId: 'f2-week',
    definition,
    random: Random.derive(1, 'f2-week'),
    startTime: START,
  }),
  START,
  10_000,
  (7 * DAY_MS) / 10_000,
);
const events = (type: string, sample: Sample | undefined): ModelEvent[] =>
  sample ? sample.step.events.filter((e) => e.type === type) : [];
const hourOf = (sample: Sample) => ((sample.time - START) % DAY_MS) / HOUR;

function decoded(measurements: Measurements, key: string): number {
  const reading = readingAt(definition, `rs485.${key}`);
  const encoding = reading?.encoding;
  if (!reading || !encoding) throw new Error(`rs485.${key} has no encoding`);
  const result = decodeHex(at(measurements, `rs485.${key}`), encoding);
  if (!result.ok) throw new Error(result.detail);
  return result.value;
}

describe('f2_access_controller over a simulated week', () => {
  it('reports an NFC card only in the step that read it, as upper-case hex', () => {
    let reads = 0;
    for (const sample of samples) {
      const nfc = at(sample.step.measurements, 'readers.nfc');
      const nfcEvents = sample.step.events.filter((e) => e.data?.reader === 'nfc');
      if (nfcEvents.length === 0) {
        if (nfc !== undefined) expect.fail(`card ${String(nfc)} without a read at ${sample.time}`);
        continue;
      }
      reads++;
      expect(nfc).toBe(nfcEvents.at(-1)?.data?.card);
      expect(nfc).toMatch(/^([0-9A-F]{2}){1,32}$/);
    }
    expect(reads).toBeGreaterThan(100);
    const qr = samples.filter((s) => at(s.step.measurements, 'readers.qr') !== undefined);
    expect(qr.length).toBeGreaterThan(0);
    expect(qr.length).toBeLessThan(reads / 5);
    for (const s of qr) expect(s.step.events.some((e) => e.data?.reader === 'qr')).toBe(true);
  });

  it('grants access with reader and card, and denies some', () => {
    const granted = samples.flatMap((s) => events('access_granted', s));
    const denied = samples.flatMap((s) => events('access_denied', s));
    expect(granted.length).toBeGreaterThan(10 * denied.length);
    expect(denied.length).toBeGreaterThan(0);
    const nfc = granted.filter((e) => e.data?.reader === 'nfc');
    expect(nfc.length).toBeGreaterThan(100);
    for (const event of nfc) expect(event.data?.card).toMatch(/^[0-9A-F]+$/);
  });

  it('opens a door only after a credential, an exit request or by force', () => {
    for (const door of ['1', '2']) {
      let openings = 0;
      for (let i = 1; i < samples.length; i++) {
        const sample = samples[i] as Sample;
        const previous = samples[i - 1] as Sample;
        const open = at(sample.step.measurements, `door_sensors.door_${door}`);
        if (open !== true || at(previous.step.measurements, `door_sensors.door_${door}`) !== false) continue;
        openings++;
        const explained = [sample, previous].some(
          (s) =>
            s.step.events.some(
              (e) =>
                (e.type === 'access_granted' || e.type === 'door_forced') && e.data?.door === `door_${door}`,
            ) || at(s.step.measurements, `exit_buttons.button_${door}`) === true,
        );
        expect(explained, new Date(sample.time).toISOString()).toBe(true);
        // Whoever opened it moved in front of the motion sensor.
        expect(at(sample.step.measurements, `motion_sensors.motion_${door}`)).toBe(true);
      }
      expect(openings).toBeGreaterThan(20);
    }
  });

  it('sounds the siren for a forced door and only then', () => {
    const forced = samples.filter((s) => events('door_forced', s).length > 0);
    expect(forced.length).toBeGreaterThan(0);
    for (const s of forced) {
      expect(events('door_forced', s)[0]).toMatchObject({ severity: 'high' });
      expect(at(s.step.measurements, 'sirens.siren_1')).toBe(true);
    }
    let lastForced = Number.NEGATIVE_INFINITY;
    for (const s of samples) {
      if (events('door_forced', s).length > 0) lastForced = s.time;
      if (at(s.step.measurements, 'sirens.siren_1') === true && s.time - lastForced > 120_000) {
        expect.fail(`siren without a forced door at ${new Date(s.time).toISOString()}`);
      }
    }
  });

  it('is busier by day than by night', () => {
    const activity = (from: number, to: number) => {
      const window = samples.filter((s) => hourOf(s) >= from && hourOf(s) < to);
      const active = window.filter((s) => at(s.step.measurements, 'motion_sensors.motion_1') === true);
      return active.length / window.length;
    };
    expect(activity(9, 17)).toBeGreaterThan(3 * activity(0, 5));
    expect(occupancy(3)).toBe(0);
    expect(occupancy(13)).toBeCloseTo(1, 6);
  });

  it('sends RS-485 climate that decodes inside the valid ranges, with more CO2 when occupied', () => {
    const temperature: number[] = [];
    const humidity: number[] = [];
    const co2Day: number[] = [];
    const co2Night: number[] = [];
    const keys = ['temperature', 'humidity', 'pressure', 'co2'];
    const ranges = keys.map((key) => readingAt(definition, `rs485.${key}`)?.validRange);
    const outside: string[] = [];
    for (const s of samples) {
      keys.forEach((key, i) => {
        const value = decoded(s.step.measurements, key);
        const range = ranges[i];
        if (!range || value < range.min || value > range.max) outside.push(`${key} ${value}`);
      });
      temperature.push(decoded(s.step.measurements, 'temperature'));
      humidity.push(decoded(s.step.measurements, 'humidity'));
      const co2 = decoded(s.step.measurements, 'co2');
      if (!Number.isInteger(co2)) outside.push(`co2 ${co2}`);
      if (hourOf(s) >= 12 && hourOf(s) < 16) co2Day.push(co2);
      if (hourOf(s) >= 2 && hourOf(s) < 5) co2Night.push(co2);
    }
    expect(outside.slice(0, 5)).toEqual([]);
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(co2Day)).toBeGreaterThan(mean(co2Night) + 200);
    expect(correlation(temperature, humidity)).toBeLessThan(-0.3);
  });
});
