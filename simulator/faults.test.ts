import { describe, expect, it } from 'vitest';
import {
  compileRegistry,
  type DeviceType,
  decodeHex,
  isGroupDefinition,
  MAX_PAYLOAD_BYTES,
  type ProcessOutcome,
  processMessage,
  type ReadingDefinition,
} from '../functions/core/index.js';
import { seedRegistry } from '../registry-data/index.js';
import {
  createFaultInjector,
  FAULT_KINDS,
  type FaultRates,
  FaultSpecError,
  type InjectedFault,
  MALFORMED_KINDS,
  type MalformedKind,
  malformMessage,
  numericReadings,
  parseFaultSpec,
} from './faults.js';
import { encodeHex } from './hex.js';
import { Random } from './random.js';
import {
  type DeviceModel,
  type FaultInjector,
  type Measurements,
  type ModelFaultHooks,
  type ModelStep,
  NO_FAULTS,
  type Scalar,
  type SimMessage,
} from './types.js';

const registry = compileRegistry(seedRegistry);
const processOptions = { registry, service: 'faults-test', serviceVersion: '0.0.0' };
const START = Date.parse('2026-11-23T00:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const definitionOf = (typeId: string): DeviceType => {
  const definition = seedRegistry.deviceTypes.find((type) => type.typeId === typeId);
  if (!definition) throw new Error(`no seed type ${typeId}`);
  return definition;
};
const BREAKER = definitionOf('smart_breaker');
const F2 = definitionOf('f2_access_controller');

// ---------------------------------------------------------------------------------------------------
// A fake model: every reading of the definition, inside its normal (else valid) range, with continuous
// noise so that no two steps publish the same value and no value sits exactly on a range edge.

function fakeReading(reading: ReadingDefinition, random: Random): Scalar {
  if (reading.allowedValues) return (reading.allowedValues[0] as { value: Scalar }).value;
  if (reading.dataType === 'boolean') return false;
  if (reading.dataType === 'string') return 'ok';
  const range = reading.normalRange ?? reading.validRange ?? { min: 0, max: 1 };
  let value = range.min + (range.max - range.min) * random.between(0.25, 0.75);
  if (reading.dataType === 'integer') value = Math.round(value);
  return reading.encoding ? encodeHex(value, reading.encoding) : value;
}

function fakeMeasurements(definition: DeviceType, random: Random): Measurements {
  const measurements: Measurements = {};
  for (const [key, measurement] of Object.entries(definition.measurements)) {
    if (isGroupDefinition(measurement)) {
      const group: Record<string, Scalar> = {};
      for (const [component, reading] of Object.entries(measurement.components)) {
        group[component] = fakeReading(reading, random);
      }
      measurements[key] = group;
    } else {
      measurements[key] = fakeReading(measurement, random);
    }
  }
  return measurements;
}

interface HookCall {
  readonly hook: keyof ModelFaultHooks;
  readonly args: readonly number[];
}

class FakeModel implements DeviceModel {
  readonly deviceType: string;
  readonly calls: HookCall[] = [];
  readonly faults?: ModelFaultHooks;
  private readonly random: Random;

  constructor(
    private readonly definition: DeviceType,
    seed: number,
    withHooks = true,
  ) {
    this.deviceType = definition.typeId;
    this.random = new Random(seed);
    if (withHooks) {
      this.faults = {
        overload: (factor, durationMs) => this.calls.push({ hook: 'overload', args: [factor, durationMs] }),
        groundFault: () => this.calls.push({ hook: 'groundFault', args: [] }),
        arcFault: () => this.calls.push({ hook: 'arcFault', args: [] }),
      };
    }
  }

  step(): ModelStep {
    return { measurements: fakeMeasurements(this.definition, this.random), events: [] };
  }
}

