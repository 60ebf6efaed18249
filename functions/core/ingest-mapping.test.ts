import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { IngestMappingInput } from './contract/ingest-mapping.js';
import { EnrichedMessage } from './contract/messages.js';
import { RegistryError } from './errors.js';
import {
  applyMapping,
  compileMappings,
  mappingTopicFilters,
  selectMapping,
  zoneNaiveTime,
} from './ingest-mapping.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import { prototypeMessages } from './test-support/prototype-messages.js';

const NOW = Date.parse('2026-12-06T10:00:00.000Z');

const mapping = (
  overrides: Partial<IngestMappingInput> & Pick<IngestMappingInput, 'steps'>,
): IngestMappingInput => ({
  mappingId: 'test-mapping',
  name: 'Test mapping',
  description: 'A mapping under test.',
  version: 3,
  match: { topic: 'x/{deviceId}/{kind}' },
  ...overrides,
});

/** Applies one mapping to a payload on a topic; the mapped payload, or undefined when not selected. */
function mapOne(definition: IngestMappingInput, topic: string, payload: Record<string, unknown>) {
  const compiled = compileMappings([definition]);
  const selected = selectMapping(compiled, topic, payload);
  if (!selected) return undefined;
  const outcome = applyMapping(selected, payload);
  return outcome.ok ? payload : outcome.rejection;
}

const registryWith = (...mappings: IngestMappingInput[]) =>
  compileRegistry({ ...seedRegistry, ingestMappings: mappings });

const run = (
  registry: ReturnType<typeof compileRegistry>,
  topic: string | undefined,
  payload: unknown,
): ProcessOutcome =>
  processMessage(
    JSON.stringify(payload),
    { receivedAt: NOW + 100, processedAt: NOW + 120, ...(topic ? { topic } : {}) },
    { registry, service: 'test', serviceVersion: '0' },
  );

const enriched = (outcome: ProcessOutcome) => {
  if (outcome.kind !== 'enriched') throw new Error(`rejected: ${JSON.stringify(outcome.rejection)}`);
  // biome-ignore lint/suspicious/noExplicitAny: the test reads deep fields of the parsed JSON freely
  return JSON.parse(outcome.json) as Record<string, any>;
};

describe('selection', () => {
  it('binds named topic segments and passes over topics of another shape', () => {
    const definition = mapping({ steps: [{ op: 'move', fromTopic: 'kind', to: 'tags.kind' }] });

    expect(mapOne(definition, 'x/dev-1/raw', {})).toEqual({ device_id: 'dev-1', tags: { kind: 'raw' } });
    expect(mapOne(definition, 'x/dev-1/raw/extra', {})).toBeUndefined();
    expect(mapOne(definition, 'y/dev-1/raw', {})).toBeUndefined();
  });

  it('selects by payload shape where the topic does not tell', () => {
    const flat = mapping({
      mappingId: 'flat',
      match: { topic: 'x/{deviceId}/{kind}', payload: { absent: ['measurements'], has: ['temperature'] } },
      steps: [{ op: 'move', from: 'temperature', to: 'measurements.temperature' }],
    });
    const compiled = compileMappings([flat]);

    expect(selectMapping(compiled, 'x/d/t', { temperature: 1 })?.mapping.info.mapping_id).toBe('flat');
    expect(selectMapping(compiled, 'x/d/t', { measurements: {}, temperature: 1 })).toBeUndefined();
    expect(selectMapping(compiled, 'x/d/t', { humidity: 1 })).toBeUndefined();
  });

  it('tries the more specific filter first, and a shaped mapping before an unshaped one', () => {
    const general = mapping({ mappingId: 'general', match: { topic: '+/{deviceId}/raw' }, steps: [] });
    const literal = mapping({ mappingId: 'literal', match: { topic: 'iot/{deviceId}/raw' }, steps: [] });
    const shaped = mapping({
      mappingId: 'shaped',
      match: { topic: 'iot/{deviceId}/raw', payload: { equals: { kind: 'x' } } },
      steps: [],
    });
    const compiled = compileMappings([general, literal, shaped]);

    expect(selectMapping(compiled, 'iot/d/raw', { kind: 'x' })?.mapping.info.mapping_id).toBe('shaped');
    expect(selectMapping(compiled, 'iot/d/raw', {})?.mapping.info.mapping_id).toBe('literal');
    expect(selectMapping(compiled, 'abc/d/raw', {})?.mapping.info.mapping_id).toBe('general');
  });

  it('refuses a step that reads a segment the filter does not name', () => {
    const bad = mapping({ steps: [{ op: 'move', fromTopic: 'component', to: 'x' }] });

    expect(() => compileMappings([bad])).toThrow(RegistryError);
    expect(() => compileMappings([bad])).toThrow(/component/);
  });

  it('judges a mapping that names an unregistered type like a message that declares one', () => {
    const registry = registryWith(mapping({ deviceType: 'no_such_type', steps: [] }));

    const outcome = run(registry, 'x/dev-1/telemetry', {
      timestamp: new Date(NOW).toISOString(),
      event_type: 'status',
      status: { online: true },
    });

    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { reason: 'UNKNOWN_DEVICE_TYPE' } });
  });

  it('gives the topic filters in MQTT form for routing and rules', () => {
    expect(mappingTopicFilters(seedRegistry.ingestMappings)).toEqual([
      'cmnd/+/+/+/+',
      'dt/environmental_sensor/+/telemetry',
      'iot/+/raw',
      'iot/+/status',
      'iot/+/trends',
    ]);
  });
});

