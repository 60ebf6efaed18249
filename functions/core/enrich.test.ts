import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import enrichedSchema from '../../registry-data/schemas/enriched-message.v1.schema.json' with {
  type: 'json',
};
import { RawMessage } from './contract/messages.js';
import type { Application } from './contract/registry.js';
import type { DeviceLookup } from './detect.js';
import { buildEnrichmentInfo, enrichmentInfoJson } from './enrich.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { type CompiledRegistry, compileRegistry } from './registry.js';
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
const validateEnriched = new Ajv2020({ strict: false }).compile(enrichedSchema);

interface RunOptions {
  readonly topic?: string;
  readonly lookupDevice?: DeviceLookup;
  readonly receivedAt?: number;
  readonly processedAt?: number;
  readonly registry?: CompiledRegistry;
}

function run(payload: TestMessage | string, options: RunOptions = {}): ProcessOutcome {
  const receivedAt = options.receivedAt ?? RECEIVED_AT;
  return processMessage(
    typeof payload === 'string' ? payload : JSON.stringify(payload),
    { receivedAt, processedAt: options.processedAt ?? PROCESSED_AT, topic: options.topic },
    {
      registry: options.registry ?? registry,
      service: 'enrich',
      serviceVersion: '1.2.3',
      lookupDevice: options.lookupDevice,
    },
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

function schemaErrors(value: unknown) {
  return validateEnriched(value) ? [] : validateEnriched.errors;
}

function compiledType(typeId: string) {
  const type = registry.types.get(typeId);
  if (!type) throw new Error(`no type ${typeId}`);
  return type;
}

const withIssues = () =>
  breakerTelemetry({
    timestamp: 'yesterday',
    measurements: {
      frequency: undefined,
      voltage: { phase_a: 9999, phase_d: 120 },
      current: { phase_b: null },
      status: { breaker: 7 },
      operational: 'unknown',
      lux: 300,
    },
  });

/** Every kind of message, with what it must be detected as. */
const EVERY_KIND: readonly [string, () => TestMessage, RunOptions][] = [
  ['breaker telemetry', () => breakerTelemetry(), {}],
  ['meter telemetry', () => meterTelemetry(), {}],
  ['environmental telemetry', () => environmentalTelemetry(), {}],
  ['F2 controller telemetry', () => accessControllerTelemetry(), {}],
  ['breaker trends', () => breakerTrends(), {}],
  ['status', () => statusMessage(), {}],
  ['event', () => eventMessage(), {}],
  ['telemetry with quality issues', withIssues, {}],
  [
    'telemetry typed by its topic',
    () => environmentalTelemetry({ device_type: undefined }),
    { topic: topicFor('environmental_sensor', ENVIRONMENTAL_ID) },
  ],
  [
    'telemetry with a device record',
    () => breakerTelemetry(),
    { lookupDevice: () => ({ deviceType: 'smart_breaker', manufacturer: 'ElectroCorp', model: 'SB-3000' }) },
  ],
];

describe('contract', () => {
  it.each(EVERY_KIND)(
    'emits %s that validates against the enriched-message JSON Schema',
    (_name, build, options) => {
      // Prepare
      const message = build();

      // Act
      const outcome = enriched(run(message, options));

      // Assess
      expect(schemaErrors(JSON.parse(outcome.json))).toEqual([]);
    },
  );

  it.each(EVERY_KIND)('emits %s whose JSON parses to the enriched message', (_name, build, options) => {
    // Prepare
    const message = build();

    // Act
    const outcome = enriched(run(message, options));

    // Assess
    expect(JSON.parse(outcome.json)).toStrictEqual(outcome.message);
  });

  it('emits valid JSON equal to the message for a pretty-printed payload without a device_type', () => {
    // Prepare
    const payload = `${JSON.stringify(environmentalTelemetry({ device_type: undefined }), null, 2)}\n\n`;

    // Act
    const outcome = enriched(run(payload, { topic: topicFor('environmental_sensor', ENVIRONMENTAL_ID) }));

    // Assess
    expect(JSON.parse(outcome.json)).toStrictEqual(outcome.message);
  });

  it('emits valid JSON equal to the message when the device id comes from the topic', () => {
    // Prepare
    const message = breakerTelemetry({ device_id: undefined });

    // Act
    const outcome = enriched(run(message, { topic: topicFor('smart_breaker', BREAKER_ID) }));

    // Assess
    expect(JSON.parse(outcome.json)).toStrictEqual(outcome.message);
    expect(outcome.message.device_id).toBe(BREAKER_ID);
  });
});

describe('raw fields', () => {
  it.each(EVERY_KIND)('keeps every raw field of %s unchanged', (_name, build, options) => {
    // Prepare
    const message = build();
    const expected = { ...message, timestamp: undefined };

    // Act
    const output = JSON.parse(enriched(run(message, options)).json);

    // Assess: the timestamp is compared apart, an unusable one is replaced by design.
    for (const [key, value] of Object.entries(expected)) {
      if (value !== undefined) expect(output[key], key).toStrictEqual(value);
    }
  });

  it('keeps a usable timestamp unchanged', () => {
    // Prepare
    const message = meterTelemetry({ timestamp: '2026-11-23T11:00:00.123+01:00' });

    // Act
    const output = JSON.parse(enriched(run(message)).json);

    // Assess
    expect(output.timestamp).toBe('2026-11-23T11:00:00.123+01:00');
  });

  it('adds device_type when the payload has none', () => {
    // Prepare
    const message = environmentalTelemetry({ device_type: undefined });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(JSON.parse(outcome.json).device_type).toBe('environmental_sensor');
    expect(outcome.message.device_type).toBe('environmental_sensor');
  });

  it('replaces an unusable timestamp with the receive time', () => {
    // Prepare
    const message = meterTelemetry({ timestamp: 'yesterday' });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.timestamp).toBe(new Date(RECEIVED_AT).toISOString());
    expect(outcome.message.enrichment_info.original_timestamp).toBe('yesterday');
  });
});

describe('measurement_metadata', () => {
  it('holds metadata for exactly the readings present', () => {
    // Prepare
    const message = environmentalTelemetry({ measurements: { battery: undefined } });
    const type = compiledType('environmental_sensor');

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.measurement_metadata).toStrictEqual({
      temperature: type.readings.get('temperature')?.metadata,
      humidity: type.readings.get('humidity')?.metadata,
      pressure: type.readings.get('pressure')?.metadata,
    });
  });

  it('describes unit, data type, description and valid range of a reading', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.measurement_metadata['voltage.phase_a']).toEqual({
      unit: 'V',
      data_type: 'number',
      description: 'Phase A phase-to-neutral voltage (RMS).',
      valid_range: { min: 0, max: 150 },
    });
  });

  it('holds no metadata for an unknown measurement', () => {
    // Prepare
    const message = environmentalTelemetry({ measurements: { lux: 300 } });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(Object.keys(outcome.message.measurement_metadata)).toEqual([
      'temperature',
      'humidity',
      'pressure',
      'battery',
    ]);
  });

  it('holds metadata for exactly the channels of a trends message', () => {
    // Prepare
    const message = breakerTrends();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(Object.keys(outcome.message.measurement_metadata)).toEqual(
      Object.keys(message.measurements as Record<string, unknown>),
    );
  });

  it('is empty for a status message', () => {
    // Prepare
    const message = statusMessage();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.measurement_metadata).toEqual({});
    expect(JSON.parse(outcome.json).measurement_metadata).toEqual({});
  });
});