/** Builds a message the way the simulated device does. */
function buildMessage(
  definition: DeviceType,
  deviceId: string,
  kind: 'telemetry' | 'status',
  time: number,
  deviceTime: number,
  body: Record<string, unknown>,
): SimMessage {
  return {
    deviceId,
    deviceType: definition.typeId,
    kind,
    topic: `dt/${definition.typeId}/${deviceId}/${kind}`,
    payload: JSON.stringify({
      device_id: deviceId,
      device_type: definition.typeId,
      timestamp: new Date(deviceTime).toISOString(),
      event_type: kind,
      ...body,
    }),
    time,
  };
}

interface StepRecord {
  readonly time: number;
  readonly deviceTime: number;
  readonly truth: Measurements;
  readonly published: Measurements;
  readonly messages: SimMessage[];
}

interface Simulation {
  readonly model: FakeModel;
  readonly steps: StepRecord[];
  readonly faults: InjectedFault[];
  readonly injector: FaultInjector;
}

/** Runs one device through `steps` telemetry ticks, in the order SimulatedDevice.tick calls the injector. */
function simulate(
  rates: FaultRates,
  options: { typeId?: string; steps: number; stepMs: number; seed?: number; hooks?: boolean },
): Simulation {
  const definition = definitionOf(options.typeId ?? 'smart_breaker');
  const deviceId = 'sim-device-1';
  const seed = options.seed ?? 7;
  const faults: InjectedFault[] = [];
  const model = new FakeModel(definition, seed + 1000, options.hooks ?? true);
  const injector = createFaultInjector(rates, {
    random: Random.derive(seed, `${deviceId}/faults`),
    definition,
    deviceId,
    onFault: (fault) => faults.push(fault),
  });
  const steps: StepRecord[] = [];
  for (let i = 0; i < options.steps; i++) {
    const time = START + i * options.stepMs;
    injector.beforeStep(time, model);
    const truth = model.step().measurements;
    const deviceTime = injector.deviceTime(time);
    const published = injector.applySensorFaults(truth, time);
    const message = buildMessage(definition, deviceId, 'telemetry', time, deviceTime, {
      measurements: published,
    });
    steps.push({ time, deviceTime, truth, published, messages: injector.afterBuild(message) });
  }
  return { model, steps, faults, injector };
}

/** Expects `count` successes of `trials` at probability `rate`, within five standard deviations. */
function expectRate(count: number, trials: number, rate: number): void {
  const mean = trials * rate;
  const tolerance = 5 * Math.sqrt(trials * rate * (1 - rate));
  expect(count).toBeGreaterThanOrEqual(mean - tolerance);
  expect(count).toBeLessThanOrEqual(mean + tolerance);
}

const wireAt = (measurements: Measurements, path: string): Scalar | undefined => {
  const [key, component] = path.split('.') as [string, string | undefined];
  const top = measurements[key];
  if (component === undefined) return typeof top === 'object' ? undefined : top;
  return typeof top === 'object' ? top[component] : undefined;
};

const measurementsOf = (message: SimMessage): Measurements =>
  (JSON.parse(message.payload) as { measurements: Measurements }).measurements;

const run = (message: SimMessage, withTopic = true, receivedAt = message.time): ProcessOutcome =>
  processMessage(
    message.payload,
    { receivedAt, processedAt: receivedAt + 10, ...(withTopic ? { topic: message.topic } : {}) },
    processOptions,
  );

const rejection = (outcome: ProcessOutcome): string | undefined =>
  outcome.kind === 'rejected' ? outcome.rejection.reason : undefined;

const readingReasons = (outcome: ProcessOutcome): string[] => {
  if (outcome.kind !== 'enriched') return [];
  return Object.values(outcome.message.data_quality.readings).flatMap((quality) => quality.reasons ?? []);
};

// ---------------------------------------------------------------------------------------------------

