/**
 * The API's request and response schemas (zod). The handlers validate with the request schemas and
 * the OpenAPI document (./openapi.ts) is generated from the same objects, so the two cannot drift.
 * Query and body schemas are strict: an unknown field is a 400 that names it.
 */
import { z } from 'zod';
import {
  DEVICE_ID_PATTERN,
  SLUG_PATTERN,
  TIMESERIES_MEASURE_PATTERN,
  TYPE_ID_PATTERN,
} from '../../core/contract/identifiers.js';
import { IngestMapping } from '../../core/contract/ingest-mapping.js';
import { Alert } from '../../core/contract/messages.js';
import { CHANNEL_ID_PATTERN } from '../../core/contract/notification-channel.js';
import {
  AlertRule,
  Application,
  ApplicationStatus,
  DeviceType,
  TypeId,
} from '../../core/contract/registry.js';
import { DATA_OPS_PATH_PARAMETERS } from './data-ops.js';

const limit = (max: number, fallback: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback).describe(`At most ${max}; default ${fallback}.`);
const typeIdFilter = z
  .string()
  .regex(TYPE_ID_PATTERN, 'must be a device type id (lower snake case)')
  .describe('Exact device-type id: `smart_breaker` never matches `smart_breaker_v2`.');
const deviceIdFilter = z.string().regex(DEVICE_ID_PATTERN, 'must be a valid device id');
const Severity = z.enum(['critical', 'high', 'medium', 'low']);

// ---------------------------------------------------------------------------------------------------
// Path parameters (checked by ./request.ts with the same patterns; declared here for the document).

/** The alert_id alphabet (the alert store's check, repeated before any query; issue 15). */
export const ALERT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$/;

export const PATH_PARAMETERS: Record<string, z.ZodType> = {
  typeId: z.string().regex(TYPE_ID_PATTERN),
  id: z.uuid().describe('Application id.'),
  deviceId: z.string().regex(DEVICE_ID_PATTERN),
  // Notification channels (issue 15).
  channelId: z.string().regex(CHANNEL_ID_PATTERN),
  // Issue 14: GET /api/applications/by-device-type/{type}.
  type: z.string().regex(TYPE_ID_PATTERN).describe('Exact device-type id.'),
  // Ingest mappings (issue 14).
  mappingId: z.string().regex(SLUG_PATTERN).describe('Ingest mapping id.'),
  // Data operations (issue 16).
  ...DATA_OPS_PATH_PARAMETERS,
  alertId: z.string().regex(ALERT_ID_PATTERN).describe('An alert_id (issue 15 lifecycle routes).'),
};

// ---------------------------------------------------------------------------------------------------
// Queries.

export const ApplicationsQuery = z.strictObject({
  deviceType: typeIdFilter.optional(),
  status: ApplicationStatus.optional(),
});

export const DevicesQuery = z.strictObject({
  deviceType: typeIdFilter.optional(),
  limit: limit(500, 100),
  cursor: z.string().max(2048).optional().describe('From the previous page.'),
});

/** Bucket names and their widths: the telemetry route's `bucket` values. */
export const BUCKETS = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
} as const satisfies Record<string, number>;
export type BucketName = keyof typeof BUCKETS;

const isoTime = z.iso
  .datetime({ offset: true })
  .transform((text) => Date.parse(text))
  .describe('ISO 8601 date-time with an offset or Z.');

/** Largest number of points one telemetry response carries. */
export const MAX_TELEMETRY_POINTS = 10_000;

export const TelemetryQuery = z.strictObject({
  measure: z
    .string()
    .regex(TIMESERIES_MEASURE_PATTERN, 'must be a measurement path such as voltage.phase_a')
    .describe('A measurement path such as `voltage.phase_a`.'),
  from: isoTime.optional().describe('Default: one hour before `to`.'),
  to: isoTime.optional().describe('Default: now.'),
  bucket: z.enum(Object.keys(BUCKETS) as [BucketName, ...BucketName[]]).optional(),
  limit: limit(MAX_TELEMETRY_POINTS, 1000),
});

export const MessagesQuery = z.strictObject({
  stage: z.enum(['raw', 'enriched', 'dlq']).default('enriched'),
  deviceId: deviceIdFilter.optional(),
  limit: limit(200, 50),
});

export const StatsQuery = z.strictObject({
  window: z
    .string()
    .regex(/^\d{1,4}m$/, 'must be minutes, e.g. 15m')
    .refine((text) => {
      const minutes = Number(text.slice(0, -1));
      return minutes >= 1 && minutes <= 1440;
    }, 'must be 1m to 1440m')
    .default('15m'),
});

/** The alert store's own bound (functions/adapters/dynamodb/alerts.ts MAX_ALERT_QUERY). */
export const MAX_ALERTS = 500;

