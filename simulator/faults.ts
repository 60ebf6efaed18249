/**
 * Fault injection for simulated devices: physical faults through the model's hooks (overload, ground
 * and arc faults), sensor faults on the readings (drift, flat-line, stuck-at), a skewed device clock,
 * duplicated messages, malformed messages of six kinds, and silence (the device stops publishing for a
 * while, what no-data alert rules are for). Every fault is switched on by a rate, the
 * probability per telemetry message that it starts, and every decision comes from the device's own
 * Random: the same seed gives the same faults, run after run.
 *
 * Each fault kind draws from a stream of its own (derived from one draw of the device's Random), so
 * switching one fault on or off does not change when the others strike.
 */
import {
  type DeviceType,
  decodeHex,
  type HexEncoding,
  isGroupDefinition,
  MAX_PAYLOAD_BYTES,
  type NumericRange,
  type ReadingDefinition,
} from '../functions/core/index.js';
import { encodeHex } from './hex.js';
import { clamp, Random, round } from './random.js';
import {
  type DeviceModel,
  type FaultInjector,
  type Measurements,
  NO_FAULTS,
  type Scalar,
  type SimMessage,
} from './types.js';

export const FAULT_KINDS = [
  'overload',
  'ground_fault',
  'arc_fault',
  'drift',
  'flatline',
  'stuck',
  'clock_skew',
  'duplicate',
  'malformed',
  // Issue 15: a device that stops publishing for a while (no-data rules).
  'silence',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const MALFORMED_KINDS = [
  'invalid_json',
  'missing_fields',
  'wrong_types',
  'out_of_range',
  'oversized',
  'unknown_type',
] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** A fault kind, or one malformed kind targeted on its own (`malformed.invalid_json`). */
export type FaultName = FaultKind | `malformed.${MalformedKind}`;

/**
 * Probability per telemetry message, in [0, 1], that each fault starts. `malformed` picks among the
 * malformed kinds: all of them, or only those given a rate of their own (`malformed.<kind>`), which
 * also strike at that rate by themselves.
 */
export type FaultRates = { readonly [K in FaultName]?: number };

export const FAULT_NAMES: readonly FaultName[] = [
  ...FAULT_KINDS,
  ...MALFORMED_KINDS.map((kind) => `malformed.${kind}` as const),
];

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

const VALID_NAMES_TEXT = `valid names: all, ${FAULT_NAMES.join(', ')}`;
const FAULT_NAME_SET: ReadonlySet<string> = new Set(FAULT_NAMES);
const RATE_PATTERN = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

const isFaultName = (name: string): name is FaultName => FAULT_NAME_SET.has(name);

/**
 * Reads a CLI fault spec: `overload=0.01,malformed=0.001,clock_skew=0.05`, `all=0.01` (every fault
 * kind; later entries override it), `malformed.invalid_json=0.01` (one malformed kind). An empty spec
 * means no faults.
 */
export function parseFaultSpec(spec: string): FaultRates {
  const rates: { [K in FaultName]?: number } = {};
  if (spec.trim() === '') return rates;
  for (const rawPart of spec.split(',')) {
    const part = rawPart.trim();
    if (part === '') throw new FaultSpecError(`empty entry in fault spec "${spec}"; ${VALID_NAMES_TEXT}`);
    const equals = part.indexOf('=');
    if (equals < 0) {
      throw new FaultSpecError(`fault spec entry "${part}" is not name=rate; ${VALID_NAMES_TEXT}`);
    }
    const name = part.slice(0, equals).trim();
    const text = part.slice(equals + 1).trim();
    if (name !== 'all' && !isFaultName(name)) {
      throw new FaultSpecError(`unknown fault "${name}" in "${part}"; ${VALID_NAMES_TEXT}`);
    }
    const rate = RATE_PATTERN.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new FaultSpecError(
        `fault rate "${text}" in "${part}" is not a probability between 0 and 1; ${VALID_NAMES_TEXT}`,
      );
    }
    if (name === 'all') for (const kind of FAULT_KINDS) rates[kind] = rate;
    else rates[name] = rate;
  }
  return rates;
}

