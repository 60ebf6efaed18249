/**
 * Builds the enriched message: the raw message (envelope normalised) plus the registry blocks, the
 * enrichment info and the data-quality verdict. The constant blocks are shared, frozen objects from the
 * compiled registry; the JSON form splices their pre-serialised text instead of serialising them again
 * for every message.
 */
import {
  CONTRACT_VERSION,
  type DetectionMethod,
  type DeviceMetadata,
  type EnrichedMessage,
  type EnrichmentInfo,
  type MeasurementMetadata,
  type RawMessage,
} from './contract/messages.js';
import type { KnownDevice } from './detect.js';
import type { CompiledDeviceType } from './registry.js';
import { toIsoTime } from './time.js';
import type { ValidationResult } from './validate.js';

export interface EnrichInput {
  readonly message: RawMessage;
  readonly type: CompiledDeviceType;
  readonly validation: ValidationResult;
  readonly knownDevice?: KnownDevice;
  readonly info: EnrichmentInfo;
  /**
   * The exact text the message was parsed from, when parsing is all that happened to it. Its JSON is
   * then that text: the raw message travels on byte for byte, and is not serialised a second time.
   */
  readonly originalText?: string;
}

export interface EnrichOutput {
  readonly message: EnrichedMessage;
  /** The same message as JSON, ready to produce. */
  readonly json: string;
}

/**
 * The device's own message_id, or one derived from what identifies a message: device, time and kind.
 * Deterministic, so a redelivered message gets the same id and consumers can de-duplicate.
 */
export const deriveMessageId = (message: RawMessage): string =>
  message.message_id ?? `${message.device_id}:${message.timestamp}:${message.event_type}`;

export interface EnrichmentInfoInput {
  readonly message: RawMessage;
  readonly type: CompiledDeviceType;
  readonly method: DetectionMethod;
  readonly score?: number;
  readonly declaredType?: string;
  readonly originalTimestamp?: string;
  readonly receivedAt: number;
  readonly processedAt: number;
  readonly service: string;
  readonly serviceVersion: string;
  /** The ingest mapping that translated the payload (issue 14). */
  readonly mapping?: NonNullable<EnrichmentInfo['mapping']>;
  readonly redriveCount?: number;
  readonly replayId?: string;
}

export function buildEnrichmentInfo(input: EnrichmentInfoInput): EnrichmentInfo {
  const detection: EnrichmentInfo['detection'] = { method: input.method };
  if (input.score !== undefined) detection.score = input.score;
  if (input.declaredType !== undefined) detection.declared_type = input.declaredType;
  const info: EnrichmentInfo = {
    enriched_at: toIsoTime(input.processedAt),
    received_at: toIsoTime(input.receivedAt),
    service: input.service,
    service_version: input.serviceVersion,
    contract_version: CONTRACT_VERSION,
    registry_version: input.type.registryVersion,
    message_id: deriveMessageId(input.message),
    detection,
  };
  if (input.originalTimestamp !== undefined) info.original_timestamp = input.originalTimestamp;
  if (input.mapping !== undefined) info.mapping = input.mapping;
  if (input.redriveCount !== undefined) info.redrive_count = input.redriveCount;
  if (input.replayId !== undefined) info.replay_id = input.replayId;
  return info;
}

/** The quoted service fields: the same few values for the life of a process. */
const quotedServiceFields = new Map<string, string>();

function serviceFieldsJson(service: string, serviceVersion: string): string {
  const key = `${service}\u0000${serviceVersion}`;
  let json = quotedServiceFields.get(key);
  if (json === undefined) {
    json = `"service":${JSON.stringify(service)},"service_version":${JSON.stringify(serviceVersion)}`;
    if (quotedServiceFields.size > 16) quotedServiceFields.clear();
    quotedServiceFields.set(key, json);
  }
  return json;
}