export const AlertsQuery = z.strictObject({
  deviceId: deviceIdFilter.optional(),
  severity: Severity.optional(),
  limit: limit(MAX_ALERTS, 50),
  // --- Alert lifecycle (issue 15): with `state`, raised alerts only.
  state: z.enum(['active', 'acknowledged', 'cleared']).optional(),
  ruleId: z.string().regex(SLUG_PATTERN, 'must be a rule id (a-z 0-9 _ -)').optional(),
});

/** POST /api/alerts/{alertId}/acknowledge. */
export const AcknowledgeBody = z.strictObject({
  note: z.string().min(1).max(1000).optional().describe('Why, or what is being done.'),
});

// ---------------------------------------------------------------------------------------------------
// Bodies.

/**
 * PUT /api/device-types/{typeId}: the definition (validated by the registry's DeviceType schema, the
 * one the registry's JSON Schema is generated from), with `typeId` optional (the path names it) and
 * `version` optional (when given it must be the stored version, like If-Match). `alertRules`, when
 * given, replaces the type's rules; left out, they stay. What GET returned can be sent back as is.
 */
export const DeviceTypeBody = DeviceType.extend({
  typeId: TypeId.optional(),
  version: z.number().int().min(1).optional().describe('The version this edit is based on.'),
  alertRules: z.array(AlertRule).max(100).optional(),
  // Read-only, ignored: so a definition as GET returned it can be edited and sent back as is.
  updatedAt: z.string().max(64).optional().describe('Read-only; ignored.'),
});

const ApplicationFields = Application.omit({ applicationId: true, createdAt: true, updatedAt: true });

/** POST /api/applications. `status` defaults to `active`. */
export const ApplicationCreateBody = ApplicationFields.extend({ status: ApplicationStatus.optional() });

/** PATCH /api/applications/{id}: any subset of the fields; those left out keep their value. */
export const ApplicationPatchBody = ApplicationFields.partial();

// ---------------------------------------------------------------------------------------------------
// Responses (for the document; the handlers build them from the ports' types).

export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().regex(/^[A-Z_]+$/),
    message: z.string(),
    details: z.array(z.strictObject({ field: z.string(), message: z.string() })),
  }),
});

export const Health = z.strictObject({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  components: z.record(z.string(), z.enum(['ok', 'degraded'])),
});

export const DeviceTypeSummary = z.strictObject({
  typeId: TypeId,
  name: z.string(),
  category: z.string(),
  version: z.number().int(),
  measurementCount: z.number().int(),
});

export const DeviceTypeFull = DeviceType.extend({
  alertRules: z.array(AlertRule),
  updatedAt: z.string(),
});

export const ApplicationSummary = Application.omit({ contactEmail: true });

export const DeviceSummary = z.strictObject({
  deviceId: z.string(),
  deviceType: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  messageCount: z.number().int(),
  status: z.enum(['online', 'offline', 'unknown']),
});
export type DeviceSummary = z.infer<typeof DeviceSummary>;

const Scalar = z.union([z.number(), z.boolean(), z.string()]);

export const DeviceDetail = DeviceSummary.extend({
  latest: z.array(
    z.strictObject({
      measure: z.string(),
      value: Scalar,
      unit: z.string().optional(),
      time: z.string(),
      quality: z.enum(['GOOD', 'SUSPECT']),
    }),
  ),
});

export const Telemetry = z.strictObject({
  deviceId: z.string(),
  measure: z.string(),
  bucket: z.string().optional(),
  points: z.array(
    z.union([
      z.strictObject({ time: z.string(), value: Scalar, quality: z.enum(['GOOD', 'SUSPECT']) }),
      z.strictObject({
        time: z.string(),
        avg: z.number(),
        min: z.number(),
        max: z.number(),
        count: z.number(),
      }),
    ]),
  ),
});

export const MessageList = z.strictObject({
  stage: z.enum(['raw', 'enriched', 'dlq']),
  items: z.array(z.unknown()).describe('Samples, newest first; DLQ items carry `reason` and the original.'),
});

export const Stats = z
  .looseObject({
    windowMinutes: z.number().int(),
    totals: z.strictObject({ raw: z.number(), enriched: z.number(), dlq: z.number(), alerts: z.number() }),
    byDeviceType: z.record(z.string(), z.number()),
    quality: z.strictObject({ GOOD: z.number(), SUSPECT: z.number(), BAD: z.number() }),
    perMinute: z.array(z.looseObject({ minute: z.string() })),
    devicesSeen: z.number().int(),
    lastMessageTime: z.string().nullable(),
  })
  .describe('Measured totals and rates over the window.');

export const itemsOf = <T extends z.ZodType>(item: T) => z.strictObject({ items: z.array(item) });

export const DeviceList = z.strictObject({
  items: z.array(DeviceSummary),
  cursor: z.string().optional(),
});