describe('parseFaultSpec', () => {
  it('reads name=rate lists', () => {
    expect(parseFaultSpec('overload=0.01,malformed=0.001,clock_skew=0.05')).toEqual({
      overload: 0.01,
      malformed: 0.001,
      clock_skew: 0.05,
    });
    expect(parseFaultSpec(' drift = 1 , stuck=0 , flatline=.5, duplicate=1e-3 ')).toEqual({
      drift: 1,
      stuck: 0,
      flatline: 0.5,
      duplicate: 0.001,
    });
    expect(parseFaultSpec('')).toEqual({});
  });

  it('sets every fault kind with all=, later entries overriding it', () => {
    const all = parseFaultSpec('all=0.01');
    expect(Object.keys(all).sort()).toEqual([...FAULT_KINDS].sort());
    for (const kind of FAULT_KINDS) expect(all[kind]).toBe(0.01);
    expect(parseFaultSpec('all=0.01,duplicate=0')).toMatchObject({ duplicate: 0, overload: 0.01 });
  });

  it('targets a single malformed kind', () => {
    expect(parseFaultSpec('malformed.invalid_json=0.01')).toEqual({ 'malformed.invalid_json': 0.01 });
    for (const kind of MALFORMED_KINDS) {
      expect(parseFaultSpec(`malformed.${kind}=0.2`)).toEqual({ [`malformed.${kind}`]: 0.2 });
    }
  });

  it.each([
    ['overlaod=0.1', 'overlaod'],
    ['overload=abc', 'abc'],
    ['overload=1.5', '1.5'],
    ['overload=-0.1', '-0.1'],
    ['overload=', 'overload='],
    ['overload', 'overload'],
    ['malformed.bogus=0.1', 'malformed.bogus'],
    ['drift=0.1,,stuck=0.1', 'empty entry'],
    ['drift=0x1', '0x1'],
  ])('rejects %s, naming the bad part and the valid names', (spec, bad) => {
    let error: unknown;
    try {
      parseFaultSpec(spec);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FaultSpecError);
    const message = (error as Error).message;
    expect(message).toContain(bad);
    expect(message).toContain('valid names: all, overload, ground_fault');
    expect(message).toContain('malformed.invalid_json');
  });
});

describe('createFaultInjector', () => {
  const options = { random: new Random(1), definition: BREAKER, deviceId: 'b-1' };

  it('is exactly NO_FAULTS when every rate is 0', () => {
    expect(createFaultInjector({}, options)).toBe(NO_FAULTS);
    expect(createFaultInjector(parseFaultSpec('all=0'), options)).toBe(NO_FAULTS);
    expect(createFaultInjector({ 'malformed.oversized': 0, drift: 0 }, options)).toBe(NO_FAULTS);
  });

  it('rejects rates outside [0, 1]', () => {
    expect(() => createFaultInjector({ overload: 2 }, options)).toThrow(FaultSpecError);
    expect(() => createFaultInjector({ drift: Number.NaN }, options)).toThrow(/drift/);
  });

  it('leaves non-telemetry messages alone, whatever the rates', () => {
    const injector = createFaultInjector({ duplicate: 1, malformed: 1 }, options);
    const status = buildMessage(BREAKER, 'b-1', 'status', START, START, { status: { online: true } });
    expect(injector.afterBuild(status)).toEqual([status]);
  });
});

describe('physical faults', () => {
  const steps = 4000;

  it.each([
    ['overload', 'overload'],
    ['ground_fault', 'groundFault'],
    ['arc_fault', 'arcFault'],
  ] as const)('%s calls the model hook at its rate', (kind, hook) => {
    const { model, faults } = simulate({ [kind]: 0.05 }, { steps, stepMs: 5000 });
    const calls = model.calls.filter((call) => call.hook === hook);
    expect(model.calls).toHaveLength(calls.length);
    expectRate(calls.length, steps, 0.05);
    expect(faults.filter((fault) => fault.kind === kind)).toHaveLength(calls.length);
  });

  it('overloads by 2-3 x for 2-6 minutes', () => {
    const { model } = simulate({ overload: 0.2 }, { steps: 1000, stepMs: 5000 });
    expect(model.calls.length).toBeGreaterThan(100);
    for (const { args } of model.calls) {
      const [factor, durationMs] = args as [number, number];
      expect(factor).toBeGreaterThanOrEqual(2);
      expect(factor).toBeLessThanOrEqual(3);
      expect(durationMs).toBeGreaterThanOrEqual(2 * MINUTE);
      expect(durationMs).toBeLessThanOrEqual(6 * MINUTE);
    }
  });

  it('does nothing for a model without hooks', () => {
    const { faults } = simulate(
      { overload: 1, ground_fault: 1, arc_fault: 1 },
      { steps: 10, stepMs: 5000, hooks: false },
    );
    expect(faults).toEqual([]);
  });
});

