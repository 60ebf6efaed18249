/**
 * The silence fault (issue 15's no-data rules): a silenced device publishes nothing at all for the
 * fault's duration, then resumes; the same seed silences it at the same times.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_PROFILE, parseFaultSpec } from './faults.js';
import { createSimulatedFleet } from './index.js';

const START = Date.parse('2026-11-23T12:00:00.000Z');
const HOUR = 3_600_000;

const messageTimes = (faults: string, seed = 5) => {
  const fleet = createSimulatedFleet({
    devices: 1,
    types: ['smart_meter'],
    seed,
    startTime: START,
    schedule: { mode: 'interval', seconds: 10 },
    faults: parseFaultSpec(faults),
  });
  return [...fleet.ticksUntil(START + 2 * HOUR)].map((message) => message.time);
};

const gapsOf = (times: readonly number[]) => times.slice(1).map((time, i) => time - (times[i] as number));

describe('the silence fault', () => {
  it('is a fault kind of the CLI spec', () => {
    expect(parseFaultSpec('silence=0.01')).toEqual({ silence: 0.01 });
    expect(parseFaultSpec('all=0.01').silence).toBe(0.01);
  });

  it('stops every message of a device that is silenced at every tick', () => {
    expect(messageTimes('')).not.toHaveLength(0);
    expect(messageTimes('silence=1')).toEqual([]);
  });

  it('leaves gaps of the fault profile, then the device publishes again', () => {
    const quiet = gapsOf(messageTimes('silence=0.01'));
    const [shortest] = FAULT_PROFILE.silenceMs;
    // Without the fault no gap is longer than the 10 s interval.
    expect(Math.max(...gapsOf(messageTimes('')))).toBeLessThanOrEqual(10_000);
    const silences = quiet.filter((gap) => gap > 10_000);
    expect(silences.length).toBeGreaterThan(0);
    for (const gap of silences) expect(gap).toBeGreaterThanOrEqual(shortest);
    expect(messageTimes('silence=0.01')).toEqual(messageTimes('silence=0.01'));
  });
});
