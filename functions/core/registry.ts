/**
 * The registry, compiled once per registry version into what the per-message path needs: a flat table
 * of reading definitions by path, detection signatures, alert rules grouped by path, and the constant
 * enrichment blocks already serialised to JSON (they are the same for every message of a type).
 */
import type {
  ApplicationRegistryBlock,
  DeviceMetadata,
  MeasurementMetadata,
  PublicApplication,
} from './contract/messages.js';
import {
  type AlertRule,
  type AlertRuleSet,
  type Application,
  DeviceType,
  type DeviceType as DeviceTypeDefinition,
  type GroupRule,
  isGroupDefinition,
  type NoDataRule,
  type ReadingDefinition,
  type ReadingRule,
} from './contract/registry.js';
import { RegistryError } from './errors.js';
import { describeEncoding } from './hex.js';
import { type CompiledMappings, compileMappings, EMPTY_MAPPINGS } from './ingest-mapping.js';

export interface CompiledReading {
  readonly path: string;
  /** Position in the type's reading table; identifies the reading in cache keys. */
  readonly index: number;
  /** Counts towards completeness: required itself, and in a required group if it is a component. */
  readonly required: boolean;
  readonly definition: ReadingDefinition;
  readonly allowed?: ReadonlySet<number | boolean | string>;
  readonly metadata: MeasurementMetadata;
  /** `"voltage.phase_a":{...}` ready to splice into `measurement_metadata`. */
  readonly metadataJson: string;
  /** `"voltage.phase_a":{"verdict":"GOOD"}`, the common case of `data_quality.readings`. */
  readonly goodQualityJson: string;
  readonly rules: readonly ReadingRule[];
  /** A condition of a group rule reads it: the validation pass keeps its value for the groups. */
  readonly groupRuleInput: boolean;
}

export interface CompiledMeasurement {
  readonly key: string;
  readonly isGroup: boolean;
  readonly required: boolean;
  /** For a plain reading: the reading itself. */
  readonly reading?: CompiledReading;
  /** For a group: its components by key. */
  readonly components?: ReadonlyMap<string, CompiledReading>;
}

export interface CompiledDeviceType {
  readonly typeId: string;
  readonly version: number;
  readonly registryVersion: string;
  readonly definition: DeviceTypeDefinition;
  readonly measurements: ReadonlyMap<string, CompiledMeasurement>;
  readonly readings: ReadonlyMap<string, CompiledReading>;
  /** Paths that must be present for a complete telemetry message. */
  readonly requiredPaths: readonly string[];
  /** Top-level keys that must be present (for detection scoring). */
  readonly requiredKeys: readonly string[];
  readonly dimensions: readonly string[];
  readonly hasRules: boolean;
  /** Enabled group rules (all-of / any-of over several readings), evaluated per message. */
  readonly groupRules: readonly GroupRule[];
  /** Enabled no-data rules, evaluated on a clock (no-data.ts), never per message. */
  readonly noDataRules: readonly NoDataRule[];
  /** Enabled rules by id. */
  readonly rulesById: ReadonlyMap<string, AlertRule>;
  readonly deviceMetadata: DeviceMetadata;
  readonly deviceMetadataJson: string;
  readonly applicationRegistry: ApplicationRegistryBlock;
  readonly applicationRegistryJson: string;
  readonly publicApplications: readonly PublicApplication[];
  /** Readings by index (see CompiledReading.index). */
  readonly readingList: readonly CompiledReading[];
  /** The per-message blocks that depend only on which readings are present, by presence key. */
  readonly presence: FragmentCache<PresenceBlocks>;
}

/** What every message with the same set of known readings shares: built once, frozen. */
export interface PresenceBlocks {
  readonly measurementMetadata: Readonly<Record<string, MeasurementMetadata>>;
  readonly measurementMetadataJson: string;
  /** data_quality.readings when every reading is GOOD. */
  readonly goodQualities: Readonly<Record<string, { readonly verdict: 'GOOD' }>>;
  readonly goodQualitiesJson: string;
}

/** A presence key holds one character per reading present: `0x30 + index`, in message order. */
export const presenceKeyChar = (reading: CompiledReading): string =>
  String.fromCharCode(0x30 + reading.index);

export function buildPresenceBlocks(type: CompiledDeviceType, presenceKey: string): PresenceBlocks {
  const present: CompiledReading[] = [];
  for (let i = 0; i < presenceKey.length; i++) {
    const reading = type.readingList[presenceKey.charCodeAt(i) - 0x30];
    if (reading) present.push(reading);
  }
  return deepFreeze({
    measurementMetadata: Object.fromEntries(present.map((r) => [r.path, r.metadata])),
    measurementMetadataJson: present.map((r) => r.metadataJson).join(','),
    goodQualities: Object.fromEntries(present.map((r) => [r.path, { verdict: 'GOOD' as const }])),
    goodQualitiesJson: present.map((r) => r.goodQualityJson).join(','),
  });
}