describe('message faults', () => {
  const steps = 4000;

  it('duplicate sends the telemetry twice with the same payload, at its rate', () => {
    const sim = simulate({ duplicate: 0.05 }, { steps, stepMs: 5000 });
    const doubled = sim.steps.filter((step) => step.messages.length === 2);
    expect(sim.steps.every((step) => step.messages.length <= 2)).toBe(true);
    expectRate(doubled.length, steps, 0.05);
    for (const { messages } of doubled) {
      const [first, second] = messages as [SimMessage, SimMessage];
      expect(second.payload).toBe(first.payload);
      expect(second.topic).toBe(first.topic);
      expect(second.fault).toBe('duplicate');
      expect(first.fault).toBeUndefined();
    }
  });

  it('malformed replaces the message at its rate, with every kind', () => {
    const sim = simulate({ malformed: 0.1 }, { steps, stepMs: 5000 });
    const broken = sim.steps.flatMap((step) => step.messages).filter((message) => message.fault);
    expectRate(broken.length, steps, 0.1);
    const kinds = new Set(broken.map((message) => message.fault));
    expect([...kinds].sort()).toEqual(MALFORMED_KINDS.map((kind) => `malformed.${kind}`).sort());
  });

  it('targets one malformed kind, and `malformed` then picks among the targeted kinds only', () => {
    const one = simulate({ 'malformed.invalid_json': 0.05 }, { steps, stepMs: 5000 });
    const oneBroken = one.steps.flatMap((step) => step.messages).filter((message) => message.fault);
    expectRate(oneBroken.length, steps, 0.05);
    expect(new Set(oneBroken.map((message) => message.fault))).toEqual(new Set(['malformed.invalid_json']));

    const two = simulate(
      { malformed: 0.1, 'malformed.oversized': 0.02, 'malformed.unknown_type': 0.02 },
      { steps, stepMs: 5000 },
    );
    const twoBroken = two.steps.flatMap((step) => step.messages).filter((message) => message.fault);
    expectRate(twoBroken.length, steps, 0.14);
    expect(new Set(twoBroken.map((message) => message.fault))).toEqual(
      new Set(['malformed.oversized', 'malformed.unknown_type']),
    );
  });
});

describe('clock skew', () => {
  it('starts at its rate and shifts the device clock by 20 minutes to 2 hours', () => {
    // Three-hour steps: every skew has ended by the next step, so each step is a fresh chance.
    const steps = 3000;
    const sim = simulate({ clock_skew: 0.1 }, { steps, stepMs: 3 * HOUR });
    const skewed = sim.steps.filter((step) => step.deviceTime !== step.time);
    expectRate(skewed.length, steps, 0.1);
    for (const step of skewed) {
      const offset = Math.abs(step.deviceTime - step.time);
      expect(offset).toBeGreaterThanOrEqual(20 * MINUTE);
      expect(offset).toBeLessThanOrEqual(2 * HOUR);
    }
    expect(skewed.some((step) => step.deviceTime > step.time)).toBe(true);
    expect(skewed.some((step) => step.deviceTime < step.time)).toBe(true);
  });

  it('lasts a while, with one offset, and the platform sees future or old timestamps', () => {
    const sim = simulate({ clock_skew: 0.01 }, { steps: 5000, stepMs: 5000 });
    const skewed = sim.steps.filter((step) => step.deviceTime !== step.time);
    expect(skewed.length).toBeGreaterThan(100);
    // Consecutive skewed steps share one offset: the clock is off, not jittering.
    const offsets = new Set(skewed.map((step) => step.deviceTime - step.time));
    expect(offsets.size).toBeLessThan(skewed.length / 10);

    let future = 0;
    let old = 0;
    for (const step of skewed) {
      const outcome = run(step.messages[0] as SimMessage);
      expect(outcome.kind).toBe('enriched');
      if (outcome.kind !== 'enriched') continue;
      const reasons = outcome.message.data_quality.reasons;
      if (step.deviceTime > step.time) {
        expect(reasons).toContain('FUTURE_TIMESTAMP');
        future++;
      } else {
        // An old clock: up to 2 hours behind, inside the stale limit, filed at the device's time.
        expect(step.time - Date.parse(outcome.message.timestamp)).toBeGreaterThanOrEqual(20 * MINUTE);
        old++;
      }
    }
    expect(future).toBeGreaterThan(0);
    expect(old).toBeGreaterThan(0);
  });
});