describe('steps', () => {
  it('moves and renames fields, from the payload, a topic segment or a constant', () => {
    const definition = mapping({
      steps: [
        { op: 'move', from: 'temp', to: 'measurements.temperature' },
        { op: 'move', fromTopic: 'kind', to: 'tags.kind' },
        { op: 'move', value: 'telemetry', to: 'event_type' },
      ],
    });

    expect(mapOne(definition, 'x/d-1/raw', { temp: 21.5 })).toEqual({
      device_id: 'd-1',
      measurements: { temperature: 21.5 },
      tags: { kind: 'raw' },
      event_type: 'telemetry',
    });
  });

  it('unwraps {value, unit} and declares a group unit for the group', () => {
    const definition = mapping({ steps: [{ op: 'unwrapUnits', at: 'measurements' }] });

    const mapped = mapOne(definition, 'x/d/raw', {
      measurements: { temperature: { value: 34.9, unit: '°F' }, voltage: { phase_a: 117, unit: 'V' } },
    });

    expect(mapped).toMatchObject({
      measurements: { temperature: 34.9, voltage: { phase_a: 117 } },
      units: { temperature: '°F', voltage: 'V' },
    });
  });

  it('reads decimal strings as numbers and leaves other strings alone', () => {
    const definition = mapping({ steps: [{ op: 'numbers', at: 'measurements' }] });

    expect(
      mapOne(definition, 'x/d/raw', { measurements: { a: '52.36', b: { c: '-1e3', d: 'OK' }, e: '0x1F' } }),
    ).toMatchObject({ measurements: { a: 52.36, b: { c: -1000, d: 'OK' }, e: '0x1F' } });
  });

  it.each([
    ['2025-08-19T17:40:37.594176', 'UTC', '2025-08-19T17:40:37.594176Z'],
    ['2025-08-19T17:40:37', '+02:00', '2025-08-19T17:40:37+02:00'],
    ['2025-07-01T12:00:00', 'Europe/Paris', '2025-07-01T12:00:00+02:00'],
    ['2025-01-01T12:00:00.5', 'Europe/Paris', '2025-01-01T12:00:00.5+01:00'],
    ['2025-01-01T12:00:00', 'America/New_York', '2025-01-01T12:00:00-05:00'],
  ])('takes the naive time %s in zone %s', (naive, zone, expected) => {
    expect(zoneNaiveTime(naive, zone)).toBe(expected);
  });

  it.each([
    ['epoch_s', 1755625237, '2025-08-19T17:40:37.000Z'],
    ['epoch_s', '1755625237.427', '2025-08-19T17:40:37.427Z'],
    ['epoch_ms', 1755625237427, '2025-08-19T17:40:37.427Z'],
  ] as const)('reads %s %s', (format, value, expected) => {
    const definition = mapping({ steps: [{ op: 'timestamp', at: 'timestamp', format }] });

    expect(mapOne(definition, 'x/d/raw', { timestamp: value })).toMatchObject({ timestamp: expected });
  });

  it('leaves a time it cannot read for the envelope to judge', () => {
    const definition = mapping({ steps: [{ op: 'timestamp', at: 'timestamp', format: 'epoch_s' }] });

    expect(mapOne(definition, 'x/d/raw', { timestamp: 'yesterday' })).toMatchObject({
      timestamp: 'yesterday',
    });
  });

  it('turns channel arrays into the trends window form, by name and by numeric id', () => {
    const definition = mapping({
      steps: [
        {
          op: 'channels',
          from: 'trends',
          channelKey: 'c',
          stats: { last: 'v', avg: 'avg', min: 'min', max: 'max' },
          channels: { voltage_phase_a: 'voltage.phase_a', '1004': 'current.phase_a' },
          window: { endAt: 'timestamp', seconds: 300 },
          count: 60,
        },
      ],
    });

    const mapped = mapOne(definition, 'x/d/trends', {
      timestamp: '2025-08-19T17:40:00Z',
      trends: [
        { c: 'voltage_phase_a', v: 117.27, avg: 118.5, min: 115.2, max: 122.1, t: 1 },
        { c: '1004', v: '52.36', avg: '50.4', min: '48.8', max: '55.88', t: 2 },
      ],
    });

    expect(mapped).toEqual({
      device_id: 'd',
      timestamp: '2025-08-19T17:40:00Z',
      window: { start: '2025-08-19T17:35:00.000Z', end: '2025-08-19T17:40:00.000Z' },
      measurements: {
        'voltage.phase_a': { avg: 118.5, min: 115.2, max: 122.1, last: 117.27, count: 60 },
        'current.phase_a': { avg: 50.4, min: 48.8, max: 55.88, last: 52.36, count: 60 },
      },
    });
  });

  it("merges a one-component message into the type's group, renaming its keys", () => {
    const definition = mapping({
      match: { topic: 'cmnd/{deviceId}/{mode}/{connector}/{component}' },
      steps: [
        {
          op: 'component',
          fromTopic: 'component',
          components: { 'door-sensors': { group: 'door_sensors', keys: { 'door-sensor-1': 'door_1' } } },
        },
      ],
    });

    const mapped = mapOne(definition, 'cmnd/f2-1/mode/J1/door-sensors', {
      timestamp: 'T',
      'door-sensor-1': false,
      'Door-Sensor-9': true,
    });

    expect(mapped).toEqual({
      device_id: 'f2-1',
      timestamp: 'T',
      measurements: { door_sensors: { door_1: false, door_sensor_9: true } },
    });
  });

  it('drops declared extra fields and converts a field between units', () => {
    const definition = mapping({
      steps: [
        { op: 'convert', at: 'status.uptime_hours', from: 'h', to: 's' },
        { op: 'drop', paths: ['status.last_telemetry', 'a'] },
      ],
    });

    expect(
      mapOne(definition, 'x/d/status', { a: 'Trends', status: { uptime_hours: 12.5, last_telemetry: 1 } }),
    ).toEqual({ device_id: 'd', status: { uptime_hours: 45_000 } });
  });

  it('rejects a device id that contradicts the topic', () => {
    const definition = mapping({ steps: [] });

    expect(mapOne(definition, 'x/dev-1/raw', { device_id: 'dev-2' })).toMatchObject({
      reason: 'DEVICE_ID_MISMATCH',
      deviceId: 'dev-1',
    });
  });
});