describe('application_registry', () => {
  const PUBLIC_FIELDS = ['application_id', 'category', 'developer', 'name', 'platform', 'version'];
  const seedApp = seedRegistry.applications[0] as Application;
  const app = (overrides: Partial<Application> & Record<string, unknown>): Application =>
    ({ ...seedApp, ...overrides }) as Application;
  const extended = compileRegistry({
    ...seedRegistry,
    applications: [
      ...seedRegistry.applications,
      app({ applicationId: '00000000-0000-4000-8000-000000000001', name: 'Breaker Beta', status: 'pending' }),
      app({
        applicationId: '00000000-0000-4000-8000-000000000002',
        name: 'Breaker Legacy',
        status: 'inactive',
      }),
      app({
        applicationId: '00000000-0000-4000-8000-000000000003',
        name: 'Breaker Pro Only',
        deviceTypes: ['smart_breaker_pro'],
      }),
      app({
        applicationId: '00000000-0000-4000-8000-000000000004',
        name: 'Across Types',
        deviceTypes: ['smart_meter', 'smart_breaker'],
        apiKey: 'sk-live-0123456789',
      }),
    ],
  });

  it('lists the active applications registered for the type', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const outcome = enriched(run(message, { registry: extended }));

    // Assess
    const block = outcome.message.application_registry;
    expect(block.device_type).toBe('smart_breaker');
    expect(block.applications.map((entry) => entry.name)).toEqual(['Across Types', 'Smart Grid Monitor']);
    expect(block.count).toBe(2);
  });

  it('lists the seed registry application of the type with its public fields', () => {
    // Prepare
    const message = meterTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.application_registry).toEqual({
      device_type: 'smart_meter',
      count: 1,
      applications: [
        {
          application_id: '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d',
          name: 'Energy Analytics',
          version: '2.1.0',
          developer: 'Energy Corp',
          category: 'analytics',
          platform: 'mobile',
        },
      ],
    });
  });

  it('gives each application only its public fields', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const outcome = enriched(run(message, { registry: extended }));

    // Assess
    for (const entry of JSON.parse(outcome.json).application_registry.applications) {
      expect(Object.keys(entry).sort()).toEqual(PUBLIC_FIELDS);
    }
  });

  it('leaks no contact e-mail, key or status into the JSON text', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const { json } = enriched(run(message, { registry: extended }));

    // Assess
    expect(json).not.toMatch(/contactEmail|contact_email|@example\.com/);
    expect(json).not.toMatch(/apiKey|api_key|sk-live-0123456789/i);
    expect(json).not.toMatch(/"status":"(active|inactive|pending)"|createdAt|updatedAt|deviceTypes/);
  });
});

