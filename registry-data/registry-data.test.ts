import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { isGroupDefinition } from '../functions/core/contract/registry.js';
import { RegistryError } from '../functions/core/errors.js';
import { compileRegistry } from '../functions/core/registry.js';
import { seedRegistry } from './index.js';

const here = import.meta.dirname;
const readJson = (path: string): unknown => JSON.parse(readFileSync(join(here, path), 'utf8'));
const jsonFiles = (folder: string) =>
  readdirSync(join(here, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => `${folder}/${f}`);

// Validate with the committed JSON Schemas through Ajv: an independent check of what zod generated.
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const validatorFor = (schemaFile: string) => ajv.compile(readJson(`schemas/${schemaFile}`) as object);

describe('registry data files', () => {
  const validateDeviceType = validatorFor('device-type.v1.schema.json');
  const validateRules = validatorFor('alert-rules.v1.schema.json');
  const validateApplication = validatorFor('application.v1.schema.json');

  it.each(jsonFiles('device-types'))('%s matches the device-type schema', (file) => {
    const valid = validateDeviceType(readJson(file));
    expect(validateDeviceType.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each(jsonFiles('alert-rules'))('%s matches the alert-rules schema', (file) => {
    const valid = validateRules(readJson(file));
    expect(validateRules.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('every seed application matches the application schema', () => {
    const applications = readJson('applications.json') as unknown[];
    const failures = applications.filter((app) => !validateApplication(app));
    expect(failures).toEqual([]);
    expect(applications).toHaveLength(3);
  });

  it('names each device-type file after its typeId, and each rules file after its type', () => {
    for (const type of seedRegistry.deviceTypes) {
      expect(jsonFiles('device-types')).toContain(`device-types/${type.typeId}.json`);
    }
    for (const set of seedRegistry.alertRules) {
      expect(jsonFiles('alert-rules')).toContain(`alert-rules/${set.deviceType}.json`);
    }
  });

  it('ships the four device types', () => {
    expect(seedRegistry.deviceTypes.map((t) => t.typeId).sort()).toEqual([
      'environmental_sensor',
      'f2_access_controller',
      'smart_breaker',
      'smart_meter',
    ]);
  });

  it('compiles: every rule path is a reading of its type and every reference resolves', () => {
    expect(() => compileRegistry(seedRegistry)).not.toThrow();
  });
});

describe('registry data content', () => {
  const types = new Map(seedRegistry.deviceTypes.map((t) => [t.typeId, t]));
  const readingsOf = (typeId: string) => {
    const type = types.get(typeId);
    if (!type) throw new Error(typeId);
    return Object.entries(type.measurements).flatMap(([key, m]) =>
      isGroupDefinition(m)
        ? Object.entries(m.components).map(([c, r]) => [`${key}.${c}`, r] as const)
        : [[key, m] as const],
    );
  };

  it('gives every reading a unit, a type, a description and a range or allowed values', () => {
    for (const typeId of types.keys()) {
      for (const [path, reading] of readingsOf(typeId)) {
        const bounded =
          reading.validRange || reading.allowedValues || reading.maxLength || reading.dataType === 'boolean';
        expect({ path, unit: reading.unit.length > 0, bounded: Boolean(bounded) }).toEqual({
          path,
          unit: true,
          bounded: true,
        });
      }
    }
  });

  it('uses var for reactive power and VA for apparent power', () => {
    const breaker = new Map(readingsOf('smart_breaker'));
    expect(breaker.get('power.reactive')?.unit).toBe('var');
    expect(breaker.get('power.apparent')?.unit).toBe('VA');
    expect(breaker.get('power.active')?.unit).toBe('W');
  });

  it('rates the breaker at a voltage inside its measured range', () => {
    const breaker = types.get('smart_breaker');
    const voltage = new Map(readingsOf('smart_breaker')).get('voltage.phase_a');
    const nominal = breaker?.rated?.nominalVoltageV ?? Number.NaN;
    expect(nominal).toBeGreaterThanOrEqual(voltage?.validRange?.min ?? Number.POSITIVE_INFINITY);
    expect(nominal).toBeLessThanOrEqual(voltage?.validRange?.max ?? Number.NEGATIVE_INFINITY);
    for (const manufacturer of breaker?.manufacturers ?? []) {
      expect(manufacturer.specifications?.nominalVoltageV).toBe(nominal);
    }
  });

  it('keeps every normal range inside its valid range', () => {
    for (const typeId of types.keys()) {
      for (const [path, reading] of readingsOf(typeId)) {
        if (!reading.normalRange || !reading.validRange) continue;
        expect({
          path,
          inside:
            reading.normalRange.min >= reading.validRange.min &&
            reading.normalRange.max <= reading.validRange.max,
        }).toEqual({
          path,
          inside: true,
        });
      }
    }
  });

  it('declares how each RS-485 value of the access controller is decoded', () => {
    const rs485 = readingsOf('f2_access_controller').filter(([path]) => path.startsWith('rs485.'));
    expect(rs485.length).toBeGreaterThanOrEqual(3);
    for (const [, reading] of rs485) expect(reading.encoding?.format).toBe('hex');
  });

  it('carries at least the 19 smart-breaker rules of the prototype, with operators as data', () => {
    const rules = seedRegistry.alertRules.find((s) => s.deviceType === 'smart_breaker')?.rules ?? [];
    expect(rules.filter((r) => r.enabled).length).toBeGreaterThanOrEqual(19);
    const operators = rules.flatMap((r) => ('operator' in r ? [r.operator] : []));
    expect(new Set(operators)).toEqual(new Set(['gt', 'lt', 'eq', 'outside_range']));
  });

  it('registers the seed applications for existing types only', () => {
    for (const app of seedRegistry.applications) {
      for (const typeId of app.deviceTypes) expect(types.has(typeId)).toBe(true);
    }
  });
});

describe('compileRegistry', () => {
  it('refuses a rule whose path names no reading, saying which', () => {
    const rules = [
      {
        deviceType: 'environmental_sensor',
        rules: [
          {
            ruleId: 'typo',
            name: 'Typo',
            path: 'temprature',
            operator: 'gt' as const,
            threshold: 1,
            severity: 'low' as const,
            enabled: true,
          },
        ],
      },
    ];
    expect(() => compileRegistry({ ...seedRegistry, alertRules: rules })).toThrow(RegistryError);
    expect(() => compileRegistry({ ...seedRegistry, alertRules: rules })).toThrow(/temprature/);
  });

  it('refuses rules for a type that does not exist', () => {
    const rules = [{ deviceType: 'ghost_type', rules: [] }];
    expect(() => compileRegistry({ ...seedRegistry, alertRules: rules })).toThrow(/ghost_type/);
  });

  it('refuses an invalid device type, naming the field', () => {
    const broken = {
      ...seedRegistry.deviceTypes[0],
      retentionDays: -1,
    } as (typeof seedRegistry.deviceTypes)[number];
    expect(() => compileRegistry({ deviceTypes: [broken], alertRules: [], applications: [] })).toThrow(
      /retentionDays/,
    );
  });

  it('lists only active applications registered for exactly the type, with public fields only', () => {
    const inactive = {
      ...seedRegistry.applications[0],
      applicationId: '11111111-1111-4111-8111-111111111111',
      name: 'Old',
      status: 'inactive' as const,
    };
    const nearMiss = {
      ...seedRegistry.applications[0],
      applicationId: '22222222-2222-4222-8222-222222222222',
      name: 'Near miss',
      deviceTypes: ['smart_breaker_v2'],
    };
    const registry = compileRegistry({
      ...seedRegistry,
      applications: [...seedRegistry.applications, inactive, nearMiss] as typeof seedRegistry.applications,
    });

    const block = registry.types.get('smart_breaker')?.applicationRegistry;

    expect(block?.applications.map((a) => a.name)).toEqual(['Smart Grid Monitor']);
    expect(Object.keys(block?.applications[0] ?? {}).sort()).toEqual([
      'application_id',
      'category',
      'developer',
      'name',
      'platform',
      'version',
    ]);
  });
});