describe('sensor faults', () => {
  it('stuck pins a reading at its valid min or max, at its rate', () => {
    const steps = 3000;
    const sim = simulate({ stuck: 0.1 }, { steps, stepMs: 3 * HOUR });
    const readings = numericReadings(BREAKER);
    let stuckSteps = 0;
    for (const step of sim.steps) {
      const pinned = readings.filter((reading) => {
        const wire = wireAt(step.published, reading.path);
        return (
          wire !== wireAt(step.truth, reading.path) &&
          (wire === reading.range.min || wire === reading.range.max)
        );
      });
      expect(pinned.length).toBeLessThanOrEqual(1);
      if (pinned.length === 1) stuckSteps++;
    }
    expectRate(stuckSteps, steps, 0.1);
    expect(sim.faults.filter((fault) => fault.kind === 'stuck')).toHaveLength(stuckSteps);
  });

  it('stuck persists for its duration', () => {
    const sim = simulate({ stuck: 0.002 }, { steps: 5000, stepMs: 5000 });
    const first = sim.faults.find((fault) => fault.kind === 'stuck');
    if (!first?.detail || first.until === undefined) throw new Error('expected a stuck fault');
    const { detail: path, time: start, until } = first;
    const during = sim.steps.filter((step) => step.time >= start && step.time < until);
    expect(until - start).toBeGreaterThanOrEqual(10 * MINUTE);
    const values = new Set(during.map((step) => wireAt(step.published, path)));
    expect(values.size).toBe(1);
  });

  it('flatline repeats the last published value exactly, at its rate', () => {
    const steps = 3000;
    const sim = simulate({ flatline: 0.1 }, { steps, stepMs: 3 * HOUR });
    const readings = numericReadings(BREAKER);
    let flatSteps = 0;
    for (let i = 1; i < sim.steps.length; i++) {
      const step = sim.steps[i] as StepRecord;
      const previous = sim.steps[i - 1] as StepRecord;
      const repeated = readings.filter(
        (reading) =>
          wireAt(step.published, reading.path) === wireAt(previous.published, reading.path) &&
          wireAt(step.published, reading.path) !== wireAt(step.truth, reading.path),
      );
      if (repeated.length > 0) flatSteps++;
    }
    expectRate(flatSteps, steps, 0.1);
  });

  it('flatline holds a hex reading for a while', () => {
    const sim = simulate({ flatline: 0.005 }, { typeId: 'f2_access_controller', steps: 3000, stepMs: 5000 });
    const fault = sim.faults.find((f) => f.kind === 'flatline');
    if (!fault?.detail || fault.until === undefined) throw new Error('expected a flat-line');
    const { detail: path, time: start, until } = fault;
    const during = sim.steps.filter((step) => step.time >= start && step.time < until);
    expect(during.length).toBeGreaterThan(100);
    expect(new Set(during.map((step) => wireAt(step.published, path))).size).toBe(1);
    expect(new Set(during.map((step) => wireAt(step.truth, path))).size).toBeGreaterThan(50);
  });

  it('drift starts at its rate and grows a bias linearly (1-5 % of the span per hour)', () => {
    const rateSim = simulate({ drift: 0.1 }, { steps: 3000, stepMs: 3 * HOUR });
    expectRate(rateSim.faults.filter((fault) => fault.kind === 'drift').length, 3000, 0.1);

    const sim = simulate({ drift: 0.002 }, { steps: 4000, stepMs: 5000 });
    const drifts = sim.faults.filter((fault) => fault.kind === 'drift');
    expect(drifts.length).toBeGreaterThan(2);
    for (const fault of drifts) {
      const reading = numericReadings(BREAKER).find((r) => r.path === fault.detail);
      if (!reading || fault.until === undefined) throw new Error('drift without a reading');
      expect(fault.until - fault.time).toBeGreaterThanOrEqual(30 * MINUTE);
      const span = reading.range.max - reading.range.min;
      const during = sim.steps.filter(
        (step) => step.time > fault.time && step.time < (fault.until as number),
      );
      let previousBias = 0;
      for (const step of during) {
        const bias =
          (wireAt(step.published, reading.path) as number) - (wireAt(step.truth, reading.path) as number);
        const hours = (step.time - fault.time) / HOUR;
        expect(Math.abs(bias)).toBeLessThanOrEqual(0.05 * span * hours + 0.002);
        expect(Math.abs(bias)).toBeGreaterThanOrEqual(0.01 * span * hours - 0.002);
        expect(Math.abs(bias)).toBeGreaterThanOrEqual(Math.abs(previousBias) - 0.002);
        previousBias = bias;
      }
    }
  });

  it.each(['smart_breaker', 'smart_meter', 'environmental_sensor', 'f2_access_controller'])(
    'keeps every %s reading inside its valid range',
    (typeId) => {
      const sim = simulate(
        { drift: 0.2, flatline: 0.2, stuck: 0.2 },
        { typeId, steps: 1500, stepMs: MINUTE },
      );
      expect(sim.faults.length).toBeGreaterThan(100);
      let changed = 0;
      for (const step of sim.steps) {
        const message = step.messages[0] as SimMessage;
        const outcome = run(message);
        if (outcome.kind !== 'enriched') throw new Error(`rejected: ${JSON.stringify(outcome.rejection)}`);
        expect(outcome.message.data_quality.verdict).toBe('GOOD');
        if (JSON.stringify(step.published) !== JSON.stringify(step.truth)) changed++;
      }
      expect(changed).toBeGreaterThan(1000);
    },
  );

  it('does not touch the model’s measurements object', () => {
    const definition = BREAKER;
    const injector = createFaultInjector(
      { stuck: 1 },
      { random: new Random(3), definition, deviceId: 'b-1' },
    );
    const truth = fakeMeasurements(definition, new Random(4));
    const snapshot = JSON.stringify(truth);
    const published = injector.applySensorFaults(truth, START);
    expect(JSON.stringify(truth)).toBe(snapshot);
    expect(JSON.stringify(published)).not.toBe(snapshot);
  });
});

