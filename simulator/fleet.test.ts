import { describe, expect, it } from 'vitest';
import { compileRegistry, processMessage } from '../functions/core/index.js';
import { seedRegistry } from '../registry-data/index.js';
import { SimulatedDevice } from './device.js';
import { Fleet, FleetConfigError } from './fleet.js';
import { linearEnvironmentalModel } from './test-support/linear-model.js';
import { TrendAggregator, trendChannels } from './trends.js';
import type { SimMessage } from './types.js';

const registry = compileRegistry(seedRegistry);
const environmental = seedRegistry.deviceTypes.find((t) => t.typeId === 'environmental_sensor');
if (!environmental) throw new Error('environmental_sensor missing from the seed registry');
const START = Date.parse('2026-11-23T00:00:00.000Z');

const fleetOf = (devices: number, schedule: ConstructorParameters<typeof Fleet>[0]['schedule'], seed = 7) =>
  new Fleet(
    { definitions: [environmental], devices, seed, startTime: START, schedule },
    { createModel: (options) => linearEnvironmentalModel(options) },
  );

const drain = (fleet: Fleet, untilMs: number): SimMessage[] => [...fleet.ticksUntil(START + untilMs)];
const parse = (message: SimMessage) => JSON.parse(message.payload) as Record<string, unknown>;

