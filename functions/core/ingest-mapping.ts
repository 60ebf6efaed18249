/**
 * Ingest mappings, compiled once per registry version and applied to a parsed payload before the
 * envelope and contract checks (see process-message.ts). Selection is by topic filter first, then by
 * the declared payload shape; a topic no mapping's filter matches costs one bounded-cache lookup.
 *
 * Steps translate only. A value a step cannot read is left as the device sent it, so the contract
 * check or the validation judges it and says why: a mapping never invents a reading.
 */
import { DEVICE_ID_PATTERN, ISO_TIMESTAMP_PATTERN } from './contract/identifiers.js';
import {
  IngestMapping,
  type IngestMapping as MappingDefinition,
  type MappingStep,
} from './contract/ingest-mapping.js';
import type { EventType } from './contract/messages.js';
import { RegistryError } from './errors.js';
import type { Rejection } from './parse.js';
import { convertUnit } from './units.js';

type Json = Record<string, unknown>;

/** What the enriched message records about the mapping that translated it. */
export interface AppliedMappingInfo {
  readonly mapping_id: string;
  readonly name: string;
  readonly version: number;
}

interface TopicLevel {
  readonly literal?: string;
  /** Bound name of a `{name}` level; undefined for a literal or `+`. */
  readonly name?: string;
}

interface CompiledShape {
  readonly has: readonly (readonly string[])[];
  readonly absent: readonly (readonly string[])[];
  readonly equals: readonly { readonly path: readonly string[]; readonly value: unknown }[];
}

export interface CompiledMapping {
  readonly definition: MappingDefinition;
  readonly info: AppliedMappingInfo;
  readonly levels: readonly TopicLevel[];
  readonly shape?: CompiledShape;
  /** Literal levels: a more specific filter is tried first. */
  readonly specificity: number;
}

export interface CompiledMappings {
  readonly list: readonly CompiledMapping[];
  /** Topic to the mappings whose filter matches it, with their bindings (bounded). */
  readonly byTopic: Map<string, readonly TopicCandidate[]>;
}

interface TopicCandidate {
  readonly mapping: CompiledMapping;
  readonly bindings: Readonly<Record<string, string>>;
}

export const EMPTY_MAPPINGS: CompiledMappings = Object.freeze({ list: [], byTopic: new Map() });

const splitPath = (path: string): string[] => path.split('.');

function compileFilter(filter: string): TopicLevel[] {
  return filter.split('/').map((level) => {
    if (level === '+') return {};
    if (level.startsWith('{')) return { name: level.slice(1, -1) };
    return { literal: level };
  });
}