/**
 * enrichment_info as JSON, written out field by field: its shape is fixed, and this is measurably
 * cheaper than JSON.stringify on the per-message path. Times, the registry version and the message id
 * are quoted directly because their patterns (ISO times, type ids, device and message ids) admit no
 * character that JSON escapes; free-form strings still go through JSON.stringify. enrich.test.ts holds
 * the result equal to JSON.stringify(info).
 */
export function enrichmentInfoJson(info: EnrichmentInfo): string {
  const detection = info.detection;
  let detectionJson = `{"method":"${detection.method}"`;
  if (detection.score !== undefined) detectionJson += `,"score":${detection.score}`;
  if (detection.declared_type !== undefined) {
    detectionJson += `,"declared_type":${JSON.stringify(detection.declared_type)}`;
  }
  return (
    `{"enriched_at":"${info.enriched_at}","received_at":"${info.received_at}",` +
    serviceFieldsJson(info.service, info.service_version) +
    `,"contract_version":"${info.contract_version}","registry_version":"${info.registry_version}"` +
    `,"message_id":"${info.message_id}","detection":${detectionJson}}` +
    (info.original_timestamp !== undefined
      ? `,"original_timestamp":${JSON.stringify(info.original_timestamp)}`
      : '') +
    (info.mapping !== undefined ? `,"mapping":${JSON.stringify(info.mapping)}` : '') +
    // Data operations (issue 16): a count and an id of a strict pattern, nothing to escape.
    (info.redrive_count !== undefined ? `,"redrive_count":${info.redrive_count}` : '') +
    (info.replay_id !== undefined ? `,"replay_id":"${info.replay_id}"` : '') +
    '}'
  );
}

function withDeviceRecord(base: DeviceMetadata, known: KnownDevice | undefined): DeviceMetadata {
  if (!known || (!known.manufacturer && !known.model && !known.location)) return base;
  const metadata: DeviceMetadata = { ...base };
  if (known.manufacturer) metadata.manufacturer = known.manufacturer;
  if (known.model) metadata.model = known.model;
  if (known.location) metadata.location = known.location;
  return metadata;
}

export function enrich(input: EnrichInput): EnrichOutput {
  const { message, type, validation, info } = input;

  // Metadata only for the measurements present: shared by every message with the same readings.
  const measurementMetadata = validation.presence.measurementMetadata as Record<string, MeasurementMetadata>;
  const metadataJson = validation.presence.measurementMetadataJson;

  const deviceMetadata = withDeviceRecord(type.deviceMetadata, input.knownDevice);
  const deviceMetadataJson =
    deviceMetadata === type.deviceMetadata ? type.deviceMetadataJson : JSON.stringify(deviceMetadata);

  // The message is the caller's own parsed copy: complete it in place rather than copy it again.
  const target = message as Record<string, unknown>;
  let baseJson: string;
  if (input.originalText !== undefined && message.device_type === type.typeId) {
    baseJson = input.originalText.trimEnd();
  } else if (input.originalText !== undefined && message.device_type === undefined) {
    const original = input.originalText.trimEnd();
    baseJson = `${original.slice(0, -1)},"device_type":${JSON.stringify(type.typeId)}}`;
    target.device_type = type.typeId;
  } else {
    target.device_type = type.typeId;
    baseJson = JSON.stringify(target);
  }
  // Either way the text is a JSON object with at least device_id, ending in "}".
  target.device_metadata = deviceMetadata;
  target.measurement_metadata = measurementMetadata;
  target.application_registry = type.applicationRegistry;
  target.enrichment_info = info;
  target.data_quality = validation.quality;
  if (validation.decoded) target.decoded = validation.decoded;
  const enriched = target as EnrichedMessage;

  let json =
    `${baseJson.slice(0, -1)},"device_metadata":${deviceMetadataJson}` +
    `,"measurement_metadata":{${metadataJson}}` +
    `,"application_registry":${type.applicationRegistryJson}` +
    `,"enrichment_info":${enrichmentInfoJson(info)}` +
    `,"data_quality":${validation.qualityJson}`;
  if (validation.decoded) json += `,"decoded":${JSON.stringify(validation.decoded)}`;
  json += '}';
  return { message: enriched, json };
}