describe('malformed variants through processMessage', () => {
  const variants = (kind: MalformedKind, definition = BREAKER, count = 60): SimMessage[] => {
    const random = new Random(11);
    const model = new FakeModel(definition, 12);
    return Array.from({ length: count }, (_, i) => {
      const time = START + i * 5000;
      const message = buildMessage(definition, 'dev-1', 'telemetry', time, time, {
        measurements: model.step().measurements,
      });
      expect(run(message).kind).toBe('enriched');
      const broken = malformMessage(message, kind, { random, definition });
      expect(broken.fault).toBe(`malformed.${kind}`);
      return broken;
    });
  };

  it('invalid_json is rejected as INVALID_JSON', () => {
    for (const message of variants('invalid_json')) expect(rejection(run(message))).toBe('INVALID_JSON');
  });

  it('missing_fields drops device_id, timestamp or measurements', () => {
    const seen = new Set<string>();
    for (const message of variants('missing_fields')) {
      const body = JSON.parse(message.payload) as Record<string, unknown>;
      if (!('device_id' in body)) {
        seen.add('device_id');
        expect(rejection(run(message, false))).toBe('MISSING_DEVICE_ID');
        expect(run(message, true).kind).toBe('enriched');
      } else if (!('timestamp' in body)) {
        seen.add('timestamp');
        const outcome = run(message);
        expect(outcome.kind === 'enriched' && outcome.message.data_quality.reasons).toContain(
          'INVALID_TIMESTAMP',
        );
      } else {
        expect(body).not.toHaveProperty('measurements');
        seen.add('measurements');
        expect(rejection(run(message))).toBe('SCHEMA_VIOLATION');
      }
    }
    expect(seen).toEqual(new Set(['device_id', 'timestamp', 'measurements']));
  });

  it('wrong_types gives a WRONG_TYPE reading, or an event_type that is a number', () => {
    let wrongReading = 0;
    let wrongEventType = 0;
    for (const definition of [BREAKER, F2]) {
      for (const message of variants('wrong_types', definition)) {
        const body = JSON.parse(message.payload) as Record<string, unknown>;
        const outcome = run(message);
        if (typeof body.event_type === 'number') {
          wrongEventType++;
          // The core's envelope check catches it before the contract schema does.
          expect(['INVALID_EVENT_TYPE', 'SCHEMA_VIOLATION']).toContain(rejection(outcome));
        } else {
          wrongReading++;
          expect(outcome.kind).toBe('enriched');
          expect(readingReasons(outcome)).toEqual(['WRONG_TYPE']);
          expect(outcome.kind === 'enriched' && outcome.message.data_quality.verdict).toBe('BAD');
        }
      }
    }
    expect(wrongReading).toBeGreaterThan(0);
    expect(wrongEventType).toBeGreaterThan(0);
  });

  it.each([BREAKER, F2, definitionOf('smart_meter'), definitionOf('environmental_sensor')])(
    'out_of_range gives an OUT_OF_RANGE reading ($typeId)',
    (definition) => {
      for (const message of variants('out_of_range', definition, 30)) {
        const outcome = run(message);
        expect(readingReasons(outcome)).toEqual(['OUT_OF_RANGE']);
        if (outcome.kind === 'enriched' && definition === F2) {
          // A hex reading decodes to the out-of-range value.
          const reading = numericReadings(F2).find((r) => {
            const decoded =
              r.definition.encoding &&
              decodeHex(wireAt(measurementsOf(message), r.path), r.definition.encoding);
            return decoded ? decoded.ok && decoded.value > r.range.max : false;
          });
          expect(reading).toBeDefined();
        }
      }
    },
  );

  it('out_of_range puts a reading far out (10 x its maximum)', () => {
    const message = variants('out_of_range', definitionOf('environmental_sensor'), 1)[0] as SimMessage;
    const body = JSON.parse(message.payload) as { measurements: Record<string, number> };
    const maxima = { temperature: 85, humidity: 100, pressure: 1100, battery: 100 };
    const far = Object.entries(maxima).filter(([key, max]) => body.measurements[key] === 10 * max);
    expect(far).toHaveLength(1);
  });

  it('oversized is rejected as PAYLOAD_TOO_LARGE', () => {
    for (const message of variants('oversized', BREAKER, 5)) {
      expect(Buffer.byteLength(message.payload)).toBeGreaterThan(MAX_PAYLOAD_BYTES);
      expect(Buffer.byteLength(message.payload)).toBeGreaterThan(128 * 1024);
      expect(rejection(run(message))).toBe('PAYLOAD_TOO_LARGE');
    }
  });

  it('unknown_type is rejected as UNKNOWN_DEVICE_TYPE, on the unknown type’s topic', () => {
    for (const message of variants('unknown_type', BREAKER, 20)) {
      expect(message.topic).toBe('dt/unknown_widget/dev-1/telemetry');
      const body = JSON.parse(message.payload) as { device_type: string; measurements: object };
      expect(body.device_type).toBe('unknown_widget');
      expect(Object.keys(body.measurements).every((key) => !(key in BREAKER.measurements))).toBe(true);
      expect(rejection(run(message))).toBe('UNKNOWN_DEVICE_TYPE');
      expect(rejection(run(message, false))).toBe('UNKNOWN_DEVICE_TYPE');
    }
  });

  it('each malformed telemetry from the injector gets its intended verdict', () => {
    const sim = simulate({ malformed: 0.2 }, { steps: 1000, stepMs: 5000 });
    const expected: Record<string, (outcome: ProcessOutcome) => boolean> = {
      'malformed.invalid_json': (o) => rejection(o) === 'INVALID_JSON',
      // device_id dropped: the topic supplies it; timestamp dropped: INVALID_TIMESTAMP; measurements: schema.
      'malformed.missing_fields': (o) => rejection(o) === 'SCHEMA_VIOLATION' || o.kind === 'enriched',
      'malformed.wrong_types': (o) =>
        rejection(o) === 'INVALID_EVENT_TYPE' || readingReasons(o).includes('WRONG_TYPE'),
      'malformed.out_of_range': (o) => readingReasons(o).includes('OUT_OF_RANGE'),
      'malformed.oversized': (o) => rejection(o) === 'PAYLOAD_TOO_LARGE',
      'malformed.unknown_type': (o) => rejection(o) === 'UNKNOWN_DEVICE_TYPE',
    };
    let checked = 0;
    for (const message of sim.steps.flatMap((step) => step.messages)) {
      if (!message.fault) {
        expect(run(message).kind).toBe('enriched');
        continue;
      }
      const check = expected[message.fault];
      if (!check) throw new Error(`unexpected fault ${message.fault}`);
      expect(check(run(message)), message.fault).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('determinism', () => {
  const fingerprint = (sim: Simulation): string =>
    JSON.stringify({
      calls: sim.model.calls,
      faults: sim.faults,
      messages: sim.steps.map((step) =>
        step.messages.map((message) => [
          message.topic,
          message.fault,
          message.payload.length,
          message.payload.slice(0, 2000),
        ]),
      ),
    });

  it('gives the same faults for the same seed, and others for another seed', () => {
    const rates = parseFaultSpec('all=0.03');
    const a = simulate(rates, { steps: 1500, stepMs: 5000, seed: 42 });
    const b = simulate(rates, { steps: 1500, stepMs: 5000, seed: 42 });
    const c = simulate(rates, { steps: 1500, stepMs: 5000, seed: 43 });
    expect(a.faults.length).toBeGreaterThan(100);
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(fingerprint(c));
  });

  it('keeps each fault kind on its own stream: adding one does not move the others', () => {
    const alone = simulate({ overload: 0.05 }, { steps: 1000, stepMs: 5000 });
    const withOthers = simulate(
      { overload: 0.05, duplicate: 0.3, drift: 0.1 },
      { steps: 1000, stepMs: 5000 },
    );
    expect(withOthers.model.calls).toEqual(alone.model.calls);
  });

  it('decodes hex sensor faults back inside the valid range', () => {
    const sim = simulate(
      { stuck: 0.3, drift: 0.3 },
      { typeId: 'f2_access_controller', steps: 500, stepMs: MINUTE },
    );
    for (const step of sim.steps) {
      for (const reading of numericReadings(F2)) {
        const encoding = reading.definition.encoding;
        if (!encoding) continue;
        const decoded = decodeHex(wireAt(step.published, reading.path), encoding);
        expect(decoded.ok).toBe(true);
        if (decoded.ok) {
          expect(decoded.value).toBeGreaterThanOrEqual(reading.range.min);
          expect(decoded.value).toBeLessThanOrEqual(reading.range.max);
        }
      }
    }
  });
});