/**
 * Devices of a type send the same set of readings message after message, so the joined metadata and
 * quality fragments for a set are built once and reused. Bounded: a fleet sending many different
 * subsets only costs a rebuild, never unbounded memory.
 */
export class FragmentCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly maxEntries = 512) {}

  getOrBuild(key: string, build: () => T): T {
    let value = this.entries.get(key);
    if (value === undefined) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      value = build();
      this.entries.set(key, value);
    }
    return value;
  }
}

export interface CompiledRegistry {
  readonly types: ReadonlyMap<string, CompiledDeviceType>;
  /** Types in a stable order, for detection scoring. */
  readonly typeList: readonly CompiledDeviceType[];
  /** Ingest mappings (issue 14), compiled with the registry; absent means none. */
  readonly mappings?: CompiledMappings;
}

export interface RegistryInput {
  readonly deviceTypes: readonly DeviceTypeDefinition[];
  readonly alertRules: readonly AlertRuleSet[];
  readonly applications: readonly Application[];
  /** Ingest mappings (issue 14): validated against the contract here, so stored data is checked too. */
  readonly ingestMappings?: readonly unknown[];
}

/** Timestream dimension names are limited to 60 bytes; ours are ASCII, so 60 characters. */
const MAX_DIMENSION_NAME_LENGTH = 60;

