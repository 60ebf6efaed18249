/**
 * Ingest mapping contract (v1): a declared, versioned translation of one device family's own payloads
 * into the raw-message contract, applied by the core before the contract check. Stored like device
 * types (registry-data/ingest-mappings/*.json, DynamoDB, the HTTP API); the JSON Schema in
 * registry-data/schemas/ is generated from this zod schema (`npm run schemas`).
 *
 * A mapping only translates: the core stays the only judge of quality. A value a step cannot read
 * (an unparseable timestamp, a non-numeric string) is left as it is for the contract or the
 * validation to judge.
 */
import { z } from 'zod';
import {
  MEASUREMENT_KEY_PATTERN,
  MEASUREMENT_PATH_PATTERN,
  SLUG_PATTERN,
  TYPE_ID_PATTERN,
} from './identifiers.js';
import { EVENT_TYPES } from './messages.js';

/** A segment name in a topic filter: `{deviceId}`, `{component}`. */
export const TOPIC_SEGMENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

/**
 * A topic filter: literal levels, `+` (any one level) or `{name}` (any one level, bound to a name the
 * steps can read). `#` is not accepted: a mapping selects a definite shape of topic. MQTT topics are at
 * most 8 levels deep under IoT Core's rules (see functions/shared/iot-rules.ts), so filters are too.
 */
export const TOPIC_FILTER_PATTERN =
  /^([A-Za-z0-9_.:-]+|\+|\{[A-Za-z][A-Za-z0-9_]{0,31}\})(\/([A-Za-z0-9_.:-]+|\+|\{[A-Za-z][A-Za-z0-9_]{0,31}\})){0,7}$/;

/** A dotted path into the payload (`measurements.voltage`, `status.uptime_hours`); keys as devices spell them. */
export const PAYLOAD_PATH_PATTERN = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,3}$/;

const PayloadPath = z.string().regex(PAYLOAD_PATH_PATTERN);
const WireKey = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
const Unit = z.string().min(1).max(16);
const Scalar = z.union([z.number(), z.boolean(), z.string().max(256)]);

export const TIMESTAMP_FORMATS = ['iso', 'epoch_s', 'epoch_ms'] as const;

/** `UTC`, a fixed offset (`+02:00`) or an IANA zone name (`Europe/Paris`). */
export const TimeZone = z
  .string()
  .regex(/^(UTC|[+-]([01]\d|2[0-3]):[0-5]\d|[A-Za-z]+(\/[A-Za-z0-9_+-]+){1,2})$/)
  .refine(
    (zone) => {
      if (zone === 'UTC' || /^[+-]/.test(zone)) return true;
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'is not a time zone this runtime knows' },
  );

export const MoveStep = z
  .strictObject({
    op: z.literal('move'),
    from: PayloadPath.optional().describe('Payload path to move from (removed there).'),
    fromTopic: z
      .string()
      .regex(TOPIC_SEGMENT_NAME_PATTERN)
      .optional()
      .describe('A named segment of the topic filter.'),
    value: Scalar.optional().describe('A constant.'),
    to: PayloadPath,
  })
  .refine((s) => [s.from, s.fromTopic, s.value].filter((v) => v !== undefined).length === 1, {
    message: 'a move takes exactly one of from, fromTopic, value',
  })
  .describe('Moves or renames a field, or sets it from a topic segment or a constant.');

export const UnwrapUnitsStep = z
  .strictObject({ op: z.literal('unwrapUnits'), at: PayloadPath.default('measurements') })
  .describe(
    'Under `at`: `{value, unit}` becomes the value, with its unit declared in `units`; a group with a ' +
      '`unit` key keeps its readings and declares that unit for the group (it applies to the readings it fits).',
  );

export const NumbersStep = z
  .strictObject({ op: z.literal('numbers'), at: PayloadPath })
  .describe('Reads decimal strings under `at` (two levels deep) as numbers.');

export const TimestampStep = z
  .strictObject({
    op: z.literal('timestamp'),
    at: PayloadPath.default('timestamp'),
    format: z.enum(TIMESTAMP_FORMATS),
    zone: TimeZone.default('UTC').describe('For ISO times without a zone.'),
  })
  .describe('Rewrites a naive ISO time (in `zone`) or an epoch time as ISO 8601 UTC.');

