import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { compileRegistry, type DeviceType, processMessage } from '../functions/core/index.js';
import { seedRegistry } from '../registry-data/index.js';
import { createSimulatedFleet } from './index.js';
import { channelValue, trendChannels } from './trends.js';
import type { Measurements, SimMessage } from './types.js';

const registry = compileRegistry(seedRegistry);
const rawSchema = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '..', 'registry-data', 'schemas', 'raw-message.v1.schema.json'),
    'utf8',
  ),
);
const validateRaw = new Ajv2020({ strict: false }).compile(rawSchema);
const START = Date.parse('2026-11-23T00:00:00.000Z');
const HOURS = 6;

/** Six simulated hours of a fleet with every type, 5-minute trends and 10-minute status, no faults. */
function simulate(): SimMessage[] {
  const fleet = createSimulatedFleet({
    devices: 24,
    seed: 11,
    startTime: START,
    schedule: { mode: 'interval' },
    deviceSettings: { trendWindowMs: 5 * 60_000, statusIntervalMs: 10 * 60_000 },
  });
  return [...fleet.ticksUntil(START + HOURS * 3_600_000)];
}

const messages = simulate();
const parsed = (message: SimMessage) => JSON.parse(message.payload) as Record<string, unknown>;

describe('simulated fleet contract (no faults)', () => {
  it('produces every kind of message for every device type', () => {
    const kinds = new Set(messages.map((m) => `${m.deviceType}/${m.kind}`));

    for (const type of seedRegistry.deviceTypes) {
      for (const kind of ['telemetry', 'trends', 'status']) expect(kinds).toContain(`${type.typeId}/${kind}`);
    }
    expect(kinds).toContain('f2_access_controller/event');
  });

  it('validates every message against the committed raw-message JSON Schema', () => {
    const invalid = messages.filter((m) => !validateRaw(parsed(m))).slice(0, 3);

    expect(invalid.map((m) => ({ payload: m.payload, errors: validateRaw.errors }))).toEqual([]);
  });

  it('gets only GOOD verdicts from the core for every message', () => {
    const notGood: string[] = [];
    for (const message of messages) {
      const outcome = processMessage(
        message.payload,
        { receivedAt: message.time, processedAt: message.time, topic: message.topic },
        { registry, service: 'contract-test', serviceVersion: '0' },
      );
      if (outcome.kind === 'rejected')
        notGood.push(`${message.topic}: ${outcome.rejection.reason} ${outcome.rejection.detail}`);
      else if (outcome.message.data_quality.verdict !== 'GOOD') {
        notGood.push(`${message.topic}: ${JSON.stringify(outcome.message.data_quality)}`);
      }
    }

    expect(notGood.slice(0, 5)).toEqual([]);
  });

  it('publishes trends equal to the aggregates of the telemetry each device published in the window', () => {
    const definitions = new Map<string, DeviceType>(seedRegistry.deviceTypes.map((t) => [t.typeId, t]));
    let windowsChecked = 0;
    for (const trend of messages.filter((m) => m.kind === 'trends')) {
      const body = parsed(trend) as {
        window: { start: string; end: string };
        measurements: Record<string, { avg: number; min: number; max: number; last: number; count: number }>;
      };
      const [start, end] = [Date.parse(body.window.start), Date.parse(body.window.end)];
      const published = messages
        .filter(
          (m) => m.deviceId === trend.deviceId && m.kind === 'telemetry' && m.time >= start && m.time < end,
        )
        .map((m) => parsed(m).measurements as Measurements);
      const channels = trendChannels(definitions.get(trend.deviceType) as DeviceType);
      for (const [path, stats] of Object.entries(body.measurements)) {
        const reading = channels.get(path);
        expect(reading, path).toBeDefined();
        if (!reading) continue;
        const values = published
          .map((m) => channelValue(m, path, reading))
          .filter((v): v is number => v !== undefined);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        expect(stats.count).toBe(values.length);
        expect(stats.min).toBe(Math.min(...values));
        expect(stats.max).toBe(Math.max(...values));
        expect(stats.last).toBe(values.at(-1));
        expect(stats.avg).toBeCloseTo(mean, 3);
      }
      windowsChecked++;
    }

    expect(windowsChecked).toBeGreaterThan(24 * (HOURS * 12 - 2));
  });

  it('keeps each device on its own topics: dt/{type}/{id}/{kind}', () => {
    for (const message of messages) {
      const body = parsed(message);
      expect(message.topic).toBe(`dt/${body.device_type}/${body.device_id}/${body.event_type}`);
    }
  });
});
