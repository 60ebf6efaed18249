import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { type CompiledRegistry, compileRegistry } from './registry.js';
import {
  accessControllerTelemetry,
  breakerTelemetry,
  breakerTrends,
  environmentalTelemetry,
  meterTelemetry,
  RECEIVED_AT,
  type TestMessage,
  TIMESTAMP,
} from './test-support/messages.js';

const registry = compileRegistry(seedRegistry);

function run(
  message: TestMessage,
  receivedAt = RECEIVED_AT,
  on: CompiledRegistry = registry,
): ProcessOutcome {
  return processMessage(
    JSON.stringify(message),
    { receivedAt, processedAt: receivedAt + 25 },
    { registry: on, service: 'enrich', serviceVersion: 'test' },
  );
}

function enriched(outcome: ProcessOutcome) {
  if (outcome.kind !== 'enriched') {
    throw new Error(
      `expected an enriched message, got ${outcome.rejection.reason}: ${outcome.rejection.detail}`,
    );
  }
  return outcome;
}

/** The data_quality block of the enriched message. */
const qualityOf = (message: TestMessage, receivedAt = RECEIVED_AT) =>
  enriched(run(message, receivedAt)).message.data_quality;

function requiredPathsOf(typeId: string): readonly string[] {
  const type = registry.types.get(typeId);
  if (!type) throw new Error(`no type ${typeId}`);
  return type.requiredPaths;
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('reading reasons', () => {
  it('marks a value outside the valid range BAD with OUT_OF_RANGE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: { phase_a: 9999 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['voltage.phase_a']).toEqual({ verdict: 'BAD', reasons: ['OUT_OF_RANGE'] });
  });

  it('marks a value just below the valid range BAD with OUT_OF_RANGE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { power: { reactive: -90000.01 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['power.reactive']).toEqual({ verdict: 'BAD', reasons: ['OUT_OF_RANGE'] });
  });

  it('marks a string given for a number BAD with WRONG_TYPE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { frequency: '60.01' } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings.frequency).toEqual({ verdict: 'BAD', reasons: ['WRONG_TYPE'] });
  });

  it('marks a non-integer given for an integer BAD with WRONG_TYPE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { protection: { trip_count: 2.5 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['protection.trip_count']).toEqual({ verdict: 'BAD', reasons: ['WRONG_TYPE'] });
  });

  it('marks a null reading BAD with WRONG_TYPE', () => {
    // Prepare
    const message = environmentalTelemetry({ measurements: { humidity: null } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings.humidity).toEqual({ verdict: 'BAD', reasons: ['WRONG_TYPE'] });
  });

  it('marks a number given for a boolean BAD with WRONG_TYPE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { protection: { arc_fault_detected: 1 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['protection.arc_fault_detected']).toEqual({
      verdict: 'BAD',
      reasons: ['WRONG_TYPE'],
    });
  });

  it('marks a group given as a scalar BAD with WRONG_TYPE under the group key', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: 120 } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings.voltage).toEqual({ verdict: 'BAD', reasons: ['WRONG_TYPE'] });
    expect(quality.missing).toEqual(['voltage.phase_a', 'voltage.phase_b', 'voltage.phase_c']);
  });

  it('marks a scalar given as a group BAD with WRONG_TYPE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { frequency: { value: 60 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings.frequency).toEqual({ verdict: 'BAD', reasons: ['WRONG_TYPE'] });
  });

  it('marks a code that is not an allowed value BAD with NOT_ALLOWED_VALUE', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { status: { breaker: 7 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['status.breaker']).toEqual({ verdict: 'BAD', reasons: ['NOT_ALLOWED_VALUE'] });
  });

  it('marks a string longer than maxLength BAD with TOO_LONG', () => {
    // Prepare
    const message = accessControllerTelemetry({ measurements: { readers: { nfc: 'A'.repeat(65) } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['readers.nfc']).toEqual({ verdict: 'BAD', reasons: ['TOO_LONG'] });
  });

  it('accepts a string exactly maxLength long', () => {
    // Prepare
    const message = accessControllerTelemetry({ measurements: { readers: { nfc: 'A'.repeat(64) } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['readers.nfc']).toEqual({ verdict: 'GOOD' });
  });

  it('marks an undecodable hex value BAD with DECODE_ERROR', () => {
    // Prepare
    const message = accessControllerTelemetry({ measurements: { rs485: { temperature: '00G6' } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['rs485.temperature']).toEqual({ verdict: 'BAD', reasons: ['DECODE_ERROR'] });
  });

  it('marks a decoded value outside the valid range BAD with OUT_OF_RANGE', () => {
    // Prepare: 0x0F00 = 3840 * 0.1 = 384 °C, above the 125 °C limit.
    const message = accessControllerTelemetry({ measurements: { rs485: { temperature: '0F00' } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['rs485.temperature']).toEqual({ verdict: 'BAD', reasons: ['OUT_OF_RANGE'] });
  });

  it('marks an unknown top-level measurement SUSPECT with UNKNOWN_MEASUREMENT', () => {
    // Prepare
    const message = environmentalTelemetry({ measurements: { lux: 300 } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings.lux).toEqual({ verdict: 'SUSPECT', reasons: ['UNKNOWN_MEASUREMENT'] });
    expect(quality.verdict).toBe('SUSPECT');
  });

  it('marks an unknown component of a known group SUSPECT with UNKNOWN_MEASUREMENT', () => {
    // Prepare
    const message = breakerTelemetry({ measurements: { voltage: { phase_d: 120 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['voltage.phase_d']).toEqual({
      verdict: 'SUSPECT',
      reasons: ['UNKNOWN_MEASUREMENT'],
    });
  });

  it('marks every component of an unknown group SUSPECT with UNKNOWN_MEASUREMENT', () => {
    // Prepare
    const message = environmentalTelemetry({ measurements: { light: { lux: 300, uv: 2 } } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['light.lux']).toEqual({ verdict: 'SUSPECT', reasons: ['UNKNOWN_MEASUREMENT'] });
    expect(quality.readings['light.uv']).toEqual({ verdict: 'SUSPECT', reasons: ['UNKNOWN_MEASUREMENT'] });
  });

  it('marks an unknown trend channel SUSPECT with UNKNOWN_MEASUREMENT', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'voltage.phase_d': { avg: 120, min: 119, max: 121, last: 120, count: 60 } },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['voltage.phase_d']).toEqual({
      verdict: 'SUSPECT',
      reasons: ['UNKNOWN_MEASUREMENT'],
    });
  });

  it.each([
    ['min above max', { avg: 120, min: 122, max: 121, last: 121, count: 60 }],
    ['avg below min', { avg: 117, min: 118, max: 121, last: 120, count: 60 }],
    ['avg above max', { avg: 122, min: 118, max: 121, last: 120, count: 60 }],
    ['last below min', { avg: 120, min: 118, max: 121, last: 117.9, count: 60 }],
    ['last above max', { avg: 120, min: 118, max: 121, last: 121.1, count: 60 }],
  ])('marks trend statistics with %s BAD with INCONSISTENT_AGGREGATE', (_case, stats) => {
    // Prepare
    const message = breakerTrends({ measurements: { 'voltage.phase_a': stats } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['voltage.phase_a']).toEqual({
      verdict: 'BAD',
      reasons: ['INCONSISTENT_AGGREGATE'],
    });
  });

  it('marks a trend channel whose max leaves the valid range BAD with OUT_OF_RANGE', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'voltage.phase_a': { avg: 120, min: 118, max: 151, last: 120, count: 60 } },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['voltage.phase_a']).toEqual({ verdict: 'BAD', reasons: ['OUT_OF_RANGE'] });
  });

  it('marks a trend channel of a boolean reading BAD with WRONG_TYPE', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'protection.arc_fault_detected': { avg: 0, min: 0, max: 0, last: 0, count: 60 } },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['protection.arc_fault_detected']).toEqual({
      verdict: 'BAD',
      reasons: ['WRONG_TYPE'],
    });
  });
});

describe('boundary values', () => {
  it('accepts values exactly at validRange min as GOOD', () => {
    // Prepare
    const message = breakerTelemetry({
      measurements: { voltage: { phase_a: 0 }, power: { factor: 0, reactive: -90000 }, frequency: 45 },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.verdict).toBe('GOOD');
    expect(quality.readings['voltage.phase_a']).toEqual({ verdict: 'GOOD' });
    expect(quality.readings['power.factor']).toEqual({ verdict: 'GOOD' });
    expect(quality.readings['power.reactive']).toEqual({ verdict: 'GOOD' });
    expect(quality.readings.frequency).toEqual({ verdict: 'GOOD' });
  });

  it('accepts values exactly at validRange max as GOOD', () => {
    // Prepare
    const message = breakerTelemetry({
      measurements: { voltage: { phase_a: 150 }, power: { factor: 1 }, frequency: 65, temperature: 150 },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.verdict).toBe('GOOD');
    expect(quality.score).toBe(1);
  });

  it('accepts a trend channel spanning exactly the valid range as GOOD', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { 'voltage.phase_a': { avg: 75, min: 0, max: 150, last: 150, count: 60 } },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.readings['voltage.phase_a']).toEqual({ verdict: 'GOOD' });
  });
});

describe('message-level reasons', () => {
  it('reports MISSING_REQUIRED with the missing paths and the exact completeness', () => {
    // Prepare
    const required = requiredPathsOf('smart_breaker');
    const message = breakerTelemetry({ measurements: { frequency: undefined } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.reasons).toEqual(['MISSING_REQUIRED']);
    expect(quality.missing).toEqual(['frequency']);
    expect(quality.completeness).toBe(round3((required.length - 1) / required.length));
    expect(quality.verdict).toBe('SUSPECT');
  });

  it('scores a message missing required readings by its completeness', () => {
    // Prepare
    const required = requiredPathsOf('smart_breaker');
    const message = breakerTelemetry({
      measurements: { frequency: undefined, status: { breaker: undefined, position: undefined } },
    });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.missing).toEqual(['frequency', 'status.breaker', 'status.position']);
    expect(quality.completeness).toBe(round3((required.length - 3) / required.length));
    expect(quality.score).toBe(round3((required.length - 3) / required.length));
  });

  it('does not count a missing optional reading against completeness', () => {
    // Prepare
    const message = environmentalTelemetry({ measurements: { battery: undefined } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality).toMatchObject({ verdict: 'GOOD', score: 1, completeness: 1, reasons: [], missing: [] });
  });

  it('reports INVALID_TIMESTAMP as SUSPECT with the score halved', () => {
    // Prepare
    const message = environmentalTelemetry({ timestamp: '23/11/2026 10:00' });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality).toMatchObject({ verdict: 'SUSPECT', score: 0.5, reasons: ['INVALID_TIMESTAMP'] });
  });

  it('reports FUTURE_TIMESTAMP as SUSPECT with the score halved', () => {
    // Prepare
    const receivedAt = Date.parse(TIMESTAMP) - 16 * MINUTE;

    // Act
    const quality = qualityOf(environmentalTelemetry(), receivedAt);

    // Assess
    expect(quality).toMatchObject({ verdict: 'SUSPECT', score: 0.5, reasons: ['FUTURE_TIMESTAMP'] });
  });

  it('reports STALE_TIMESTAMP as SUSPECT with the score halved', () => {
    // Prepare
    const receivedAt = Date.parse(TIMESTAMP) + 25 * HOUR;

    // Act
    const quality = qualityOf(environmentalTelemetry(), receivedAt);

    // Assess
    expect(quality).toMatchObject({ verdict: 'SUSPECT', score: 0.5, reasons: ['STALE_TIMESTAMP'] });
  });

  it('reports INVALID_TIMESTAMP for a calendar date that does not exist, instead of rolling February 30 into March', () => {
    // Prepare: received two days after the date the device meant, so only the date itself is wrong.
    const message = environmentalTelemetry({ timestamp: '2026-02-30T10:00:00.000Z' });
    const receivedAt = Date.parse('2026-03-02T10:00:00.500Z');

    // Act
    const quality = qualityOf(message, receivedAt);

    // Assess
    expect(quality.reasons).toEqual(['INVALID_TIMESTAMP']);
  });

  it('accepts a device clock up to the tolerance ahead without a reason', () => {
    // Prepare
    const receivedAt = Date.parse(TIMESTAMP) - 14 * MINUTE;

    // Act
    const quality = qualityOf(environmentalTelemetry(), receivedAt);

    // Assess
    expect(quality).toMatchObject({ verdict: 'GOOD', score: 1, reasons: [] });
  });

  it('lists the timestamp reason before MISSING_REQUIRED', () => {
    // Prepare
    const message = meterTelemetry({ timestamp: 'now', measurements: { energy: undefined } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.reasons).toEqual(['INVALID_TIMESTAMP', 'MISSING_REQUIRED']);
  });
});

describe('verdict and score', () => {
  it('gives a message with every reading GOOD the verdict GOOD and score 1', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality).toMatchObject({ verdict: 'GOOD', score: 1, completeness: 1, reasons: [], missing: [] });
    expect(Object.values(quality.readings).every((reading) => reading.verdict === 'GOOD')).toBe(true);
  });

  it('takes the worst reading verdict as the message verdict', () => {
    // Prepare: one SUSPECT (unknown) and one BAD reading.
    const message = environmentalTelemetry({ measurements: { lux: 300, humidity: 140 } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.verdict).toBe('BAD');
  });

  it('keeps BAD when a message-level reason is SUSPECT', () => {
    // Prepare
    const message = environmentalTelemetry({ timestamp: 'garbage', measurements: { humidity: 140 } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.verdict).toBe('BAD');
  });

  it('scores the mean of GOOD 1, SUSPECT 0.5 and BAD 0', () => {
    // Prepare: temperature, humidity (BAD), pressure, battery, lux (SUSPECT).
    const message = environmentalTelemetry({ measurements: { humidity: 140, lux: 300 } });

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.score).toBe(round3((1 + 0 + 1 + 1 + 0.5) / 5));
  });

  it('multiplies the mean by completeness and halves it for a timestamp reason', () => {
    // Prepare: breaker without frequency, one BAD, one SUSPECT, an unparseable timestamp.
    const required = requiredPathsOf('smart_breaker');
    const message = breakerTelemetry({
      timestamp: 'yesterday',
      measurements: { frequency: undefined, voltage: { phase_a: 9999, phase_d: 1 } },
    });
    const known = required.length - 1 + 1; // required less frequency, plus optional harmonic_distortion
    const mean = (known - 1 + 0 + 0.5) / (known + 1); // one known BAD, plus the unknown phase_d SUSPECT
    const completeness = (required.length - 1) / required.length;

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality.verdict).toBe('BAD');
    expect(quality.reasons).toEqual(['INVALID_TIMESTAMP', 'MISSING_REQUIRED']);
    expect(quality.score).toBe(round3(mean * completeness * 0.5));
  });

  it('gives a status message the verdict GOOD with no readings', () => {
    // Prepare
    const message = {
      device_id: 'breaker-001',
      device_type: 'smart_breaker',
      timestamp: TIMESTAMP,
      event_type: 'status',
      status: { online: true },
    };

    // Act
    const quality = qualityOf(message);

    // Assess
    expect(quality).toEqual({
      verdict: 'GOOD',
      score: 1,
      completeness: 1,
      reasons: [],
      missing: [],
      readings: {},
    });
  });
});

describe('data_quality JSON', () => {
  it('serialises an all-GOOD block equal to the object, from the cache on the second run', () => {
    // Prepare
    const fresh = compileRegistry(seedRegistry);

    // Act
    const first = enriched(run(breakerTelemetry(), RECEIVED_AT, fresh));
    const second = enriched(run(breakerTelemetry(), RECEIVED_AT, fresh));

    // Assess
    expect(JSON.parse(first.json).data_quality).toStrictEqual(first.message.data_quality);
    expect(JSON.parse(second.json).data_quality).toStrictEqual(second.message.data_quality);
  });

  it('serialises a block with issues equal to the object', () => {
    // Prepare
    const message = breakerTelemetry({
      timestamp: 'yesterday',
      measurements: { frequency: undefined, voltage: { phase_a: 9999, phase_d: 1 }, status: { breaker: 7 } },
    });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(JSON.parse(outcome.json).data_quality).toStrictEqual(outcome.message.data_quality);
  });

  it('serialises a trends block equal to the object', () => {
    // Prepare
    const message = breakerTrends({
      measurements: { frequency: { avg: 60, min: 61, max: 59, last: 60, count: 1 } },
    });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(JSON.parse(outcome.json).data_quality).toStrictEqual(outcome.message.data_quality);
  });

  it('serialises the same set of readings in another order equal to the object', () => {
    // Prepare: the same readings as the builder's, groups listed in reverse order.
    const base = breakerTelemetry();
    const measurements = base.measurements as Record<string, unknown>;
    const reversed = Object.fromEntries(Object.entries(measurements).reverse());
    const fresh = compileRegistry(seedRegistry);
    enriched(run(base, RECEIVED_AT, fresh));

    // Act
    const outcome = enriched(run({ ...base, measurements: reversed }, RECEIVED_AT, fresh));

    // Assess
    expect(JSON.parse(outcome.json).data_quality).toStrictEqual(outcome.message.data_quality);
    expect(JSON.parse(outcome.json).measurement_metadata).toStrictEqual(outcome.message.measurement_metadata);
  });
});