export const ConvertStep = z
  .strictObject({ op: z.literal('convert'), at: PayloadPath, from: Unit, to: Unit })
  .describe('Converts one numeric field between units (hours to seconds, ...), with the units library.');

export const ChannelsStep = z
  .strictObject({
    op: z.literal('channels'),
    from: PayloadPath.describe('The array of channel objects.'),
    channelKey: WireKey.describe('The key that names the channel in each element.'),
    stats: z
      .strictObject({ last: WireKey, avg: WireKey, min: WireKey, max: WireKey, count: WireKey.optional() })
      .describe('Which element keys hold the statistics.'),
    channels: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().regex(MEASUREMENT_PATH_PATTERN))
      .describe('Wire channel name or numeric id to measurement path; unlisted channels keep their name.'),
    window: z.strictObject({
      endAt: PayloadPath.default('timestamp').describe('Field (already ISO UTC) that ends the window.'),
      seconds: z.number().int().min(1).max(86_400),
    }),
    count: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Values per window when the device does not say (its publishing period into the window).'),
  })
  .describe('Turns a channel array into the trends form: `window` and per-path statistics.');

export const ComponentStep = z
  .strictObject({
    op: z.literal('component'),
    fromTopic: z.string().regex(TOPIC_SEGMENT_NAME_PATTERN).describe('The segment naming the component.'),
    components: z.record(
      WireKey,
      z.strictObject({
        group: z.string().regex(MEASUREMENT_KEY_PATTERN),
        keys: z.record(WireKey, z.string().regex(MEASUREMENT_KEY_PATTERN)),
      }),
    ),
    keep: z
      .array(PayloadPath)
      .default(['timestamp', 'device_id', 'device_type', 'event_type', 'message_id', 'tags'])
      .describe('Top-level fields that are not readings.'),
  })
  .describe(
    "Merges a one-component message into the type's readings: the payload's other top-level fields " +
      'become the components of the group the topic names, renamed by its key table.',
  );

export const DropStep = z
  .strictObject({ op: z.literal('drop'), paths: z.array(PayloadPath).min(1) })
  .describe('Drops declared extra fields.');

export const MappingStep = z.union([
  MoveStep,
  UnwrapUnitsStep,
  NumbersStep,
  TimestampStep,
  ConvertStep,
  ChannelsStep,
  ComponentStep,
  DropStep,
]);

export const PayloadShape = z
  .strictObject({
    has: z.array(PayloadPath).max(16).optional().describe('Paths that must be present.'),
    absent: z.array(PayloadPath).max(16).optional().describe('Paths that must be absent.'),
    equals: z.record(PayloadPath, Scalar).optional().describe('Paths that must hold these values.'),
  })
  .describe('Selects by payload where the topic does not tell.');

export const IngestMapping = z
  .strictObject({
    mappingId: z.string().regex(SLUG_PATTERN),
    name: z.string().min(1).max(100),
    description: z.string().min(1).max(1000),
    version: z.number().int().min(1).describe('Bumped on every change; stamped on each mapped message.'),
    match: z.strictObject({
      topic: z
        .string()
        .max(256)
        .regex(TOPIC_FILTER_PATTERN)
        .describe('MQTT topic filter with `+` or `{name}` levels; `{deviceId}` binds the device id.'),
      payload: PayloadShape.optional(),
    }),
    deviceType: z.string().regex(TYPE_ID_PATTERN).optional().describe('Set as device_type when absent.'),
    eventType: z.enum(EVENT_TYPES).optional().describe('Set as event_type when absent.'),
    steps: z.array(MappingStep).max(32),
  })
  .meta({ id: 'ingest-mapping', title: 'Ingest mapping (v1)' });

export type IngestMapping = z.infer<typeof IngestMapping>;
export type IngestMappingInput = z.input<typeof IngestMapping>;
export type MappingStep = z.infer<typeof MappingStep>;
export type PayloadShape = z.infer<typeof PayloadShape>;
