/**
 * Test support for the models: the compiled seed registry (plus a synthetic type for the generic
 * model), running a model through simulated time, and checking its output the way the platform will.
 */
import {
  compileRegistry,
  type DeviceType,
  type ProcessOutcome,
  processMessage,
} from '../../functions/core/index.js';
import { seedRegistry } from '../../registry-data/index.js';
import type { DeviceModel, Measurements, ModelEvent, ModelStep, Scalar } from '../types.js';

/** Monday 12 January 2026, 00:00 UTC. */
export const START = Date.UTC(2026, 0, 12);
export const DAY_MS = 24 * 3_600_000;

/** A type no physical model knows, exercising every kind of reading the generic model must handle. */
export const SYNTHETIC_TYPE: DeviceType = {
  typeId: 'synthetic_gadget',
  name: 'Synthetic gadget',
  description: 'A made-up type for the generic model tests.',
  category: 'testing',
  version: 1,
  capabilities: [],
  manufacturers: [],
  dataFormat: 'json',
  updateFrequencySeconds: 15,
  retentionDays: 1,
  dimensions: [],
  measurements: {
    level: {
      description: 'A level.',
      unit: '%',
      dataType: 'number',
      required: true,
      validRange: { min: 0, max: 100 },
      normalRange: { min: 20, max: 80 },
    },
    count: {
      description: 'A count.',
      unit: 'count',
      dataType: 'integer',
      required: true,
      validRange: { min: -5, max: 5 },
    },
    mode: {
      description: 'An enumerated mode.',
      unit: 'state',
      dataType: 'integer',
      required: true,
      allowedValues: [
        { value: 0, label: 'off' },
        { value: 1, label: 'eco' },
        { value: 7, label: 'boost' },
      ],
    },
    label: {
      description: 'A required label.',
      unit: 'text',
      dataType: 'string',
      required: true,
      maxLength: 6,
    },
    note: {
      description: 'An optional note.',
      unit: 'text',
      dataType: 'string',
      required: false,
      maxLength: 100,
    },
    enabled: {
      description: 'A switch.',
      unit: 'state',
      dataType: 'boolean',
      required: true,
    },
    registers: {
      description: 'Hex registers.',
      required: true,
      components: {
        tiny: {
          description: 'int8, scale 0.5, offset 10.',
          unit: 'x',
          dataType: 'number',
          required: true,
          validRange: { min: -20, max: 60.3 },
          encoding: { format: 'hex', type: 'int8', byteOrder: 'big', scale: 0.5, offset: 10 },
        },
        wide: {
          description: 'uint32 little-endian.',
          unit: 'x',
          dataType: 'integer',
          required: true,
          validRange: { min: 1_000, max: 2_000_000 },
          encoding: { format: 'hex', type: 'uint32', byteOrder: 'little', scale: 1, offset: 0 },
        },
        real: {
          description: 'float32.',
          unit: 'x',
          dataType: 'number',
          required: true,
          validRange: { min: 0.1, max: 0.3 },
          encoding: { format: 'hex', type: 'float32', byteOrder: 'big', scale: 1, offset: 0 },
        },
        coded: {
          description: 'Encoded enumeration.',
          unit: 'state',
          dataType: 'integer',
          required: true,
          allowedValues: [
            { value: 3, label: 'three' },
            { value: 250, label: 'high' },
          ],
          encoding: { format: 'hex', type: 'uint8', byteOrder: 'big', scale: 1, offset: 0 },
        },
        spare: {
          description: 'Optional.',
          unit: 'x',
          dataType: 'number',
          required: false,
          validRange: { min: 0, max: 1 },
        },
      },
    },
    extras: {
      description: 'An optional group.',
      required: false,
      components: {
        a: {
          description: 'A.',
          unit: 'x',
          dataType: 'number',
          required: true,
          validRange: { min: 0, max: 1e6 },
        },
        b: { description: 'B.', unit: 'x', dataType: 'boolean', required: false },
      },
    },
  },
};

export const registry = compileRegistry({
  deviceTypes: [...seedRegistry.deviceTypes, SYNTHETIC_TYPE],
  alertRules: seedRegistry.alertRules,
  applications: seedRegistry.applications,
});

export function definitionOf(typeId: string): DeviceType {
  const definition = [...seedRegistry.deviceTypes, SYNTHETIC_TYPE].find((d) => d.typeId === typeId);
  if (!definition) throw new Error(`no device type ${typeId}`);
  return definition;
}

const OPTIONS = { registry, service: 'test', serviceVersion: '0' } as const;

function process(message: Record<string, unknown>, time: number): ProcessOutcome {
  return processMessage(JSON.stringify(message), { receivedAt: time, processedAt: time }, OPTIONS);
}

/** Undefined when the platform enriches the telemetry as GOOD; otherwise what went wrong. */
export function telemetryProblem(
  deviceId: string,
  deviceType: string,
  time: number,
  measurements: Measurements,
): string | undefined {
  const outcome = process(
    {
      device_id: deviceId,
      device_type: deviceType,
      timestamp: new Date(time).toISOString(),
      event_type: 'telemetry',
      measurements,
    },
    time,
  );
  if (outcome.kind !== 'enriched') return `rejected: ${JSON.stringify(outcome.rejection)}`;
  const quality = outcome.message.data_quality;
  if (quality.verdict === 'GOOD') return undefined;
  return `verdict ${quality.verdict} ${JSON.stringify({ reasons: quality.reasons, missing: quality.missing, readings: Object.fromEntries(Object.entries(quality.readings).filter(([, q]) => q.verdict !== 'GOOD')) })}`;
}

/** Undefined when the platform enriches the event; otherwise what went wrong. */
export function eventProblem(
  deviceId: string,
  deviceType: string,
  time: number,
  event: ModelEvent,
): string | undefined {
  const body: Record<string, unknown> = { type: event.type };
  if (event.severity) body.severity = event.severity;
  if (event.message) body.message = event.message;
  if (event.data) body.data = event.data;
  const outcome = process(
    {
      device_id: deviceId,
      device_type: deviceType,
      timestamp: new Date(time).toISOString(),
      event_type: 'event',
      event: body,
    },
    time,
  );
  if (outcome.kind !== 'enriched') return `rejected: ${JSON.stringify(outcome.rejection)}`;
  if (outcome.message.data_quality.verdict !== 'GOOD')
    return `verdict ${outcome.message.data_quality.verdict}`;
  return undefined;
}

export interface Sample {
  readonly time: number;
  readonly step: ModelStep;
}

/** Steps `model` every `intervalMs` from `start` for `count` steps; `before` runs ahead of each step. */
export function run(
  model: DeviceModel,
  start: number,
  intervalMs: number,
  count: number,
  before?: (time: number, index: number) => void,
): Sample[] {
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const time = start + i * intervalMs;
    before?.(time, i);
    samples.push({ time, step: model.step(time) });
  }
  return samples;
}

/** A numeric reading of a sample (`voltage.phase_a`), failing loudly if it is not a number. */
export function num(measurements: Measurements, path: string): number {
  const value = at(measurements, path);
  if (typeof value !== 'number') throw new Error(`${path} is ${JSON.stringify(value)}, not a number`);
  return value;
}

export function at(measurements: Measurements, path: string): Scalar | undefined {
  const [key, component] = path.split('.') as [string, string | undefined];
  const value = measurements[key];
  if (component === undefined) return typeof value === 'object' ? undefined : value;
  return typeof value === 'object' ? value[component] : undefined;
}

/** Pearson correlation. */
export function correlation(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / n;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}