/** A fault that started (or, for malformed and duplicate messages, happened): for counters and tests. */
export interface InjectedFault {
  readonly kind: FaultKind;
  readonly deviceId: string;
  /** Simulated time, epoch ms. */
  readonly time: number;
  /** When it ends, for faults that last. */
  readonly until?: number;
  /** The reading path for sensor faults, `malformed.<kind>` for malformed messages. */
  readonly detail?: string;
}

export interface FaultInjectorOptions {
  /** The device's fault stream (e.g. `Random.derive(seed, `${deviceId}/faults`)`). */
  readonly random: Random;
  readonly definition: DeviceType;
  readonly deviceId: string;
  /** Called whenever a fault starts or a message is duplicated or malformed. */
  readonly onFault?: (fault: InjectedFault) => void;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How strong and how long each fault is, drawn uniformly from these bounds. */
export const FAULT_PROFILE = {
  /**
   * Load multiplier: 2-3x makes a daytime breaker load (65-80 % of rated) trip on its inverse-time
   * curve within a minute, while a light night-time load doubled stays under pickup, as it would.
   */
  overloadFactor: [2, 3],
  overloadMs: [2 * MINUTE, 6 * MINUTE],
  /** Drift bias growth, as a share of the reading's valid span per hour. */
  driftPerHour: [0.01, 0.05],
  driftMs: [30 * MINUTE, 60 * MINUTE],
  flatlineMs: [10 * MINUTE, 30 * MINUTE],
  stuckMs: [10 * MINUTE, 30 * MINUTE],
  /** Clock offset magnitude, either direction: past the platform's 15-minute future tolerance. */
  clockSkewOffsetMs: [20 * MINUTE, 2 * HOUR],
  clockSkewMs: [15 * MINUTE, 60 * MINUTE],
  /** Longer than the 60 s floor of a no-data rule's silentSeconds, so a silence can raise one. */
  silenceMs: [2 * MINUTE, 10 * MINUTE],
} as const satisfies Record<string, readonly [number, number]>;

/** A numeric reading of the type that sensor faults can act on. */
export interface NumericReading {
  readonly path: string;
  readonly key: string;
  readonly component?: string;
  readonly definition: ReadingDefinition;
  readonly range: NumericRange;
}

/** Numeric readings with a valid range (codes with allowed values are left alone), in registry order. */
export function numericReadings(definition: DeviceType): NumericReading[] {
  const readings: NumericReading[] = [];
  const add = (path: string, key: string, component: string | undefined, reading: ReadingDefinition) => {
    if (reading.dataType !== 'number' && reading.dataType !== 'integer') return;
    if (!reading.validRange || reading.allowedValues) return;
    readings.push({
      path,
      key,
      ...(component === undefined ? {} : { component }),
      definition: reading,
      range: reading.validRange,
    });
  };
  for (const [key, measurement] of Object.entries(definition.measurements)) {
    if (isGroupDefinition(measurement)) {
      for (const [component, reading] of Object.entries(measurement.components)) {
        add(`${key}.${component}`, key, component, reading);
      }
    } else {
      add(key, key, undefined, measurement);
    }
  }
  return readings;
}

function readWire(
  measurements: Measurements,
  reading: { key: string; component?: string },
): Scalar | undefined {
  const top = measurements[reading.key];
  if (reading.component === undefined) return typeof top === 'object' ? undefined : top;
  return typeof top === 'object' ? top[reading.component] : undefined;
}

/** The reading's physical value (hex decoded), or undefined when the wire value is not usable. */
function readValue(wire: Scalar | undefined, reading: NumericReading): number | undefined {
  if (reading.definition.encoding) {
    const decoded = decodeHex(wire, reading.definition.encoding);
    return decoded.ok ? decoded.value : undefined;
  }
  return typeof wire === 'number' && Number.isFinite(wire) ? wire : undefined;
}

/** Encodes, stepping one raw unit back inside the range if rounding pushed the value over an edge. */
function encodeWithin(value: number, encoding: HexEncoding, range: NumericRange): string {
  const wire = encodeHex(value, encoding);
  const decoded = decodeHex(wire, encoding);
  if (!decoded.ok) return wire;
  const unit = Math.abs(encoding.scale);
  if (decoded.value > range.max) return encodeHex(value - unit, encoding);
  if (decoded.value < range.min) return encodeHex(value + unit, encoding);
  return wire;
}

/** A value in wire form, clamped to the valid range: the behaviour is wrong, never the range. */
function toWire(value: number, reading: NumericReading): Scalar {
  const { range, definition } = reading;
  const inside = clamp(value, range.min, range.max);
  if (definition.encoding) return encodeWithin(inside, definition.encoding, range);
  if (definition.dataType === 'integer') {
    return clamp(Math.round(inside), Math.ceil(range.min), Math.floor(range.max));
  }
  return clamp(round(inside, 3), range.min, range.max);
}

/** Writes one reading into a shallow copy of the measurements, copying a group the first time. */
class MeasurementsCopy {
  readonly value: Measurements;
  private readonly copiedGroups = new Set<string>();