describe('Fleet', () => {
  it('names devices by type with zero-padded ordinals and publishes on dt/{type}/{id}/{kind}', () => {
    const messages = drain(fleetOf(3, { mode: 'interval', seconds: 10 }), 30_000);

    const ids = new Set(messages.map((m) => m.deviceId));
    expect(ids).toEqual(new Set(['env-00001', 'env-00002', 'env-00003']));
    for (const message of messages) {
      expect(message.topic).toBe(`dt/environmental_sensor/${message.deviceId}/${message.kind}`);
    }
  });

  it('spreads a fixed total rate evenly: 100 devices at 50 msg/s make 500 telemetry messages in 10 s', () => {
    const messages = drain(fleetOf(100, { mode: 'rate', messagesPerSecond: 50 }), 10_000 - 1);

    expect(messages.filter((m) => m.kind === 'telemetry')).toHaveLength(500);
  });

  it('uses the registry update frequency when no interval is given', () => {
    const messages = drain(fleetOf(1, { mode: 'interval' }), 10 * 60_000 - 1);

    // environmental_sensor reports every 30 s: 20 ticks in 10 minutes.
    expect(messages.filter((m) => m.kind === 'telemetry')).toHaveLength(
      600 / environmental.updateFrequencySeconds,
    );
  });

  it('emits messages in time order across devices', () => {
    const times = drain(fleetOf(50, { mode: 'interval', seconds: 7 }), 120_000).map((m) => m.time);

    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const run = (seed: number) =>
      drain(fleetOf(20, { mode: 'interval' }, seed), 300_000).map((m) => m.payload);

    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it('refuses unknown types, duplicate ids and impossible sizes with a message that says why', () => {
    const base = {
      definitions: [environmental],
      seed: 1,
      startTime: START,
      schedule: { mode: 'interval' as const },
    };
    const deps = { createModel: linearEnvironmentalModel };
    expect(() => new Fleet({ ...base, devices: 1, types: ['toaster'] }, deps)).toThrow(
      /unknown device type "toaster"/,
    );
    expect(() => new Fleet({ ...base, devices: 0 }, deps)).toThrow(FleetConfigError);
    expect(() => new Fleet({ ...base, devices: 2, deviceIds: ['a', 'a'] }, deps)).toThrow(/unique/);
  });

  it('builds 10,000 devices in one process', () => {
    const fleet = fleetOf(10_000, { mode: 'rate', messagesPerSecond: 1000 });

    expect(fleet.devices).toHaveLength(10_000);
    expect(drain(fleet, 1000 - 1).filter((m) => m.kind === 'telemetry')).toHaveLength(1000);
  });
});

describe('SimulatedDevice', () => {
  const device = () =>
    new SimulatedDevice({
      deviceId: 'env-1',
      definition: environmental,
      model: linearEnvironmentalModel(
        { deviceId: 'env-1', definition: environmental, random: undefined as never, startTime: START },
        4,
      ),
      startTime: START,
      settings: { trendWindowMs: 5 * 60_000, statusIntervalMs: 10 * 60_000 },
    });

  const run = (minutes: number) => {
    const d = device();
    const messages: SimMessage[] = [];
    for (let t = START; t < START + minutes * 60_000; t += 30_000) messages.push(...d.tick(t));
    return messages;
  };

  it('sends a status message first and then every status interval', () => {
    const statuses = run(30).filter((m) => m.kind === 'status');

    expect(statuses.map((m) => (m.time - START) / 60_000)).toEqual([0, 10, 20]);
    expect(parse(statuses[1] as SimMessage).status).toMatchObject({ online: true, uptime_s: 600 });
  });

  it('closes 5-minute trend windows whose statistics equal the published values', () => {
    const messages = run(16);
    const telemetry = messages.filter((m) => m.kind === 'telemetry').map(parse);
    const trends = messages.filter((m) => m.kind === 'trends').map(parse);

    expect(trends).toHaveLength(3);
    for (const trend of trends) {
      const window = trend.window as { start: string; end: string };
      const inside = telemetry.filter(
        (t) =>
          Date.parse(t.timestamp as string) >= Date.parse(window.start) &&
          Date.parse(t.timestamp as string) < Date.parse(window.end),
      );
      const temperatures = inside.map((t) => (t.measurements as { temperature: number }).temperature);
      const stats = (
        trend.measurements as Record<
          string,
          { avg: number; min: number; max: number; last: number; count: number }
        >
      ).temperature;
      expect(stats).toEqual({
        avg: Math.round((temperatures.reduce((a, b) => a + b, 0) / temperatures.length) * 10_000) / 10_000,
        min: Math.min(...temperatures),
        max: Math.max(...temperatures),
        last: temperatures.at(-1),
        count: temperatures.length,
      });
      expect(Date.parse(window.end) - Date.parse(window.start)).toBe(5 * 60_000);
    }
  });

  it('publishes model events as event messages before the telemetry of the same tick', () => {
    const messages = run(3);
    const firstEvent = messages.findIndex((m) => m.kind === 'event');

    expect(parse(messages[firstEvent] as SimMessage).event).toEqual({
      type: 'tick_event',
      severity: 'info',
      data: { steps: 4 },
    });
    expect(messages[firstEvent + 1]?.kind).toBe('telemetry');
  });

  it('produces only contract-valid messages that the core enriches with GOOD quality', () => {
    for (const message of run(20)) {
      const outcome = processMessage(
        message.payload,
        { receivedAt: message.time, processedAt: message.time, topic: message.topic },
        {
          registry,
          service: 'test',
          serviceVersion: '0',
        },
      );
      expect(outcome.kind === 'enriched' ? outcome.message.data_quality.verdict : outcome.rejection).toBe(
        'GOOD',
      );
    }
  });

  it('registers a last will that says the device is offline', () => {
    const will = device().lastWill(START);

    expect(will.topic).toBe('dt/environmental_sensor/env-1/status');
    expect(parse(will).status).toMatchObject({ online: false });
  });
});

describe('TrendAggregator', () => {
  it('aggregates only continuous readings and counters, not codes or switches', () => {
    const breaker = seedRegistry.deviceTypes.find((t) => t.typeId === 'smart_breaker');
    const channels = [...trendChannels(breaker ?? environmental).keys()];

    expect(channels).toContain('voltage.phase_a');
    expect(channels).toContain('protection.trip_count');
    expect(channels).not.toContain('status.breaker');
    expect(channels).not.toContain('protection.arc_fault_detected');
  });

  it('decodes hex readings before aggregating them', () => {
    const controller = seedRegistry.deviceTypes.find((t) => t.typeId === 'f2_access_controller');
    const aggregator = new TrendAggregator(60_000, trendChannels(controller ?? environmental));
    aggregator.add(START, { rs485: { temperature: '00E6' } });
    aggregator.add(START + 1000, { rs485: { temperature: '00F0' } });

    const window = aggregator.add(START + 60_000, { rs485: { temperature: '00E6' } });

    expect(window?.channels['rs485.temperature']).toEqual({
      avg: 23.5,
      min: 23,
      max: 24,
      last: 24,
      count: 2,
    });
  });

  it('refuses a window shorter than a second', () => {
    expect(() => new TrendAggregator(10, new Map())).toThrow(RangeError);
  });
});
