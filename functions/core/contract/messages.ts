/**
 * Message contract (v1): what devices send (raw), what the enrich stage emits (enriched), what goes to
 * the dead-letter topic and what an alert looks like. Messages keep snake_case field names, as devices
 * send them.
 *
 * Single source of truth: types are inferred from these zod schemas, and the JSON Schemas in
 * `registry-data/schemas/` are generated from them (`npm run schemas`; a test fails on drift).
 */
import { z } from 'zod';
import {
  DEVICE_ID_PATTERN,
  ISO_TIMESTAMP_PATTERN,
  MEASUREMENT_KEY_PATTERN,
  MEASUREMENT_PATH_PATTERN,
  MESSAGE_ID_PATTERN,
  SLUG_PATTERN,
  TYPE_ID_PATTERN,
} from './identifiers.js';

export const CONTRACT_VERSION = '1';

export const EVENT_TYPES = ['telemetry', 'trends', 'status', 'event'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const DeviceId = z.string().regex(DEVICE_ID_PATTERN);
const DeviceTypeId = z.string().regex(TYPE_ID_PATTERN);
const Timestamp = z.string().regex(ISO_TIMESTAMP_PATTERN).describe('ISO 8601 with Z or an explicit offset.');
const MeasurementKey = z.string().regex(MEASUREMENT_KEY_PATTERN);
const MeasurementPath = z.string().regex(MEASUREMENT_PATH_PATTERN);

/**
 * A reading on the wire. The contract accepts any JSON scalar here; whether it has the right type for
 * its measurement is the registry's call, made per reading (WRONG_TYPE), so one bad sensor never costs
 * the rest of the message.
 */
export const WireScalar = z.union([z.number(), z.boolean(), z.string().max(2048), z.null()]);

const Envelope = {
  device_id: DeviceId,
  device_type: DeviceTypeId.optional(),
  timestamp: Timestamp,
  message_id: z
    .string()
    .regex(MESSAGE_ID_PATTERN)
    .optional()
    .describe('Device-chosen id, for de-duplication.'),
  tags: z
    .record(MeasurementKey, z.string().min(1).max(64))
    .optional()
    .describe('Low-cardinality labels (site, line); the registry decides which become dimensions.'),
};

export const RawTelemetry = z.strictObject({
  ...Envelope,
  event_type: z.literal('telemetry'),
  measurements: z
    .record(MeasurementKey, z.union([WireScalar, z.record(MeasurementKey, WireScalar)]))
    .describe('Readings: a scalar per measurement, or a group of scalars (voltage.phase_a).'),
  // Ingest mappings (issue 14): units as data. Checked against the registry's unit and converted.
  units: z
    .record(MeasurementPath, z.string().min(1).max(16))
    .optional()
    .describe(
      "The unit each reading was sent in, when it is not the registry's: by path, or by group key for " +
        'the components of the group it fits. Converted to the registry unit or flagged UNIT_MISMATCH.',
    ),
});

export const TrendStatistics = z.strictObject({
  avg: z.number(),
  min: z.number(),
  max: z.number(),
  last: z.number(),
  count: z.number().int().min(1),
});

export const TrendWindow = z.strictObject({
  start: Timestamp,
  end: Timestamp,
});

export const RawTrends = z.strictObject({
  ...Envelope,
  event_type: z.literal('trends'),
  window: TrendWindow.describe(
    'The aggregation window the statistics cover, start inclusive, end exclusive.',
  ),
  measurements: z
    .record(MeasurementPath, TrendStatistics)
    .describe('Per channel (a measurement path): numeric statistics of the values actually published.'),
});

export const DeviceStatus = z.strictObject({
  online: z.boolean(),
  firmware_version: z.string().min(1).max(64).optional(),
  hardware_revision: z.string().min(1).max(64).optional(),
  uptime_s: z.number().min(0).optional(),
  counters: z.record(MeasurementKey, z.number()).optional(),
});

export const RawStatus = z.strictObject({
  ...Envelope,
  event_type: z.literal('status'),
  status: DeviceStatus,
});

export const DeviceEvent = z.strictObject({
  type: z
    .string()
    .regex(SLUG_PATTERN)
    .describe('What happened: trip, maintenance_required, door_forced, ...'),
  severity: z.enum(['critical', 'high', 'medium', 'low', 'info']).optional(),
  message: z.string().max(512).optional(),
  data: z.record(MeasurementKey, WireScalar).optional(),
});

export const RawEvent = z.strictObject({
  ...Envelope,
  event_type: z.literal('event'),
  event: DeviceEvent,
});

export const RawMessage = z
  .discriminatedUnion('event_type', [RawTelemetry, RawTrends, RawStatus, RawEvent])
  .meta({ id: 'raw-message', title: 'Raw device message (v1)' });

// ---------------------------------------------------------------------------------------------------
// Enriched message: the raw message unchanged plus the blocks below.

export const QUALITY_VERDICTS = ['GOOD', 'SUSPECT', 'BAD'] as const;
export const QualityVerdict = z.enum(QUALITY_VERDICTS);

/** Reasons a single reading (or the message's timestamp) is not GOOD. */
export const READING_REASONS = [
  'OUT_OF_RANGE',
  'WRONG_TYPE',
  'NOT_ALLOWED_VALUE',
  'TOO_LONG',
  'DECODE_ERROR',
  'UNKNOWN_MEASUREMENT',
  'INCONSISTENT_AGGREGATE',
  'INVALID_TIMESTAMP',
  'FUTURE_TIMESTAMP',
  'STALE_TIMESTAMP',
  /** The reading's declared unit is unknown or cannot be converted to the registry's (issue 14). */
  'UNIT_MISMATCH',
] as const;
export const ReadingReason = z.enum(READING_REASONS);

/** Reasons that concern the message as a whole. */
export const MESSAGE_QUALITY_REASONS = [
  'MISSING_REQUIRED',
  'INVALID_TIMESTAMP',
  'FUTURE_TIMESTAMP',
  'STALE_TIMESTAMP',
] as const;
export const MessageQualityReason = z.enum(MESSAGE_QUALITY_REASONS);

export const DETECTION_METHODS = ['payload', 'topic', 'device_record', 'measurement_match'] as const;

export const DeviceMetadata = z.strictObject({
  device_type: DeviceTypeId,
  name: z.string(),
  description: z.string(),
  category: z.string(),
  capabilities: z.array(z.string()),
  data_format: z.string(),
  update_frequency_s: z.number(),
  retention_days: z.number(),
  type_version: z.number().int(),
  rated: z.record(z.string(), z.number()).optional(),
  manufacturer: z.string().optional(),
  model: z.string().optional(),
  location: z.string().optional(),
});

export const MeasurementMetadata = z.strictObject({
  unit: z.string(),
  data_type: z.enum(['number', 'integer', 'boolean', 'string']),
  description: z.string(),
  valid_range: z.strictObject({ min: z.number(), max: z.number() }).optional(),
  allowed_values: z
    .array(z.strictObject({ value: z.union([z.number(), z.boolean(), z.string()]), label: z.string() }))
    .optional(),
  encoding: z
    .string()
    .optional()
    .describe('How the wire value was decoded, e.g. "hex int16 big-endian * 0.1 + 0".'),
});

export const PublicApplication = z.strictObject({
  application_id: z.string(),
  name: z.string(),
  version: z.string(),
  developer: z.string(),
  category: z.string(),
  platform: z.string(),
});

export const ApplicationRegistryBlock = z.strictObject({
  device_type: DeviceTypeId,
  count: z.number().int().min(0),
  applications: z.array(PublicApplication).describe('Active applications registered for exactly this type.'),
});

export const EnrichmentInfo = z.strictObject({
  enriched_at: z.string().regex(ISO_TIMESTAMP_PATTERN).describe('With milliseconds, UTC.'),
  received_at: z.string().regex(ISO_TIMESTAMP_PATTERN),
  service: z.string(),
  service_version: z.string(),
  contract_version: z.literal(CONTRACT_VERSION),
  registry_version: z.string().describe('`{typeId}@{version}` of the definition used.'),
  message_id: z.string().describe("The device's message_id, or a stable hash of device, time and kind."),
  original_timestamp: z
    .string()
    .max(80)
    .optional()
    .describe('What the device sent as timestamp when it was unusable and the receive time replaced it.'),
  // ----- data operations (issue 16): which attempt of a message this enrichment is -----
  redrive_count: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('How many times the message was sent back from the dead-letter topic (absent: never).'),
  replay_id: z
    .string()
    .regex(/^rp-[a-z0-9]{8,40}$/)
    .optional()
    .describe('The replay that re-ran enrichment over this message with the then-current registry.'),
  detection: z.strictObject({
    method: z.enum(DETECTION_METHODS),
    score: z.number().min(0).max(1).optional().describe('The match score, for measurement_match.'),
    declared_type: z
      .string()
      .max(64)
      .optional()
      .describe('A device_type the payload declared that is not registered.'),
  }),
  // Ingest mappings (issue 14).
  mapping: z
    .strictObject({ mapping_id: z.string(), name: z.string(), version: z.number().int() })
    .optional()
    .describe('The ingest mapping that translated the payload into the contract, when one did.'),
});

export const ReadingQuality = z.strictObject({
  verdict: QualityVerdict,
  reasons: z.array(ReadingReason).optional(),
  // Units as data (issue 14).
  converted_from: z
    .strictObject({ value: z.number(), unit: z.string() })
    .optional()
    .describe("The value and unit as sent, when the reading was converted to the registry's unit."),
});

export const DataQuality = z.strictObject({
  verdict: QualityVerdict.describe('The worst of the message-level verdict and the reading verdicts.'),
  score: z
    .number()
    .min(0)
    .max(1)
    .describe('Mean reading score (GOOD 1, SUSPECT 0.5, BAD 0) times completeness.'),
  completeness: z.number().min(0).max(1).describe('Share of the required measurements that are present.'),
  reasons: z.array(MessageQualityReason),
  missing: z.array(MeasurementPath).describe('Required measurements that are absent.'),
  readings: z
    .record(z.string(), ReadingQuality)
    .describe('A verdict per reading (per trend channel for trends).'),
});

const EnrichmentBlocks = {
  device_metadata: DeviceMetadata,
  measurement_metadata: z
    .record(z.string(), MeasurementMetadata)
    .describe('Registry metadata for the measurements present, keyed by path.'),
  application_registry: ApplicationRegistryBlock,
  enrichment_info: EnrichmentInfo,
  data_quality: DataQuality,
  decoded: z
    .record(MeasurementPath, z.number())
    .optional()
    .describe(
      "Values of encoded readings (hex) after decoding, and of readings converted to the registry's unit.",
    ),
};

export const EnrichedMessage = z
  .discriminatedUnion('event_type', [
    RawTelemetry.extend(EnrichmentBlocks),
    RawTrends.extend(EnrichmentBlocks),
    RawStatus.extend(EnrichmentBlocks),
    RawEvent.extend(EnrichmentBlocks),
  ])
  .meta({ id: 'enriched-message', title: 'Enriched message (v1)' });

// ---------------------------------------------------------------------------------------------------
// Dead letters and alerts.

/** Why a message could not be enriched at all. */
export const REJECTION_REASONS = [
  'EMPTY_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'INVALID_UTF8',
  'INVALID_JSON',
  'NOT_AN_OBJECT',
  'TOO_DEEP',
  'FORBIDDEN_KEY',
  'MISSING_DEVICE_ID',
  'INVALID_DEVICE_ID',
  'DEVICE_ID_MISMATCH',
  'INVALID_EVENT_TYPE',
  'SCHEMA_VIOLATION',
  'UNKNOWN_DEVICE_TYPE',
] as const;
export const RejectionReason = z.enum(REJECTION_REASONS);

/** Why a pipeline stage dead-lettered a record it could not hand on (besides the core's rejections). */
export const PIPELINE_FAILURE_REASONS = [
  /** A buffer-queue message that is not the ingest rule's envelope. */
  'INVALID_ENVELOPE',
  /** A record that kept failing in a consumer past its retries. */
  'PROCESSING_FAILED',
  /** A publish on a topic no ingest rule matches (not `dt/{deviceType}/{deviceId}/{kind}`). */
  'TOPIC_NOT_ROUTED',
  /** A device topic whose type, id or kind is not a valid one. */
  'INVALID_TOPIC',
] as const;
export type PipelineFailureReason = (typeof PIPELINE_FAILURE_REASONS)[number];

export const DlqRecord = z
  .strictObject({
    contract_version: z.literal(CONTRACT_VERSION),
    reason: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,63}$/)
      .describe('A rejection reason, or a processing error code.'),
    detail: z.string().max(1024),
    path: z.string().max(256).optional().describe('Where in the payload the problem is, when known.'),
    received_at: z.string().regex(ISO_TIMESTAMP_PATTERN),
    failed_at: z.string().regex(ISO_TIMESTAMP_PATTERN),
    stage: z.string().regex(SLUG_PATTERN),
    device_id: DeviceId.optional(),
    source: z
      .strictObject({
        mqtt_topic: z.string().max(256).optional(),
        kafka_topic: z.string().max(249).optional(),
        partition: z.number().int().min(0).optional(),
        offset: z.string().regex(/^\d+$/).optional(),
      })
      .optional(),
    // Data operations (issue 16): a redriven message that failed again keeps its count.
    redrive_count: z.number().int().min(1).optional().describe('Redrives of this message so far.'),
    original_base64: z.string().describe('The original bytes, unchanged.'),
    original_size_bytes: z.number().int().min(0),
  })
  .meta({ id: 'dlq-record', title: 'Dead-letter record (v1)' });