  constructor(source: Measurements) {
    this.value = { ...source };
  }

  set(reading: { key: string; component?: string }, wire: Scalar): void {
    if (reading.component === undefined) {
      this.value[reading.key] = wire;
      return;
    }
    const group = this.value[reading.key];
    if (typeof group !== 'object') return;
    if (this.copiedGroups.has(reading.key)) {
      group[reading.component] = wire;
    } else {
      this.value[reading.key] = { ...group, [reading.component]: wire };
      this.copiedGroups.add(reading.key);
    }
  }
}

type SensorFault =
  | { readonly kind: 'drift'; readonly start: number; readonly until: number; readonly biasPerMs: number }
  | { readonly kind: 'flatline'; readonly until: number; readonly wire: Scalar }
  | { readonly kind: 'stuck'; readonly until: number; readonly value: number };

const SENSOR_FAULT_KINDS = ['drift', 'flatline', 'stuck'] as const;
type SensorFaultKind = (typeof SENSOR_FAULT_KINDS)[number];

const between = (random: Random, [min, max]: readonly [number, number]): number => random.between(min, max);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkRates(rates: FaultRates): void {
  for (const [name, rate] of Object.entries(rates)) {
    if (!isFaultName(name)) throw new FaultSpecError(`unknown fault "${name}"; ${VALID_NAMES_TEXT}`);
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))) {
      throw new FaultSpecError(`fault rate ${String(rate)} for ${name} is not a probability between 0 and 1`);
    }
  }
}

/**
 * Builds one device's fault injector. With every rate 0 (or none given) it is NO_FAULTS itself, so a
 * fleet without faults pays nothing.
 */
export function createFaultInjector(rates: FaultRates, options: FaultInjectorOptions): FaultInjector {
  checkRates(rates);
  if (!FAULT_NAMES.some((name) => (rates[name] ?? 0) > 0)) return NO_FAULTS;
  const injector = new DeviceFaults(rates, options);
  return {
    beforeStep: (time, model) => injector.beforeStep(time, model),
    applySensorFaults: (measurements, time) => injector.applySensorFaults(measurements, time),
    deviceTime: (time) => injector.deviceTime(time),
    afterBuild: (message) => injector.afterBuild(message),
    silenced: (time) => injector.silenced(time),
  };
}

class DeviceFaults {
  private readonly streams: Record<FaultKind, Random>;
  private readonly readings: readonly NumericReading[];
  private readonly sensorFaults = new Map<string, SensorFault>();
  /** Last published wire value per reading, kept only when flat-lines are on. */
  private readonly lastPublished = new Map<string, Scalar>();
  /** Malformed kinds with their probabilities per telemetry message. */
  private readonly malformedRates: readonly (readonly [MalformedKind, number])[];
  private skew: { readonly offset: number; readonly until: number } | undefined;
  /** Until when the device publishes nothing (simulated time, epoch ms). */
  private silentUntil: number | undefined;

