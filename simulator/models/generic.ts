/**
 * The fallback model for any device type without a physical model of its own, driven only by the
 * registry definition: numeric readings are mean-reverting walks inside the normal range (or around
 * the middle of the valid range), integers rounded; readings with allowed values hold a value and
 * rarely change it; booleans rarely toggle; strings are sent only when required; hex-encoded readings
 * are encoded as the registry declares. Every required reading is sent, and a stable per-device subset
 * of the optional ones.
 */
import { isGroupDefinition, type ReadingDefinition } from '../../functions/core/index.js';
import { MeanReverting, type Random } from '../random.js';
import type { DeviceModel, Measurements, ModelOptions, ModelStep, Scalar } from '../types.js';
import { Channel, encodeChecked, randomHex, StepClock } from './common.js';

/** How long an enumerated reading keeps its value on average, and a boolean its state. */
const ENUM_HOLD_S = 3600;
const BOOLEAN_HOLD_S = 6 * 3600;
/** Share of the optional readings a device sends. */
const OPTIONAL_SHARE = 0.5;

type AllowedScalar = NonNullable<ReadingDefinition['allowedValues']>[number]['value'];

interface Generator {
  next(random: Random, seconds: number): Scalar;
}

class NumericWalk implements Generator {
  private readonly walk: MeanReverting;
  private readonly low: number;
  private readonly high: number;

  constructor(
    private readonly channel: Channel,
    random: Random,
  ) {
    const normal = channel.normal;
    let low: number;
    let high: number;
    if (normal && normal.max > normal.min) {
      low = Math.max(channel.min, normal.min);
      high = Math.min(channel.max, normal.max);
    } else {
      const middle = (channel.min + channel.max) / 2;
      const half = (channel.max - channel.min) / 8;
      low = middle - half;
      high = middle + half;
    }
    if (!(high > low)) {
      low = channel.min;
      high = channel.max;
    }
    this.low = low;
    this.high = high;
    const mean = (low + high) / 2;
    const deviation = (high - low) / 6;
    this.walk = new MeanReverting(mean, deviation, 600, random.normal(mean, deviation));
  }

  next(random: Random, seconds: number): Scalar {
    const value = Math.min(this.high, Math.max(this.low, this.walk.step(random, seconds)));
    return this.channel.wire(value);
  }
}

class HoldAndChange implements Generator {
  private current: AllowedScalar;

  constructor(
    private readonly values: readonly AllowedScalar[],
    private readonly holdSeconds: number,
    random: Random,
    private readonly encode: (value: AllowedScalar) => Scalar,
  ) {
    this.current = random.pick(values);
  }

  next(random: Random, seconds: number): Scalar {
    if (seconds > 0 && this.values.length > 1 && random.chance(1 - Math.exp(-seconds / this.holdSeconds))) {
      const others = this.values.filter((v) => v !== this.current);
      this.current = random.pick(others);
    }
    return this.encode(this.current);
  }
}

class Fixed implements Generator {
  constructor(private readonly value: Scalar) {}
  next(): Scalar {
    return this.value;
  }
}

/** A generator for one reading, or undefined when it should not be sent. */
function generatorFor(
  path: string,
  reading: ReadingDefinition,
  required: boolean,
  random: Random,
): Generator | undefined {
  const allowed = reading.allowedValues?.map((v) => v.value);
  if (allowed && allowed.length > 0) {
    const encoding = reading.encoding;
    const encode = (value: AllowedScalar): Scalar =>
      encoding && typeof value === 'number'
        ? encodeChecked(value, encoding, (decoded) => decoded === value, { min: value, max: value })
        : value;
    const range = reading.validRange;
    const usable = allowed.filter((value) => {
      if (reading.dataType === 'boolean') return typeof value === 'boolean';
      if (reading.dataType === 'string') {
        return (
          typeof value === 'string' && (reading.maxLength === undefined || value.length <= reading.maxLength)
        );
      }
      return (
        typeof value === 'number' &&
        (reading.dataType === 'number' || Number.isInteger(value)) &&
        (!range || (value >= range.min && value <= range.max))
      );
    });
    if (usable.length === 0) return undefined;
    return new HoldAndChange(
      usable,
      reading.dataType === 'boolean' ? BOOLEAN_HOLD_S : ENUM_HOLD_S,
      random,
      encode,
    );
  }
  switch (reading.dataType) {
    case 'boolean':
      return new HoldAndChange([false, true], BOOLEAN_HOLD_S, random, (v) => v);
    case 'string': {
      if (!required) return undefined;
      const max = reading.maxLength ?? 16;
      return new Fixed(`sim-${randomHex(() => random.next(), 4)}`.slice(0, max));
    }
    case 'number':
    case 'integer': {
      if (!reading.validRange) return undefined;
      const range = reading.validRange;
      const span = range.max - range.min;
      return new NumericWalk(new Channel(path, reading, range, span >= 10 ? 2 : 3), random);
    }
  }
}

interface Slot {
  readonly key: string;
  readonly component?: string;
  readonly generator: Generator;
}

class GenericModel implements DeviceModel {
  readonly deviceType: string;
  private readonly random: Random;
  private readonly clock = new StepClock();
  private readonly slots: Slot[] = [];

  constructor(options: ModelOptions) {
    const { definition, random } = options;
    this.deviceType = definition.typeId;
    this.random = random;
    for (const [key, measurement] of Object.entries(definition.measurements)) {
      if (isGroupDefinition(measurement)) {
        const sendGroup = measurement.required || random.chance(OPTIONAL_SHARE);
        if (!sendGroup) continue;
        const slots: Slot[] = [];
        const fallback: Slot[] = [];
        for (const [component, reading] of Object.entries(measurement.components)) {
          // Required by the group: sent whenever the group is (the core only counts it when the group is required).
          const required = reading.required;
          const chosen = required || random.chance(OPTIONAL_SHARE);
          const generator = generatorFor(`${key}.${component}`, reading, required, random);
          if (!generator) continue;
          (chosen ? slots : fallback).push({ key, component, generator });
        }
        // A group that is sent at all carries at least one reading.
        const first = fallback[0];
        if (slots.length === 0 && first) slots.push(first);
        this.slots.push(...slots);
      } else {
        const required = measurement.required;
        if (!required && !random.chance(OPTIONAL_SHARE)) continue;
        const generator = generatorFor(key, measurement, required, random);
        if (generator) this.slots.push({ key, generator });
      }
    }
  }

  step(time: number): ModelStep {
    const dt = this.clock.advance(time);
    const measurements: Measurements = {};
    for (const slot of this.slots) {
      const value = slot.generator.next(this.random, dt);
      if (slot.component === undefined) {
        measurements[slot.key] = value;
      } else {
        const existing = measurements[slot.key];
        const group: Record<string, Scalar> = typeof existing === 'object' ? existing : {};
        group[slot.component] = value;
        measurements[slot.key] = group;
      }
    }
    return { measurements, events: [] };
  }
}

export const createGenericModel = (options: ModelOptions): DeviceModel => new GenericModel(options);