function toMeasurementMetadata(reading: ReadingDefinition): MeasurementMetadata {
  const metadata: MeasurementMetadata = {
    unit: reading.unit,
    data_type: reading.dataType,
    description: reading.description,
  };
  if (reading.validRange) metadata.valid_range = { min: reading.validRange.min, max: reading.validRange.max };
  if (reading.allowedValues) metadata.allowed_values = reading.allowedValues.map((v) => ({ ...v }));
  if (reading.encoding) metadata.encoding = describeEncoding(reading.encoding);
  return metadata;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Only what any consumer may see: no contact e-mail, no keys, no internal status fields. */
export const toPublicApplication = (app: Application): PublicApplication => ({
  application_id: app.applicationId,
  name: app.name,
  version: app.version,
  developer: app.developer,
  category: app.category,
  platform: app.platform,
});

function compileDeviceType(
  definition: DeviceTypeDefinition,
  rules: readonly AlertRule[],
  applications: readonly Application[],
): CompiledDeviceType {
  const typeId = definition.typeId;
  const rulesByPath = new Map<string, ReadingRule[]>();
  const groupRules: GroupRule[] = [];
  const noDataRules: NoDataRule[] = [];
  const rulesById = new Map<string, AlertRule>();
  const groupPaths = new Set<string>();
  for (const rule of rules) {
    if (!rule.enabled) continue;
    rulesById.set(rule.ruleId, rule);
    if ('kind' in rule && rule.kind === 'group') {
      groupRules.push(rule);
      for (const condition of rule.conditions) {
        for (const leaf of 'conditions' in condition ? condition.conditions : [condition]) {
          groupPaths.add(leaf.path);
        }
      }
      continue;
    }
    if ('kind' in rule && rule.kind === 'no_data') {
      noDataRules.push(rule);
      if (rule.path !== undefined) groupPaths.add(rule.path); // checked below like any rule path
      continue;
    }
    const list = rulesByPath.get(rule.path) ?? [];
    list.push(rule);
    rulesByPath.set(rule.path, list);
  }

  const readings = new Map<string, CompiledReading>();
  const measurements = new Map<string, CompiledMeasurement>();
  const requiredPaths: string[] = [];
  const requiredKeys: string[] = [];

  const compileReading = (path: string, reading: ReadingDefinition, required: boolean): CompiledReading => {
    const metadata = deepFreeze(toMeasurementMetadata(reading));
    const compiled: CompiledReading = {
      path,
      index: readings.size,
      required,
      definition: reading,
      allowed: reading.allowedValues ? new Set(reading.allowedValues.map((v) => v.value)) : undefined,
      metadata,
      metadataJson: `${JSON.stringify(path)}:${JSON.stringify(metadata)}`,
      goodQualityJson: `${JSON.stringify(path)}:{"verdict":"GOOD"}`,
      rules: rulesByPath.get(path) ?? [],
      groupRuleInput: groupPaths.has(path),
    };
    readings.set(path, compiled);
    return compiled;
  };

  for (const [key, measurement] of Object.entries(definition.measurements)) {
    if (measurement.required) requiredKeys.push(key);
    if (isGroupDefinition(measurement)) {
      const components = new Map<string, CompiledReading>();
      for (const [componentKey, component] of Object.entries(measurement.components)) {
        const path = `${key}.${componentKey}`;
        components.set(
          componentKey,
          compileReading(path, component, measurement.required && component.required),
        );
        if (measurement.required && component.required) requiredPaths.push(path);
      }
      measurements.set(key, { key, isGroup: true, required: measurement.required, components });
    } else {
      const reading = compileReading(key, measurement, measurement.required);
      if (measurement.required) requiredPaths.push(key);
      measurements.set(key, { key, isGroup: false, required: measurement.required, reading });
    }
  }

  for (const path of [...rulesByPath.keys(), ...groupPaths]) {
    if (!readings.has(path)) {
      throw new RegistryError(
        `alert rule path "${path}" of device type "${typeId}" names no reading; use one of: ${[...readings.keys()].join(', ')}`,
      );
    }
  }
  for (const dimension of definition.dimensions) {
    if (
      dimension.length > MAX_DIMENSION_NAME_LENGTH ||
      dimension === 'device_id' ||
      dimension === 'device_type'
    ) {
      throw new RegistryError(
        `dimension "${dimension}" of device type "${typeId}" is reserved or longer than ${MAX_DIMENSION_NAME_LENGTH} characters`,
      );
    }
  }

  const publicApplications = applications
    .filter((app) => app.status === 'active' && app.deviceTypes.includes(typeId))
    .map(toPublicApplication)
    .sort((a, b) => a.name.localeCompare(b.name));

  const registryVersion = `${typeId}@${definition.version}`;
  // Shared by every enriched message of the type: frozen so no consumer can alter another's copy.
  const deviceMetadata: DeviceMetadata = deepFreeze({
    device_type: typeId,
    name: definition.name,
    description: definition.description,
    category: definition.category,
    capabilities: definition.capabilities,
    data_format: definition.dataFormat,
    update_frequency_s: definition.updateFrequencySeconds,
    retention_days: definition.retentionDays,
    type_version: definition.version,
    ...(definition.rated ? { rated: definition.rated } : {}),
  });
  const applicationRegistry: ApplicationRegistryBlock = deepFreeze({
    device_type: typeId,
    count: publicApplications.length,
    applications: publicApplications,
  });
  return {
    typeId,
    version: definition.version,
    registryVersion,
    definition,
    measurements,
    readings,
    requiredPaths,
    requiredKeys,
    dimensions: definition.dimensions,
    hasRules: rulesByPath.size > 0 || groupRules.length > 0,
    groupRules,
    noDataRules,
    rulesById,
    deviceMetadata,
    deviceMetadataJson: JSON.stringify(deviceMetadata),
    applicationRegistry,
    applicationRegistryJson: JSON.stringify(applicationRegistry),
    publicApplications,
    readingList: [...readings.values()],
    presence: new FragmentCache<PresenceBlocks>(),
  };
}

/**
 * Validates and compiles registry data. Throws a RegistryError that names the problem: a registry that
 * does not compile must stop a deployment or a start, never half-work at run time.
 */
export function compileRegistry(input: RegistryInput): CompiledRegistry {
  const types = new Map<string, CompiledDeviceType>();
  const rulesByType = new Map<string, AlertRule[]>();
  for (const set of input.alertRules) {
    if (!input.deviceTypes.some((t) => t.typeId === set.deviceType)) {
      throw new RegistryError(`alert rules name unknown device type "${set.deviceType}"`);
    }
    rulesByType.set(set.deviceType, [...(rulesByType.get(set.deviceType) ?? []), ...set.rules]);
  }
  for (const raw of input.deviceTypes) {
    const parsed = DeviceType.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RegistryError(
        `device type "${String(raw.typeId)}" is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      );
    }
    if (types.has(parsed.data.typeId))
      throw new RegistryError(`device type "${parsed.data.typeId}" is defined twice`);
    types.set(
      parsed.data.typeId,
      compileDeviceType(parsed.data, rulesByType.get(parsed.data.typeId) ?? [], input.applications),
    );
  }
  // A mapping naming a type no longer registered is not an error here (a type can be deleted after
  // the mapping was stored): its messages are judged like any that declare an unregistered type.
  const mappings = input.ingestMappings?.length ? compileMappings(input.ingestMappings) : EMPTY_MAPPINGS;
  return {
    types,
    typeList: [...types.values()].sort((a, b) => a.typeId.localeCompare(b.typeId)),
    mappings,
  };
}