  constructor(
    private readonly rates: FaultRates,
    private readonly options: FaultInjectorOptions,
  ) {
    const base = Math.floor(options.random.next() * 2 ** 32);
    const streams: Partial<Record<FaultKind, Random>> = {};
    for (const kind of FAULT_KINDS) streams[kind] = Random.derive(base, kind);
    this.streams = streams as Record<FaultKind, Random>;
    this.readings = numericReadings(options.definition);

    const targeted = MALFORMED_KINDS.filter((kind) => (rates[`malformed.${kind}`] ?? 0) > 0);
    const pool = targeted.length > 0 ? targeted : MALFORMED_KINDS;
    const generic = rates.malformed ?? 0;
    this.malformedRates = MALFORMED_KINDS.map(
      (kind) =>
        [
          kind,
          (rates[`malformed.${kind}`] ?? 0) + (pool.includes(kind) ? generic / pool.length : 0),
        ] as const,
    ).filter(([, rate]) => rate > 0);
  }

  private rate(kind: FaultKind): number {
    return this.rates[kind] ?? 0;
  }

  private strikes(kind: FaultKind): boolean {
    const rate = this.rate(kind);
    return rate > 0 && this.streams[kind].chance(rate);
  }

  private report(fault: Omit<InjectedFault, 'deviceId'>): void {
    this.options.onFault?.({ deviceId: this.options.deviceId, ...fault });
  }

  beforeStep(time: number, model: DeviceModel): void {
    const hooks = model.faults;
    if (this.strikes('overload')) {
      const random = this.streams.overload;
      const factor = round(between(random, FAULT_PROFILE.overloadFactor), 3);
      const durationMs = Math.round(between(random, FAULT_PROFILE.overloadMs));
      if (hooks?.overload) {
        hooks.overload(factor, durationMs);
        this.report({ kind: 'overload', time, until: time + durationMs, detail: `x${factor}` });
      }
    }
    if (this.strikes('ground_fault') && hooks?.groundFault) {
      hooks.groundFault();
      this.report({ kind: 'ground_fault', time });
    }
    if (this.strikes('arc_fault') && hooks?.arcFault) {
      hooks.arcFault();
      this.report({ kind: 'arc_fault', time });
    }

    if (this.skew && time >= this.skew.until) this.skew = undefined;
    if (!this.skew && this.strikes('clock_skew')) {
      const random = this.streams.clock_skew;
      const sign = random.chance(0.5) ? 1 : -1;
      const offset = sign * Math.round(between(random, FAULT_PROFILE.clockSkewOffsetMs));
      const until = time + Math.round(between(random, FAULT_PROFILE.clockSkewMs));
      this.skew = { offset, until };
      this.report({ kind: 'clock_skew', time, until, detail: `${offset > 0 ? '+' : ''}${offset} ms` });
    }

    if (this.silentUntil !== undefined && time >= this.silentUntil) this.silentUntil = undefined;
    if (this.silentUntil === undefined && this.strikes('silence')) {
      this.silentUntil = time + Math.round(between(this.streams.silence, FAULT_PROFILE.silenceMs));
      this.report({ kind: 'silence', time, until: this.silentUntil });
    }
  }

  silenced(time: number): boolean {
    return this.silentUntil !== undefined && time < this.silentUntil;
  }

  deviceTime(time: number): number {
    return this.skew && time < this.skew.until ? time + this.skew.offset : time;
  }

  applySensorFaults(measurements: Measurements, time: number): Measurements {
    for (const [path, fault] of this.sensorFaults) if (time >= fault.until) this.sensorFaults.delete(path);
    for (const kind of SENSOR_FAULT_KINDS)
      if (this.strikes(kind)) this.startSensorFault(kind, measurements, time);

    const trackLast = this.rate('flatline') > 0;
    if (this.sensorFaults.size === 0 && !trackLast) return measurements;

    let result = measurements;
    if (this.sensorFaults.size > 0) {
      const copy = new MeasurementsCopy(measurements);
      for (const reading of this.readings) {
        const fault = this.sensorFaults.get(reading.path);
        if (!fault) continue;
        const wire = this.faultyWire(fault, reading, readWire(measurements, reading), time);
        if (wire !== undefined) copy.set(reading, wire);
      }
      result = copy.value;
    }
    if (trackLast) {
      for (const reading of this.readings) {
        const wire = readWire(result, reading);
        if (wire !== undefined) this.lastPublished.set(reading.path, wire);
      }
    }
    return result;
  }