export const Alert = z
  .strictObject({
    alert_id: z
      .string()
      .describe('Stable for the same device, rule and message: consumers can de-duplicate.'),
    device_id: DeviceId,
    device_type: DeviceTypeId,
    rule_id: z.string().regex(SLUG_PATTERN),
    rule_name: z.string(),
    path: MeasurementPath,
    operator: z.enum(['gt', 'gte', 'lt', 'lte', 'eq', 'outside_range', 'inside_range']),
    value: z.union([z.number(), z.boolean(), z.string()]),
    threshold: z.union([z.number(), z.boolean(), z.string()]).optional(),
    range: z.strictObject({ min: z.number(), max: z.number() }).optional(),
    unit: z.string(),
    severity: z.enum(['critical', 'high', 'medium', 'low']),
    triggered_at: z.string().regex(ISO_TIMESTAMP_PATTERN).describe('The reading time.'),
    raised_at: z.string().regex(ISO_TIMESTAMP_PATTERN),
    message_id: z.string(),
    // --- Alert transitions (issue 15; /work/helper-notes/s6/alert-contract.md). All optional: a record
    // without `transition` is a v1 raise. A clear is its own record: `alert_id` is
    // `${raised_alert_id}:cleared`, stable, so a redelivered clear de-duplicates like a raise.
    transition: z.enum(['raised', 'cleared']).optional(),
    cleared_by: z.enum(['condition', 'operator']).optional().describe('For a clear: what ended it.'),
    raised_alert_id: z.string().optional().describe('For a clear: the alert_id of the raise it ends.'),
    rule_kind: z
      .string()
      .regex(SLUG_PATTERN)
      .optional()
      .describe('threshold, rate_of_change, group or no_data: for display.'),
  })
  .meta({ id: 'alert', title: 'Alert (v1)' });