describe('enrichment_info', () => {
  it('stamps enriched_at and received_at in UTC with milliseconds', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const info = enriched(run(message)).message.enrichment_info;

    // Assess
    expect(info.enriched_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(info.enriched_at).toBe(new Date(PROCESSED_AT).toISOString());
    expect(info.received_at).toBe(new Date(RECEIVED_AT).toISOString());
  });

  it('stamps the service, contract version 1 and the registry version of the type', () => {
    // Prepare
    const definition = seedRegistry.deviceTypes.find((type) => type.typeId === 'smart_meter');

    // Act
    const info = enriched(run(meterTelemetry())).message.enrichment_info;

    // Assess
    expect(info).toMatchObject({
      service: 'enrich',
      service_version: '1.2.3',
      contract_version: '1',
      registry_version: `smart_meter@${definition?.version}`,
    });
  });

  it("uses the device's own message_id when it sends one", () => {
    // Prepare
    const message = breakerTelemetry({ message_id: 'breaker-001:seq:4711' });

    // Act
    const info = enriched(run(message)).message.enrichment_info;

    // Assess
    expect(info.message_id).toBe('breaker-001:seq:4711');
  });

  it('derives the same message_id for a redelivery of a message without one', () => {
    // Prepare
    const message = breakerTelemetry();

    // Act
    const first = enriched(run(message)).message.enrichment_info.message_id;
    const redelivered = enriched(
      run(message, { receivedAt: RECEIVED_AT + 30_000, processedAt: PROCESSED_AT + 30_000 }),
    ).message.enrichment_info.message_id;

    // Assess
    expect(redelivered).toBe(first);
  });

  it('derives different message_ids for readings at different times', () => {
    // Prepare
    const later = breakerTelemetry({ timestamp: '2026-11-23T10:00:05.000Z' });

    // Act
    const first = enriched(run(breakerTelemetry())).message.enrichment_info.message_id;
    const second = enriched(run(later)).message.enrichment_info.message_id;

    // Assess
    expect(second).not.toBe(first);
  });

  it('derives different message_ids for a telemetry and a status message at the same time', () => {
    // Act
    const telemetry = enriched(run(breakerTelemetry())).message.enrichment_info.message_id;
    const status = enriched(run(statusMessage())).message.enrichment_info.message_id;

    // Assess
    expect(status).not.toBe(telemetry);
  });

  it('serialises with enrichmentInfoJson exactly as JSON.stringify, with every optional field', () => {
    // Prepare
    const info = buildEnrichmentInfo({
      message: RawMessage.parse(breakerTelemetry()),
      type: compiledType('smart_breaker'),
      method: 'measurement_match',
      score: 0.875,
      declaredType: 'say "hi" \\ there',
      originalTimestamp: '"23/11" \\ 10:00\n',
      receivedAt: RECEIVED_AT,
      processedAt: PROCESSED_AT,
      service: 'enrich "edge"',
      serviceVersion: '1.0.0\\beta',
    });

    // Act
    const json = enrichmentInfoJson(info);

    // Assess
    expect(json).toBe(JSON.stringify(info));
  });

  it('serialises with enrichmentInfoJson exactly as JSON.stringify, with no optional field', () => {
    // Prepare
    const info = buildEnrichmentInfo({
      message: RawMessage.parse(breakerTelemetry({ message_id: 'm-1' })),
      type: compiledType('smart_breaker'),
      method: 'payload',
      receivedAt: RECEIVED_AT,
      processedAt: PROCESSED_AT,
      service: 'enrich',
      serviceVersion: '1.2.3',
    });

    // Act
    const json = enrichmentInfoJson(info);

    // Assess
    expect(json).toBe(JSON.stringify(info));
  });

  it('keeps an unusable timestamp with quotes and backslashes as original_timestamp in valid JSON', () => {
    // Prepare
    const message = environmentalTelemetry({ timestamp: 'at "10:00" \\ local' });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(JSON.parse(outcome.json).enrichment_info.original_timestamp).toBe('at "10:00" \\ local');
  });
});