  private startSensorFault(kind: SensorFaultKind, measurements: Measurements, time: number): void {
    const random = this.streams[kind];
    const free = this.readings.filter(
      (reading) =>
        !this.sensorFaults.has(reading.path) &&
        readValue(readWire(measurements, reading), reading) !== undefined,
    );
    if (free.length === 0) return;
    const reading = random.pick(free);
    let fault: SensorFault;
    switch (kind) {
      case 'drift': {
        const span = reading.range.max - reading.range.min;
        const sign = random.chance(0.5) ? 1 : -1;
        const biasPerMs = (sign * between(random, FAULT_PROFILE.driftPerHour) * span) / HOUR;
        fault = {
          kind,
          start: time,
          until: time + Math.round(between(random, FAULT_PROFILE.driftMs)),
          biasPerMs,
        };
        break;
      }
      case 'flatline': {
        const wire = this.lastPublished.get(reading.path) ?? readWire(measurements, reading);
        if (wire === undefined) return;
        fault = { kind, until: time + Math.round(between(random, FAULT_PROFILE.flatlineMs)), wire };
        break;
      }
      case 'stuck': {
        const value = random.chance(0.5) ? reading.range.min : reading.range.max;
        fault = { kind, until: time + Math.round(between(random, FAULT_PROFILE.stuckMs)), value };
        break;
      }
    }
    this.sensorFaults.set(reading.path, fault);
    this.report({ kind, time, until: fault.until, detail: reading.path });
  }

  private faultyWire(
    fault: SensorFault,
    reading: NumericReading,
    wire: Scalar | undefined,
    time: number,
  ): Scalar | undefined {
    if (wire === undefined) return undefined;
    switch (fault.kind) {
      case 'flatline':
        return fault.wire;
      case 'stuck':
        return toWire(fault.value, reading);
      case 'drift': {
        const value = readValue(wire, reading);
        return value === undefined
          ? undefined
          : toWire(value + fault.biasPerMs * (time - fault.start), reading);
      }
    }
  }

  afterBuild(message: SimMessage): SimMessage[] {
    if (message.kind !== 'telemetry') return [message];
    let result = message;
    const kind = this.pickMalformed();
    if (kind) {
      result = malformMessage(message, kind, {
        random: this.streams.malformed,
        definition: this.options.definition,
      });
      this.report({ kind: 'malformed', time: message.time, detail: `malformed.${kind}` });
    }
    if (this.strikes('duplicate')) {
      this.report({ kind: 'duplicate', time: message.time });
      return [result, result.fault ? result : { ...result, fault: 'duplicate' }];
    }
    return [result];
  }

  private pickMalformed(): MalformedKind | undefined {
    if (this.malformedRates.length === 0) return undefined;
    let draw = this.streams.malformed.next();
    for (const [kind, rate] of this.malformedRates) {
      if (draw < rate) return kind;
      draw -= rate;
    }
    return undefined;
  }
}

export interface MalformOptions {
  readonly random: Random;
  readonly definition: DeviceType;
}

/** The type id of the unknown_type variant: registered nowhere. */
export const UNKNOWN_TYPE_ID = 'unknown_widget';

/**
 * Replaces a telemetry message with a broken variant of `kind`, marked `fault: 'malformed.<kind>'`:
 * - invalid_json: the JSON text cut short;
 * - missing_fields: device_id, timestamp or measurements dropped;
 * - wrong_types: a reading sent as a string (WRONG_TYPE), or event_type as a number;
 * - out_of_range: a numeric reading far outside its valid range (10 x its maximum);
 * - oversized: padded past the platform's payload limit (MAX_PAYLOAD_BYTES);
 * - unknown_type: device_type `unknown_widget` with unknown measurements, on that type's topic.
 */