describe('units as data', () => {
  const registry = compileRegistry(seedRegistry);
  const sensor = (measurements: Record<string, unknown>, units: Record<string, string>) => ({
    device_id: 'env-1',
    device_type: 'environmental_sensor',
    timestamp: new Date(NOW).toISOString(),
    event_type: 'telemetry',
    measurements: { temperature: 20, humidity: 40, pressure: 1000, ...measurements },
    units,
  });

  it.each([
    ['temperature', 68, '°F', 20],
    ['temperature', 300, 'K', 26.85],
    ['pressure', 101.3, 'kPa', 1013],
    ['temperature', 20, '°C', undefined],
  ])('converts %s %s %s to the registry unit', (path, value, unit, expected) => {
    const message = enriched(run(registry, undefined, sensor({ [path]: value }, { [path]: unit })));

    expect(message.data_quality.readings[path].verdict).toBe('GOOD');
    if (expected === undefined) {
      expect(message.data_quality.readings[path].converted_from).toBeUndefined();
      return;
    }
    expect(message.decoded[path]).toBeCloseTo(expected, 9);
    expect(message.data_quality.readings[path].converted_from).toEqual({ value, unit });
    expect(message.measurements[path]).toBe(value);
  });

  it('judges the converted value against the valid range', () => {
    const message = enriched(run(registry, undefined, sensor({ temperature: 400 }, { temperature: 'K' })));

    expect(message.data_quality.readings.temperature).toMatchObject({
      verdict: 'BAD',
      reasons: ['OUT_OF_RANGE'],
    });
  });

  it.each([
    ['an unknown unit', 'furlongs'],
    ['an incompatible unit', 'kW'],
  ])('flags %s as UNIT_MISMATCH and keeps it out of the time series', (_label, unit) => {
    const message = enriched(run(registry, undefined, sensor({}, { temperature: unit })));

    expect(message.data_quality.readings.temperature).toEqual({ verdict: 'BAD', reasons: ['UNIT_MISMATCH'] });
    expect(message.data_quality.verdict).toBe('BAD');
    expect(message.decoded?.temperature).toBeUndefined();
  });

  /** The IoT Cloud prototype's telemetry of breaker brk-9 on its own topic, `measurements` replaced in part. */
  const prototypeTelemetryWith = (measurements: Record<string, unknown>) =>
    enriched(
      run(registry, 'iot/brk-9/raw', {
        ...prototypeMessages(NOW)[0]?.payload,
        device_id: 'brk-9',
        measurements: { ...(prototypeMessages(NOW)[0]?.payload.measurements as object), ...measurements },
      }),
    );

  it.each([
    ['kW', 1.5, 'active', 1500],
    ['mA', 250, 'phase_a', 0.25],
  ])('converts group units (%s) on the components they fit only', (unit, value, component, expected) => {
    const group = unit === 'kW' ? 'power' : 'current';
    const breaker = prototypeTelemetryWith({
      [group]:
        group === 'power'
          ? { active: value, reactive: 1945.16, apparent: 6094.73, factor: 0.948, unit }
          : { phase_a: value, phase_b: value, phase_c: value, unit },
    });

    expect(breaker.decoded[`${group}.${component}`]).toBeCloseTo(expected, 9);
    expect(breaker.data_quality.readings[`${group}.${component}`].converted_from).toEqual({ value, unit });
    if (group === 'power') {
      // var, VA and the power factor are other measures: a kW group unit says nothing about them.
      expect(breaker.data_quality.readings['power.reactive']).toEqual({ verdict: 'GOOD' });
      expect(breaker.data_quality.readings['power.factor']).toEqual({ verdict: 'GOOD' });
    }
  });

  it('flags a group unit that fits none of the group as UNIT_MISMATCH (A on a voltage group)', () => {
    // Found by the outside test (s8): a known unit of the wrong measure on a group was ignored, so
    // volts sent as amperes were stored as volts, GOOD, where an unknown unit is flagged.
    const breaker = prototypeTelemetryWith({
      voltage: { phase_a: 117.27, phase_b: 117.34, phase_c: 118.52, unit: 'A' },
    });

    for (const phase of ['phase_a', 'phase_b', 'phase_c']) {
      expect(breaker.data_quality.readings[`voltage.${phase}`]).toEqual({
        verdict: 'BAD',
        reasons: ['UNIT_MISMATCH'],
      });
    }
    expect(breaker.data_quality.verdict).toBe('BAD');
  });

  it('converts Wh to kWh for a meter reading', () => {
    const meter = seedRegistry.deviceTypes.find((t) => t.typeId === 'smart_meter');
    const energyKey = Object.entries(meter?.measurements ?? {}).find(
      ([, m]) => 'unit' in m && m.unit === 'kWh',
    )?.[0];
    if (!energyKey) return expect.fail('the smart meter has no kWh reading');
    const message = enriched(
      run(registry, undefined, {
        device_id: 'm-1',
        device_type: 'smart_meter',
        timestamp: new Date(NOW).toISOString(),
        event_type: 'telemetry',
        measurements: { [energyKey]: 1500 },
        units: { [energyKey]: 'Wh' },
      }),
    );

    expect(message.decoded[energyKey]).toBe(1.5);
  });

  it('gives the same enriched message for a redelivered message', () => {
    const payload = sensor({ temperature: 68 }, { temperature: '°F' });

    const first = run(registry, undefined, payload);
    const second = run(registry, undefined, payload);

    expect(enriched(second)).toEqual(enriched(first));
  });
});

