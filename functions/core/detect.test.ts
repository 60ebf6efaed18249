import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import { RawMessage } from './contract/messages.js';
import { type DeviceLookup, MATCH_MARGIN, MATCH_THRESHOLD, scoreMeasurementMatch } from './detect.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import {
  accessControllerTelemetry,
  BREAKER_ID,
  breakerTelemetry,
  breakerTrends,
  ENVIRONMENTAL_ID,
  environmentalTelemetry,
  eventMessage,
  meterTelemetry,
  PROCESSED_AT,
  RECEIVED_AT,
  statusMessage,
  type TestMessage,
  topicFor,
} from './test-support/messages.js';

const registry = compileRegistry(seedRegistry);

interface RunOptions {
  readonly topic?: string;
  readonly lookupDevice?: DeviceLookup;
}

function run(message: TestMessage, options: RunOptions = {}): ProcessOutcome {
  return processMessage(
    JSON.stringify(message),
    { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT, topic: options.topic },
    { registry, service: 'enrich', serviceVersion: 'test', lookupDevice: options.lookupDevice },
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

function rejected(outcome: ProcessOutcome) {
  if (outcome.kind !== 'rejected') throw new Error(`expected a rejection, got a ${outcome.deviceType}`);
  return outcome.rejection;
}

/** Every type's scoring of the message, best first. */
function ranking(message: TestMessage): { typeId: string; score: number }[] {
  const raw = RawMessage.parse(message);
  return registry.typeList
    .map((type) => ({ typeId: type.typeId, score: scoreMeasurementMatch(type, raw) }))
    .sort((a, b) => b.score - a.score);
}

const lookup =
  (deviceType: string): DeviceLookup =>
  () => ({ deviceType });

describe('detection methods', () => {
  it('detects a registered device_type in the payload by method payload', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('smart_breaker');
    expect(outcome.message.enrichment_info.detection).toEqual({ method: 'payload' });
  });

  it('detects the type in the topic by method topic when the payload names none', () => {
    // Prepare
    const message = meterTelemetry({ device_id: 'm1', device_type: undefined });

    // Act
    const outcome = enriched(run(message, { topic: 'dt/smart_meter/m1/telemetry' }));

    // Assess
    expect(outcome.deviceType).toBe('smart_meter');
    expect(outcome.message.enrichment_info.detection).toEqual({ method: 'topic' });
  });

  it('detects the type from the device record by method device_record', () => {
    // Prepare
    const message = environmentalTelemetry({ device_type: undefined });

    // Act
    const outcome = enriched(run(message, { lookupDevice: lookup('environmental_sensor') }));

    // Assess
    expect(outcome.deviceType).toBe('environmental_sensor');
    expect(outcome.message.enrichment_info.detection).toEqual({ method: 'device_record' });
  });

  it('asks the device record for the id of the message', () => {
    // Prepare
    const asked: string[] = [];
    const recordingLookup: DeviceLookup = (deviceId) => {
      asked.push(deviceId);
      return { deviceType: 'environmental_sensor' };
    };

    // Act
    run(environmentalTelemetry({ device_type: undefined }), { lookupDevice: recordingLookup });

    // Assess
    expect(asked).toEqual([ENVIRONMENTAL_ID]);
  });

  it('detects by measurement_match with the rounded score when no type is known anywhere', () => {
    // Prepare
    const message = environmentalTelemetry({ device_type: undefined });
    const type = registry.types.get('environmental_sensor');
    const expectedScore = type
      ? Math.round(scoreMeasurementMatch(type, RawMessage.parse(message)) * 1000) / 1000
      : Number.NaN;

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('environmental_sensor');
    expect(outcome.message.enrichment_info.detection).toEqual({
      method: 'measurement_match',
      score: expectedScore,
    });
  });

  it('ignores a device record whose type is not registered', () => {
    // Prepare
    const message = environmentalTelemetry({ device_type: undefined });

    // Act
    const outcome = enriched(run(message, { lookupDevice: lookup('smart_toaster') }));

    // Assess
    expect(outcome.message.enrichment_info.detection.method).toBe('measurement_match');
  });
});

describe('order of trust', () => {
  it('trusts the payload over the topic', () => {
    // Prepare
    const message = meterTelemetry({ device_id: 'm1' });

    // Act
    const outcome = enriched(run(message, { topic: 'dt/smart_breaker/m1/telemetry' }));

    // Assess
    expect(outcome.deviceType).toBe('smart_meter');
    expect(outcome.message.enrichment_info.detection.method).toBe('payload');
  });

  it('trusts the topic over the device record', () => {
    // Prepare
    const message = meterTelemetry({ device_id: 'm1', device_type: undefined });

    // Act
    const outcome = enriched(
      run(message, { topic: 'dt/smart_meter/m1/telemetry', lookupDevice: lookup('smart_breaker') }),
    );

    // Assess
    expect(outcome.deviceType).toBe('smart_meter');
    expect(outcome.message.enrichment_info.detection.method).toBe('topic');
  });

  it('trusts the device record over the measurement match', () => {
    // Prepare
    const message = meterTelemetry({ device_type: undefined });

    // Act
    const outcome = enriched(run(message, { lookupDevice: lookup('smart_meter') }));

    // Assess
    expect(outcome.message.enrichment_info.detection).toEqual({ method: 'device_record' });
  });

  it('falls through an unregistered payload type to the topic and reports it as declared_type', () => {
    // Prepare
    const message = meterTelemetry({ device_id: 'm1', device_type: 'smart_toaster' });

    // Act
    const outcome = enriched(run(message, { topic: 'dt/smart_meter/m1/telemetry' }));

    // Assess
    expect(outcome.deviceType).toBe('smart_meter');
    expect(outcome.message.enrichment_info.detection).toEqual({
      method: 'topic',
      declared_type: 'smart_toaster',
    });
  });

  it('falls through an unregistered payload type to the measurement match and reports it as declared_type', () => {
    // Prepare
    const message = meterTelemetry({ device_type: 'smart_toaster' });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('smart_meter');
    expect(outcome.message.enrichment_info.detection.method).toBe('measurement_match');
    expect(outcome.message.enrichment_info.detection.declared_type).toBe('smart_toaster');
  });

  it('reports no declared_type when the payload type is the one detected', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const outcome = enriched(run(message, { topic: topicFor('smart_breaker', BREAKER_ID) }));

    // Assess
    expect(outcome.message.enrichment_info.detection).not.toHaveProperty('declared_type');
  });
});