/** Validates and compiles mappings; throws a RegistryError naming the mapping and the problem. */
export function compileMappings(definitions: readonly unknown[]): CompiledMappings {
  const list: CompiledMapping[] = [];
  const ids = new Set<string>();
  for (const raw of definitions) {
    const parsed = IngestMapping.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const id = (raw as { mappingId?: unknown } | null)?.mappingId;
      throw new RegistryError(
        `ingest mapping "${String(id)}" is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      );
    }
    const definition = parsed.data;
    if (ids.has(definition.mappingId))
      throw new RegistryError(`ingest mapping "${definition.mappingId}" is defined twice`);
    ids.add(definition.mappingId);
    const levels = compileFilter(definition.match.topic);
    const names = new Set<string>();
    for (const level of levels) {
      if (level.name === undefined) continue;
      if (names.has(level.name)) {
        throw new RegistryError(
          `ingest mapping "${definition.mappingId}": topic segment {${level.name}} is named twice`,
        );
      }
      names.add(level.name);
    }
    for (const step of definition.steps) {
      const segment = 'fromTopic' in step ? step.fromTopic : undefined;
      if (segment !== undefined && !names.has(segment)) {
        throw new RegistryError(
          `ingest mapping "${definition.mappingId}": step ${step.op} reads topic segment {${segment}}, ` +
            `which ${definition.match.topic} does not name`,
        );
      }
    }
    const shape = definition.match.payload;
    list.push({
      definition,
      info: { mapping_id: definition.mappingId, name: definition.name, version: definition.version },
      levels,
      specificity: levels.filter((l) => l.literal !== undefined).length,
      ...(shape
        ? {
            shape: {
              has: (shape.has ?? []).map(splitPath),
              absent: (shape.absent ?? []).map(splitPath),
              equals: Object.entries(shape.equals ?? {}).map(([path, value]) => ({
                path: splitPath(path),
                value,
              })),
            },
          }
        : {}),
    });
  }
  // Most specific first; at equal specificity a mapping with a payload shape before one without, so
  // the shape can single out its messages; then by id, for a stable order.
  list.sort(
    (a, b) =>
      b.specificity - a.specificity ||
      Number(b.shape !== undefined) - Number(a.shape !== undefined) ||
      a.info.mapping_id.localeCompare(b.info.mapping_id),
  );
  return { list, byTopic: new Map() };
}

/** Messages published with Basic Ingest arrive with this prefix in front of the device topic. */
const BASIC_INGEST_PREFIX = /^\$aws\/rules\/[A-Za-z0-9_]+\//;
const TOPIC_CACHE_SIZE = 10_000;
const NO_CANDIDATES: readonly TopicCandidate[] = Object.freeze([]);

function matchTopic(
  levels: readonly TopicLevel[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (levels.length !== parts.length) return undefined;
  const bindings: Record<string, string> = {};
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as TopicLevel;
    const part = parts[i] as string;
    if (part === '') return undefined;
    if (level.literal !== undefined) {
      if (level.literal !== part) return undefined;
    } else if (level.name !== undefined) {
      bindings[level.name] = part;
    }
  }
  return bindings;
}

function candidatesFor(mappings: CompiledMappings, topic: string): readonly TopicCandidate[] {
  let candidates = mappings.byTopic.get(topic);
  if (candidates !== undefined) return candidates;
  const parts = topic.replace(BASIC_INGEST_PREFIX, '').split('/');
  const found: TopicCandidate[] = [];
  for (const mapping of mappings.list) {
    const bindings = matchTopic(mapping.levels, parts);
    if (bindings) found.push({ mapping, bindings });
  }
  candidates = found.length === 0 ? NO_CANDIDATES : found;
  if (mappings.byTopic.size >= TOPIC_CACHE_SIZE) mappings.byTopic.clear();
  mappings.byTopic.set(topic, candidates);
  return candidates;
}

/**
 * The `{deviceId}` level of the first mapping whose topic filter matches, as the mapped topic's IoT
 * rule takes it into the envelope (functions/shared/iot-rules.ts); undefined when none matches. The
 * API's preview uses it to build the envelope ingest would have built.
 */
export function mappedTopicDeviceId(mappings: CompiledMappings, topic: string): string | undefined {
  return candidatesFor(mappings, topic)[0]?.bindings.deviceId;
}

function readPath(object: Json, path: readonly string[]): unknown {
  let value: unknown = object;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = Object.hasOwn(value, key) ? (value as Json)[key] : undefined;
  }
  return value;
}

function shapeMatches(shape: CompiledShape | undefined, payload: Json): boolean {
  if (!shape) return true;
  for (const path of shape.has) if (readPath(payload, path) === undefined) return false;
  for (const path of shape.absent) if (readPath(payload, path) !== undefined) return false;
  for (const { path, value } of shape.equals) if (readPath(payload, path) !== value) return false;
  return true;
}

/** The mapping that applies to a message on this topic, with the topic's named segments. */
export function selectMapping(
  mappings: CompiledMappings,
  topic: string | undefined,
  payload: Json,
): TopicCandidate | undefined {
  if (topic === undefined || mappings.list.length === 0) return undefined;
  const candidates = candidatesFor(mappings, topic);
  for (const candidate of candidates) if (shapeMatches(candidate.mapping.shape, payload)) return candidate;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Steps.

const isPlainObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The parent object of a path, created on the way when `create`; undefined when a level is not an object. */
function parentOf(object: Json, path: readonly string[], create: boolean): Json | undefined {
  let parent = object;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    let child = Object.hasOwn(parent, key) ? parent[key] : undefined;
    if (child === undefined && create) {
      child = {};
      parent[key] = child;
    }
    if (!isPlainObject(child)) return undefined;
    parent = child;
  }
  return parent;
}

function writePath(object: Json, path: readonly string[], value: unknown): void {
  const parent = parentOf(object, path, true);
  if (parent) parent[path[path.length - 1] as string] = value;
}

function takePath(object: Json, path: readonly string[]): unknown {
  const parent = parentOf(object, path, false);
  const key = path[path.length - 1] as string;
  if (!parent || !Object.hasOwn(parent, key)) return undefined;
  const value = parent[key];
  delete parent[key];
  return value;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A number, or a decimal string read as one; anything else is returned as it was. */
export function readNumber(value: unknown): unknown {
  if (typeof value !== 'string' || value.length > 64 || !DECIMAL.test(value)) return value;
  const number = Number(value);
  return Number.isFinite(number) ? number : value;
}

const NAIVE_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?$/;

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at an instant, in minutes (Intl's `longOffset` reads `GMT+02:00`). */
function zoneOffsetMinutes(zone: string, at: number): number {
  let formatter = offsetFormatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormatters.set(zone, formatter);
  }
  const name = formatter.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

const formatOffset = (minutes: number): string => {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
};

/**
 * A naive local time in a zone, as ISO 8601 with the zone's offset appended: the device's digits (to
 * the microsecond) are kept, only the zone is added. For an IANA zone the offset is the one in force
 * at that wall time (two passes settle it across a DST change).
 */
export function zoneNaiveTime(naive: string, zone: string): string {
  if (zone === 'UTC') return `${naive}Z`;
  if (zone.startsWith('+') || zone.startsWith('-')) return `${naive}${zone}`;
  const wall = Date.parse(`${naive.slice(0, 23)}Z`);
  if (Number.isNaN(wall)) return naive;
  let offset = zoneOffsetMinutes(zone, wall);
  offset = zoneOffsetMinutes(zone, wall - offset * 60_000);
  return `${naive}${formatOffset(offset)}`;
}

const MAX_DATE_MS = 8.64e15;

function rewriteTime(value: unknown, format: 'iso' | 'epoch_s' | 'epoch_ms', zone: string): unknown {
  if (format === 'iso') {
    if (typeof value !== 'string') return value;
    if (NAIVE_ISO.test(value)) return zoneNaiveTime(value, zone);
    return value;
  }
  const number = readNumber(value);
  if (typeof number !== 'number') return value;
  const ms = format === 'epoch_s' ? number * 1000 : number;
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return value;
  return new Date(Math.round(ms)).toISOString();
}

function unwrapUnits(message: Json, at: readonly string[]): void {
  const container = readPath(message, at);
  if (!isPlainObject(container)) return;
  let units: Json | undefined;
  for (const key in container) {
    const entry = container[key];
    if (!isPlainObject(entry) || typeof entry.unit !== 'string') continue;
    const unit = entry.unit;
    if (units === undefined) {
      units = isPlainObject(message.units) ? message.units : {};
      message.units = units;
    }
    // A group keeps its readings and its unit becomes the group's: the core applies it to the
    // components it fits (a `W` on a power group fits `active`, not `reactive` in var).
    if ('value' in entry && Object.keys(entry).length === 2) container[key] = entry.value;
    else delete entry.unit;
    units[key] = unit;
  }
}

function readNumbers(message: Json, at: readonly string[]): void {
  const container = readPath(message, at);
  if (!isPlainObject(container)) return;
  for (const key in container) {
    const value = container[key];
    if (isPlainObject(value)) {
      for (const inner in value) value[inner] = readNumber(value[inner]);
    } else {
      container[key] = readNumber(value);
    }
  }
}

function toChannels(message: Json, step: Extract<MappingStep, { op: 'channels' }>): void {
  const from = splitPath(step.from);
  const channels = readPath(message, from);
  if (!Array.isArray(channels)) return;
  const measurements: Json = {};
  for (const element of channels) {
    if (!isPlainObject(element)) continue;
    const wireName = String(element[step.channelKey]);
    const path = step.channels[wireName] ?? wireName;
    const count = step.stats.count !== undefined ? readNumber(element[step.stats.count]) : step.count;
    measurements[path] = {
      avg: readNumber(element[step.stats.avg]),
      min: readNumber(element[step.stats.min]),
      max: readNumber(element[step.stats.max]),
      last: readNumber(element[step.stats.last]),
      ...(count !== undefined ? { count } : {}),
    };
  }
  takePath(message, from);
  message.measurements = measurements;
  const endText = readPath(message, splitPath(step.window.endAt));
  const end = typeof endText === 'string' && ISO_TIMESTAMP_PATTERN.test(endText) ? Date.parse(endText) : NaN;
  if (!Number.isNaN(end)) {
    message.window = {
      start: new Date(end - step.window.seconds * 1000).toISOString(),
      end: new Date(end).toISOString(),
    };
  }
}

/** Unlisted wire keys keep their name in measurement-key spelling, so the core can flag them as unknown. */
const toMeasurementKey = (wireKey: string): string => wireKey.toLowerCase().replace(/[^a-z0-9_]/g, '_');

function mergeComponent(
  message: Json,
  step: Extract<MappingStep, { op: 'component' }>,
  bindings: Readonly<Record<string, string>>,
): void {
  const component = step.components[bindings[step.fromTopic] ?? ''];
  if (!component) return;
  const keep = new Set(step.keep);
  const group: Json = {};
  for (const key of Object.keys(message)) {
    if (keep.has(key) || key === 'measurements' || key === 'units') continue;
    group[component.keys[key] ?? toMeasurementKey(key)] = message[key];
    delete message[key];
  }
  const measurements = isPlainObject(message.measurements) ? message.measurements : {};
  measurements[component.group] = group;
  message.measurements = measurements;
}

function applyStep(message: Json, step: MappingStep, bindings: Readonly<Record<string, string>>): void {
  switch (step.op) {
    case 'move': {
      const value =
        step.from !== undefined
          ? takePath(message, splitPath(step.from))
          : step.fromTopic !== undefined
            ? bindings[step.fromTopic]
            : step.value;
      if (value !== undefined) writePath(message, splitPath(step.to), value);
      return;
    }
    case 'unwrapUnits':
      unwrapUnits(message, splitPath(step.at));
      return;
    case 'numbers':
      readNumbers(message, splitPath(step.at));
      return;
    case 'timestamp': {
      const path = splitPath(step.at);
      const value = readPath(message, path);
      if (value !== undefined) writePath(message, path, rewriteTime(value, step.format, step.zone));
      return;
    }
    case 'convert': {
      const path = splitPath(step.at);
      const value = readNumber(readPath(message, path));
      if (typeof value !== 'number') return;
      const converted = convertUnit(value, step.from, step.to);
      if (converted !== undefined) writePath(message, path, converted);
      return;
    }
    case 'channels':
      toChannels(message, step);
      return;
    case 'component':
      mergeComponent(message, step, bindings);
      return;
    case 'drop':
      for (const path of step.paths) takePath(message, splitPath(path));
      return;
  }
}

export type MappingOutcome =
  | { readonly ok: true; readonly info: AppliedMappingInfo }
  | { readonly ok: false; readonly rejection: Rejection; readonly info: AppliedMappingInfo };

/**
 * Applies a selected mapping to the caller's freshly parsed payload, in place. The only rejection is a
 * device id that contradicts the topic's `{deviceId}` (the topic is bound to the thing by the IoT
 * policy, so it is the one to trust).
 */
export function applyMapping(selected: TopicCandidate, payload: Json): MappingOutcome {
  const { mapping, bindings } = selected;
  const definition = mapping.definition;
  const topicDeviceId = bindings.deviceId;
  if (topicDeviceId !== undefined) {
    const claimed = payload.device_id;
    if (claimed === undefined || claimed === null || claimed === '') {
      if (DEVICE_ID_PATTERN.test(topicDeviceId)) payload.device_id = topicDeviceId;
    } else if (claimed !== topicDeviceId) {
      return {
        ok: false,
        info: mapping.info,
        rejection: {
          reason: 'DEVICE_ID_MISMATCH',
          detail: `device_id ${JSON.stringify(claimed).slice(0, 80)} differs from the topic's "${topicDeviceId}"`,
          path: 'device_id',
          ...(DEVICE_ID_PATTERN.test(topicDeviceId) ? { deviceId: topicDeviceId } : {}),
        },
      };
    }
  }
  for (const step of definition.steps) applyStep(payload, step, bindings);
  if (definition.deviceType !== undefined && payload.device_type === undefined)
    payload.device_type = definition.deviceType;
  if (definition.eventType !== undefined && payload.event_type === undefined)
    payload.event_type = definition.eventType satisfies EventType;
  return { ok: true, info: mapping.info };
}

/** The topic filters the mappings declare, in MQTT form (`{name}` levels as `+`): for routing and IoT rules. */
export function mappingTopicFilters(definitions: readonly Pick<MappingDefinition, 'match'>[]): string[] {
  const filters = definitions.map((d) =>
    d.match.topic
      .split('/')
      .map((level) => (level.startsWith('{') ? '+' : level))
      .join('/'),
  );
  return [...new Set(filters)].sort();
}