describe('prototype messages through the core', () => {
  const registry = compileRegistry(seedRegistry);

  it.each(prototypeMessages(NOW).map((m) => [m.name, m] as const))(
    '%s is enriched with its readings GOOD and records its mapping',
    (_name, prototype) => {
      const outcome = run(registry, prototype.topic, structuredClone(prototype.payload));
      const message = enriched(outcome);

      expect(EnrichedMessage.safeParse(message).success).toBe(true);
      for (const [path, quality] of Object.entries(message.data_quality.readings)) {
        expect({ path, quality }).toEqual({ path, quality: expect.objectContaining({ verdict: 'GOOD' }) });
      }
      expect(message.enrichment_info.mapping).toMatchObject({ version: 1 });
      expect(message.enrichment_info.original_timestamp).toBeUndefined();
    },
  );

  it("flags 003's absent pressure as MISSING_REQUIRED", () => {
    const generator = prototypeMessages(NOW)[3];
    const message = enriched(run(registry, generator?.topic, generator?.payload));

    expect(message.data_quality.reasons).toEqual(['MISSING_REQUIRED']);
    expect(message.data_quality.missing).toEqual(['pressure']);
  });

  it('leaves contract messages on a mapped topic to the contract', () => {
    const message = {
      device_id: 'sensor-1',
      timestamp: new Date(NOW).toISOString(),
      event_type: 'telemetry',
      measurements: { temperature: 20, humidity: 40, pressure: 1000 },
    };
    const outcome = enriched(run(registry, 'dt/environmental_sensor/sensor-1/telemetry', message));

    expect(outcome.enrichment_info.mapping).toBeUndefined();
  });

  it("treats the Kafka debug simulator's flat phase values as WRONG_TYPE: one number names no phase", () => {
    const flat = {
      device_id: 'breaker-001',
      device_type: 'smart_breaker',
      timestamp: '2025-08-19T17:40:37.594176',
      event_type: 'telemetry',
      measurements: { voltage: 119.05, current: 55.98, power: 11469.47, temperature: 47.94 },
    };
    const message = enriched(run(registry, 'iot/breaker-001/raw', flat));

    expect(message.data_quality.readings.voltage).toEqual({ verdict: 'BAD', reasons: ['WRONG_TYPE'] });
    expect(message.data_quality.readings.temperature).toEqual({ verdict: 'GOOD' });
  });

  it('names the mapping in a rejection of what it produced', () => {
    const outcome = run(registry, 'iot/breaker-001/trends', { timestamp: 'x', trends: 'none' });

    expect(outcome.kind).toBe('rejected');
    if (outcome.kind !== 'rejected') return;
    expect(outcome.mapping?.mapping_id).toBe('iot-cloud-trends');
    expect(outcome.rejection.detail).toMatch(/after ingest mapping iot-cloud-trends@1/);
  });
});