describe('device_metadata', () => {
  it('adds manufacturer, model and location from the device record', () => {
    // Prepare
    const lookupDevice: DeviceLookup = () => ({
      deviceType: 'smart_breaker',
      manufacturer: 'ElectroCorp',
      model: 'SB-3000',
      location: 'Plant 1 / Panel "A"',
    });

    // Act
    const outcome = enriched(run(breakerTelemetry(), { lookupDevice }));

    // Assess
    expect(JSON.parse(outcome.json).device_metadata).toMatchObject({
      device_type: 'smart_breaker',
      manufacturer: 'ElectroCorp',
      model: 'SB-3000',
      location: 'Plant 1 / Panel "A"',
    });
  });

  it('leaves the shared type block without device record fields', () => {
    // Prepare
    const lookupDevice: DeviceLookup = () => ({ deviceType: 'smart_breaker', manufacturer: 'ElectroCorp' });
    enriched(run(breakerTelemetry(), { lookupDevice }));

    // Act
    const outcome = enriched(run(breakerTelemetry()));

    // Assess
    expect(outcome.message.device_metadata).not.toHaveProperty('manufacturer');
    expect(outcome.message.device_metadata).toBe(compiledType('smart_breaker').deviceMetadata);
  });

  it('describes the type from the registry', () => {
    // Prepare
    const definition = seedRegistry.deviceTypes.find((type) => type.typeId === 'environmental_sensor');

    // Act
    const outcome = enriched(run(environmentalTelemetry()));

    // Assess
    expect(outcome.message.device_metadata).toStrictEqual({
      device_type: 'environmental_sensor',
      name: definition?.name,
      description: definition?.description,
      category: definition?.category,
      capabilities: definition?.capabilities,
      data_format: 'json',
      update_frequency_s: definition?.updateFrequencySeconds,
      retention_days: definition?.retentionDays,
      type_version: definition?.version,
    });
  });
});

describe('shared blocks', () => {
  it('refuses a change to the shared device_metadata', () => {
    // Prepare
    const metadata = enriched(run(breakerTelemetry())).message.device_metadata;

    // Act
    const change = () => {
      metadata.name = 'Hijacked';
    };

    // Assess
    expect(change).toThrow(TypeError);
  });

  it('keeps another message unaffected by an attempt to change a shared block', () => {
    // Prepare
    const first = enriched(run(breakerTelemetry())).message;
    try {
      first.device_metadata.capabilities.push('hijacked');
      first.application_registry.applications.length = 0;
    } catch {
      // Expected: the blocks are frozen.
    }

    // Act
    const second = enriched(run(breakerTelemetry({ timestamp: '2026-11-23T10:00:05.000Z' })));

    // Assess
    expect(second.message.device_metadata.capabilities).not.toContain('hijacked');
    expect(second.message.application_registry.applications).toHaveLength(1);
    expect(JSON.parse(second.json).application_registry.applications).toHaveLength(1);
  });

  it('refuses a change to shared measurement metadata', () => {
    // Prepare
    const metadata = enriched(run(environmentalTelemetry())).message.measurement_metadata;

    // Act
    const change = () => {
      const temperature = metadata.temperature;
      if (temperature) temperature.unit = 'K';
    };

    // Assess
    expect(change).toThrow(TypeError);
  });

  it('keeps the shared type block unaffected by a change to a device-record copy', () => {
    // Prepare
    const lookupDevice: DeviceLookup = () => ({ deviceType: 'smart_breaker', location: 'Panel 7' });
    const copy = enriched(run(breakerTelemetry(), { lookupDevice })).message.device_metadata;
    try {
      copy.name = 'Hijacked';
      copy.capabilities.push('hijacked');
    } catch {
      // Either refusal or a private copy is fine.
    }

    // Act
    const other = enriched(run(breakerTelemetry())).message.device_metadata;

    // Assess
    expect(other.name).toBe('Smart Circuit Breaker');
    expect(other.capabilities).not.toContain('hijacked');
  });

  it('keeps another message unaffected by an attempt to change its measurement_metadata or data_quality', () => {
    // Prepare
    const first = enriched(run(environmentalTelemetry())).message;
    try {
      delete first.measurement_metadata.humidity;
      first.measurement_metadata.lux = { unit: 'lx', data_type: 'number', description: 'Injected.' };
      delete first.data_quality.readings.humidity;
    } catch {
      // Either refusal or a private copy is fine.
    }

    // Act
    const second = enriched(run(environmentalTelemetry())).message;

    // Assess
    expect(Object.keys(second.measurement_metadata)).toEqual([
      'temperature',
      'humidity',
      'pressure',
      'battery',
    ]);
    expect(Object.keys(second.data_quality.readings)).toEqual([
      'temperature',
      'humidity',
      'pressure',
      'battery',
    ]);
  });
});