export const AlertLifecycle = z
  .strictObject({
    state: z.enum(['active', 'acknowledged', 'cleared']),
    acknowledged_at: z.string().optional(),
    acknowledged_by: z.string().optional(),
    note: z.string().optional(),
    cleared_at: z.string().optional(),
    cleared_by: z.enum(['condition', 'operator']).optional(),
    cleared_by_user: z.string().optional(),
  })
  .describe('On raised alerts: acknowledged and/or cleared (issue 15).');
/** An alert event; raises carry `lifecycle`. */
export const AlertRecord = Alert.extend({ lifecycle: AlertLifecycle.optional() });
export const AlertList = itemsOf(AlertRecord);
export const AlertClearResult = z.strictObject({
  alert: AlertRecord,
  event: Alert.optional().describe('The clear event; absent when the alert was already cleared.'),
});

// ---------------------------------------------------------------------------------------------------
// Issue 14: dry runs (functions/handlers/api/preview.ts) and the by-device-type alias.

export const PreviewBody = z.strictObject({
  topic: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('The MQTT topic it would be published on (e.g. `dt/smart_breaker/breaker-001/telemetry`).'),
  // Any JSON value (the body is parsed JSON, so nothing else can arrive); not z.json(), whose
  // recursive schema the OpenAPI document cannot name.
  payload: z
    .unknown()
    .refine((value) => value !== undefined, 'required')
    .describe(
      'The payload: a JSON value (sent as its JSON text), or a string holding the raw bytes as text. At most IoT Core’s 128 KB.',
    ),
});

const PreviewRejection = z.strictObject({
  stage: z.enum(['ingest', 'enrich']),
  reason: z.string(),
  detail: z.string(),
  path: z.string().optional(),
  deviceId: z.string().optional(),
});

const ReadingVerdicts = z.record(
  z.string(),
  z.looseObject({ verdict: z.enum(['GOOD', 'SUSPECT', 'BAD']), reasons: z.array(z.string()).optional() }),
);

export const PayloadPreview = z
  .strictObject({
    outcome: z.enum(['enriched', 'rejected']),
    stored: z.literal(false),
    topic: z.string().optional(),
    rejection: PreviewRejection.optional(),
    deviceId: z.string().optional(),
    deviceType: z.string().optional(),
    verdict: z.enum(['GOOD', 'SUSPECT', 'BAD']).optional(),
    readings: ReadingVerdicts.optional(),
    message: z.looseObject({}).optional().describe('The enriched message, as iot.enriched would carry it.'),
    alerts: z
      .strictObject({
        wouldRaise: z.array(Alert),
        continuing: z.array(z.string()),
        notMatched: z.array(z.string()),
        alertStateKnown: z.boolean(),
      })
      .optional(),
    timeseries: z.array(z.looseObject({ measure: z.string(), time: z.string() })).optional(),
  })
  .describe('What the pipeline would do with the payload; nothing was stored or published.');

export const PreviewFate = z.strictObject({
  verdict: z.enum(['GOOD', 'SUSPECT', 'BAD', 'REJECTED']),
  deviceType: z.string().optional(),
  reason: z.string().optional(),
});
export const PreviewFateCounts = z.strictObject({
  GOOD: z.number().int(),
  SUSPECT: z.number().int(),
  BAD: z.number().int(),
  REJECTED: z.number().int(),
});

export const DraftTypePreview = z
  .strictObject({
    typeId: TypeId,
    stored: z.literal(false),
    replayed: z.number().int(),
    ofType: z.number().int(),
    changed: z.number().int(),
    unchanged: z.number().int(),
    before: PreviewFateCounts,
    after: PreviewFateCounts,
    changes: z.array(
      z.strictObject({
        messageId: z.string(),
        deviceId: z.string().optional(),
        sample: z.strictObject({ stage: z.string(), id: z.string() }),
        receivedAt: z.string(),
        before: PreviewFate,
        after: PreviewFate,
        readings: z.array(
          z.strictObject({ path: z.string(), before: z.string().nullable(), after: z.string().nullable() }),
        ),
      }),
    ),
  })
  .describe('How the draft would change the verdicts of the type’s recently kept messages.');
// Ingest mappings (issue 14).

export const IngestMappingBody = IngestMapping.extend({
  mappingId: IngestMapping.shape.mappingId.optional(),
  version: z.number().int().min(1).optional().describe('The version this edit is based on.'),
  // Read-only, ignored: so a mapping as GET returned it can be edited and sent back as is.
  updatedAt: z.string().max(64).optional().describe('Read-only; ignored.'),
});

export const IngestMappingFull = IngestMapping.extend({ updatedAt: z.string() });

export const IngestMappingSummary = z.strictObject({
  mappingId: z.string(),
  name: z.string(),
  version: z.number().int(),
  topic: z.string().describe('The topic filter that selects it.'),
  deviceType: z.string().optional(),
});