describe('measurement match', () => {
  it('detects a meter that reports power as smart_meter, not smart_breaker', () => {
    // Prepare
    const message = meterTelemetry({
      device_type: undefined,
      measurements: { voltage: undefined, power: 42300 },
    });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('smart_meter');
  });

  it('detects a breaker with only voltage, current, power and temperature as smart_breaker', () => {
    // Prepare
    const full = breakerTelemetry();
    const measurements = full.measurements as Record<string, unknown>;
    const message = {
      ...full,
      device_type: undefined,
      measurements: {
        voltage: measurements.voltage,
        current: measurements.current,
        power: measurements.power,
        temperature: measurements.temperature,
      },
    };

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('smart_breaker');
    expect(outcome.message.enrichment_info.detection.method).toBe('measurement_match');
  });

  it('detects an F2 controller by its measurement keys', () => {
    // Prepare
    const message = accessControllerTelemetry({ device_type: undefined });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('f2_access_controller');
    expect(outcome.message.enrichment_info.detection.method).toBe('measurement_match');
  });

  it('detects a breaker trends message by its channel paths', () => {
    // Prepare
    const message = breakerTrends({ device_type: undefined });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.deviceType).toBe('smart_breaker');
    expect(outcome.message.enrichment_info.detection.method).toBe('measurement_match');
  });
});

describe('UNKNOWN_DEVICE_TYPE', () => {
  it('rejects a message whose measurement keys no type knows', () => {
    // Prepare
    const message = {
      ...environmentalTelemetry({ device_type: undefined }),
      measurements: { flux: 1, spin: 2 },
    };

    // Act
    const rejection = rejected(run(message));

    // Assess
    expect(rejection.reason).toBe('UNKNOWN_DEVICE_TYPE');
    expect(rejection.deviceId).toBe(ENVIRONMENTAL_ID);
  });

  it('rejects a message that matches two types equally well rather than guessing', () => {
    // Prepare
    const message = {
      ...environmentalTelemetry({ device_type: undefined }),
      measurements: {
        temperature: 21.5,
        humidity: 45,
        pressure: 1013,
        energy: 10,
        demand: 4,
        power_factor: 0.9,
      },
    };

    // Act
    const rejection = rejected(run(message));

    // Assess
    expect(rejection.reason).toBe('UNKNOWN_DEVICE_TYPE');
  });

  it('rejects a status message with no type anywhere', () => {
    // Prepare
    const message = statusMessage({ device_type: undefined });

    // Act
    const rejection = rejected(run(message));

    // Assess
    expect(rejection.reason).toBe('UNKNOWN_DEVICE_TYPE');
  });

  it('rejects an event message with no type anywhere', () => {
    // Prepare
    const message = eventMessage({ device_type: undefined });

    // Act
    const rejection = rejected(run(message));

    // Assess
    expect(rejection.reason).toBe('UNKNOWN_DEVICE_TYPE');
  });

  it('names the unregistered type the payload declared in the detail', () => {
    // Prepare
    const message = statusMessage({ device_type: 'smart_toaster' });

    // Act
    const rejection = rejected(run(message));

    // Assess
    expect(rejection.detail).toContain('smart_toaster');
  });
});

describe('scoreMeasurementMatch', () => {
  it.each([
    ['smart_breaker', 'telemetry', breakerTelemetry()],
    ['smart_meter', 'telemetry', meterTelemetry()],
    ['environmental_sensor', 'telemetry', environmentalTelemetry()],
    ['f2_access_controller', 'telemetry', accessControllerTelemetry()],
    ['smart_breaker', 'trends', breakerTrends()],
  ])('ranks %s first for its own %s message', (typeId, _kind, message) => {
    // Prepare
    const raw = { ...message, device_type: undefined };

    // Act
    const ranked = ranking(raw);

    // Assess
    const [best, second] = ranked;
    expect(best?.typeId).toBe(typeId);
    expect(best?.score ?? 0).toBeGreaterThanOrEqual(MATCH_THRESHOLD);
    expect((best?.score ?? 0) - (second?.score ?? 0)).toBeGreaterThanOrEqual(MATCH_MARGIN);
  });

  it('scores a scalar given where the type expects a group at half a key', () => {
    // Prepare
    const breaker = registry.types.get('smart_breaker');
    const message = RawMessage.parse(meterTelemetry({ measurements: { voltage: undefined } }));

    // Act
    const score = breaker ? scoreMeasurementMatch(breaker, message) : Number.NaN;

    // Assess: power (a scalar for a group) counts 0.5, over 4 keys + 7 missing required breaker keys.
    expect(score).toBeCloseTo(0.5 / 11, 10);
  });

  it('scores a status message 0 for every type', () => {
    // Prepare
    const message = RawMessage.parse(statusMessage());

    // Act
    const scores = registry.typeList.map((type) => scoreMeasurementMatch(type, message));

    // Assess
    expect(scores).toEqual([0, 0, 0, 0]);
  });
});