export type RawTelemetry = z.infer<typeof RawTelemetry>;
export type RawTrends = z.infer<typeof RawTrends>;
export type RawStatus = z.infer<typeof RawStatus>;
export type RawEvent = z.infer<typeof RawEvent>;
export type RawMessage = z.infer<typeof RawMessage>;
export type TrendStatistics = z.infer<typeof TrendStatistics>;
export type WireScalar = z.infer<typeof WireScalar>;
export type QualityVerdict = z.infer<typeof QualityVerdict>;
export type ReadingReason = z.infer<typeof ReadingReason>;
export type MessageQualityReason = z.infer<typeof MessageQualityReason>;
export type DetectionMethod = (typeof DETECTION_METHODS)[number];
export type DeviceMetadata = z.infer<typeof DeviceMetadata>;
export type MeasurementMetadata = z.infer<typeof MeasurementMetadata>;
export type PublicApplication = z.infer<typeof PublicApplication>;
export type ApplicationRegistryBlock = z.infer<typeof ApplicationRegistryBlock>;
export type EnrichmentInfo = z.infer<typeof EnrichmentInfo>;
export type ReadingQuality = z.infer<typeof ReadingQuality>;
export type DataQuality = z.infer<typeof DataQuality>;
export type EnrichedMessage = z.infer<typeof EnrichedMessage>;
export type RejectionReason = z.infer<typeof RejectionReason>;
export type DlqRecord = z.infer<typeof DlqRecord>;
export type Alert = z.infer<typeof Alert>;