export function malformMessage(
  message: SimMessage,
  kind: MalformedKind,
  options: MalformOptions,
): SimMessage {
  const { random, definition } = options;
  const fault = `malformed.${kind}`;
  let body: unknown;
  try {
    body = JSON.parse(message.payload);
  } catch {
    body = undefined;
  }
  if (kind === 'invalid_json' || !isPlainObject(body)) {
    const text = message.payload.trim();
    const length = clamp(Math.floor(text.length * random.between(0.3, 0.9)), 1, Math.max(1, text.length - 1));
    return { ...message, payload: text.slice(0, length), fault };
  }
  switch (kind) {
    case 'missing_fields': {
      const field = random.pick(['device_id', 'timestamp', 'measurements']);
      const { [field]: _dropped, ...rest } = body;
      return { ...message, payload: JSON.stringify(rest), fault };
    }
    case 'wrong_types': {
      const measurements = isPlainObject(body.measurements) ? (body.measurements as Measurements) : {};
      const candidates = plainReadings(definition).filter((reading) => {
        const wire = readWire(measurements, reading);
        return typeof wire === 'number' || typeof wire === 'boolean';
      });
      if (candidates.length === 0 || random.chance(0.25)) {
        return { ...message, payload: JSON.stringify({ ...body, event_type: 1 }), fault };
      }
      const reading = random.pick(candidates);
      const copy = new MeasurementsCopy(measurements);
      copy.set(reading, String(readWire(measurements, reading)));
      return { ...message, payload: JSON.stringify({ ...body, measurements: copy.value }), fault };
    }
    case 'out_of_range': {
      const measurements = isPlainObject(body.measurements) ? (body.measurements as Measurements) : {};
      const candidates = numericReadings(definition).filter(
        (reading) => readValue(readWire(measurements, reading), reading) !== undefined,
      );
      // Shuffled, then the first whose encoding can carry a value outside the range.
      for (let i = candidates.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [candidates[i], candidates[j]] = [candidates[j] as NumericReading, candidates[i] as NumericReading];
      }
      for (const reading of candidates) {
        const wire = outOfRangeWire(reading);
        if (wire === undefined) continue;
        const copy = new MeasurementsCopy(measurements);
        copy.set(reading, wire);
        return { ...message, payload: JSON.stringify({ ...body, measurements: copy.value }), fault };
      }
      return malformMessage(message, 'wrong_types', options);
    }
    case 'oversized': {
      const padding = 'x'.repeat(MAX_PAYLOAD_BYTES + random.int(1, 4096));
      return { ...message, payload: JSON.stringify({ ...body, debug_dump: padding }), fault };
    }
    case 'unknown_type': {
      const payload = {
        ...(body.device_id === undefined ? {} : { device_id: body.device_id }),
        device_type: UNKNOWN_TYPE_ID,
        ...(body.timestamp === undefined ? {} : { timestamp: body.timestamp }),
        event_type: 'telemetry',
        measurements: {
          widget_speed_rpm: random.int(0, 3000),
          widget_mode: random.pick(['auto', 'manual', 'idle']),
          widget_level: round(random.between(0, 10), 2),
        },
      };
      return {
        ...message,
        topic: `dt/${UNKNOWN_TYPE_ID}/${message.deviceId}/telemetry`,
        payload: JSON.stringify(payload),
        fault,
      };
    }
  }
}

/** Unencoded number, integer and boolean readings (a string there is a WRONG_TYPE, not a decode error). */
function plainReadings(definition: DeviceType): { path: string; key: string; component?: string }[] {
  const readings: { path: string; key: string; component?: string }[] = [];
  for (const [key, measurement] of Object.entries(definition.measurements)) {
    const entries: [string | undefined, ReadingDefinition][] = isGroupDefinition(measurement)
      ? Object.entries(measurement.components)
      : [[undefined, measurement]];
    for (const [component, reading] of entries) {
      if (reading.encoding || reading.dataType === 'string') continue;
      readings.push({
        path: component === undefined ? key : `${key}.${component}`,
        key,
        ...(component === undefined ? {} : { component }),
      });
    }
  }
  return readings;
}

/** Ten times the maximum (or ten spans above it when the maximum is not positive), in wire form; undefined if the wire cannot carry it. */
function outOfRangeWire(reading: NumericReading): Scalar | undefined {
  const { range, definition } = reading;
  const value = range.max > 0 ? 10 * range.max : range.max + 10 * Math.max(range.max - range.min, 1);
  if (!definition.encoding) return definition.dataType === 'integer' ? Math.round(value) : value;
  const wire = encodeHex(value, definition.encoding);
  const decoded = decodeHex(wire, definition.encoding);
  return decoded.ok && (decoded.value > range.max || decoded.value < range.min) ? wire : undefined;
}
