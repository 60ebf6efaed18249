/**
 * Registry contract (v1): device types, alert rules and applications, as stored in `registry-data/`
 * and, later, in DynamoDB. Registry entities use camelCase, like the HTTP API that edits them.
 *
 * These zod schemas are the single source of truth: the TypeScript types are inferred from them and
 * the JSON Schemas in `registry-data/schemas/` are generated from them (`npm run schemas`).
 */
import { z } from 'zod';
import {
  MEASUREMENT_KEY_PATTERN,
  MEASUREMENT_PATH_PATTERN,
  SLUG_PATTERN,
  TYPE_ID_PATTERN,
} from './identifiers.js';

export const TypeId = z.string().regex(TYPE_ID_PATTERN).describe('Device-type id, lower snake case.');
export const MeasurementKey = z.string().regex(MEASUREMENT_KEY_PATTERN);
export const MeasurementPath = z
  .string()
  .regex(MEASUREMENT_PATH_PATTERN)
  .describe('A top-level measurement or a group component: `temperature`, `voltage.phase_a`.');

const Description = z.string().min(1).max(500);

export const NumericRange = z
  .strictObject({ min: z.number(), max: z.number() })
  .refine((range) => range.min <= range.max, { message: 'min must not exceed max' });

export const AllowedValue = z.strictObject({
  value: z.union([z.number(), z.boolean(), z.string().max(256)]),
  label: z.string().min(1).max(64),
});

export const HexEncoding = z
  .strictObject({
    format: z.literal('hex'),
    type: z.enum(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'float32']),
    byteOrder: z.enum(['big', 'little']),
    scale: z.number().describe('Decoded value = raw integer * scale + offset.'),
    offset: z.number(),
  })
  .describe(
    'The wire value is a hex string of exactly the type width, decoded by the core before validation.',
  );

export const ReadingDataType = z.enum(['number', 'integer', 'boolean', 'string']);

/**
 * One reading. `unit` is mandatory: dimensionless quantities use "1", switches and codes "state",
 * free text "text", so a consumer never has to guess.
 */
export const ReadingDefinition = z
  .strictObject({
    description: Description,
    unit: z.string().min(1).max(16),
    dataType: ReadingDataType.describe('Type after decoding.'),
    required: z.boolean(),
    validRange: NumericRange.optional().describe(
      'Physically or technically possible values; outside is BAD.',
    ),
    normalRange: NumericRange.optional().describe(
      'Expected operating band, for display; alerts come from rules.',
    ),
    allowedValues: z.array(AllowedValue).min(1).max(64).optional(),
    maxLength: z.number().int().min(1).max(2048).optional(),
    encoding: HexEncoding.optional(),
  })
  .refine((d) => d.dataType === 'string' || d.dataType === 'boolean' || d.validRange || d.allowedValues, {
    message: 'numeric readings need validRange or allowedValues',
  })
  .refine((d) => d.dataType !== 'string' || d.maxLength !== undefined, {
    message: 'string readings need maxLength',
  })
  .refine((d) => !d.encoding || d.dataType === 'number' || d.dataType === 'integer', {
    message: 'encoded readings decode to number or integer',
  });

export const GroupDefinition = z.strictObject({
  description: Description,
  required: z.boolean(),
  components: z.record(MeasurementKey, ReadingDefinition).refine((c) => Object.keys(c).length > 0, {
    message: 'a group needs at least one component',
  }),
});

export const MeasurementDefinition = z.union([GroupDefinition, ReadingDefinition]);

export const Manufacturer = z.strictObject({
  name: z.string().min(1).max(100),
  models: z.array(z.string().min(1).max(64)).min(1),
  specifications: z
    .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]{0,63}$/), z.union([z.string(), z.number()]))
    .optional(),
});

export const DeviceType = z
  .strictObject({
    typeId: TypeId,
    name: z.string().min(1).max(100),
    description: Description,
    category: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
    version: z.number().int().min(1).describe('Bumped on every change; stamped on each enriched message.'),
    capabilities: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/)),
    rated: z
      .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]{0,63}$/), z.number())
      .optional()
      .describe('Nameplate ratings (nominalVoltageV, ratedCurrentA, ...), consistent with the valid ranges.'),
    manufacturers: z.array(Manufacturer),
    dataFormat: z.literal('json'),
    updateFrequencySeconds: z.number().int().min(1),
    retentionDays: z.number().int().min(1),
    dimensions: z
      .array(MeasurementKey)
      .max(8)
      .describe('Message tags written as time-series dimensions (bounded, low cardinality).'),
    measurements: z.record(MeasurementKey, MeasurementDefinition),
  })
  .meta({ id: 'device-type', title: 'Device type (v1)' });

const RuleIdentity = {
  ruleId: z.string().regex(SLUG_PATTERN),
  name: z.string().min(1).max(100),
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  enabled: z.boolean(),
};
const RuleBase = { ...RuleIdentity, path: MeasurementPath };

// --- Rule language (issue 15). Every field added here is optional or lives in a new rule kind, so the
// v1 rules (a threshold, an equality or a range on one reading, raised at once) read unchanged.
const ForSeconds = z
  .number()
  .int()
  .min(0)
  .max(86_400)
  .optional()
  .describe(
    "The condition must hold this long (reading time) before it raises, like Grafana's pending period.",
  );
const ClearThreshold = z
  .number()
  .optional()
  .describe(
    'Hysteresis: once raised, the alert clears only when the value is past this on the other side ' +
      '(below it for gt/gte, above it for lt/lte); between the two thresholds the alert holds.',
  );
const ComparisonOperator = z.enum(['gt', 'gte', 'lt', 'lte']);

/** For gt/gte the clear threshold sits at or below the raise threshold, for lt/lte at or above it. */
const clearThresholdOnTheClearSide = (rule: {
  operator: 'gt' | 'gte' | 'lt' | 'lte';
  threshold: number;
  clearThreshold?: number | undefined;
}) =>
  rule.clearThreshold === undefined ||
  (rule.operator.startsWith('g')
    ? rule.clearThreshold <= rule.threshold
    : rule.clearThreshold >= rule.threshold);
const CLEAR_SIDE_MESSAGE =
  'clearThreshold must be at or below threshold for gt/gte, at or above it for lt/lte';

export const ComparisonRule = z
  .strictObject({
    ...RuleBase,
    operator: ComparisonOperator,
    threshold: z.number(),
    clearThreshold: ClearThreshold,
    forSeconds: ForSeconds,
  })
  .refine(clearThresholdOnTheClearSide, { message: CLEAR_SIDE_MESSAGE, path: ['clearThreshold'] });

export const EqualityRule = z.strictObject({
  ...RuleBase,
  operator: z.literal('eq'),
  threshold: z.union([z.number(), z.boolean(), z.string().max(256)]),
  forSeconds: ForSeconds,
});

export const RangeRule = z
  .strictObject({
    ...RuleBase,
    operator: z.enum(['outside_range', 'inside_range']),
    min: z.number(),
    max: z.number(),
    forSeconds: ForSeconds,
  })
  .refine((rule) => rule.min <= rule.max, { message: 'min must not exceed max' });

/** A v1 rule on one reading (operator and threshold or range), optionally held `forSeconds`. */
export const ThresholdRule = z.discriminatedUnion('operator', [ComparisonRule, EqualityRule, RangeRule]);

export const RateOfChangeRule = z
  .strictObject({
    kind: z.literal('rate_of_change'),
    ...RuleBase,
    path: MeasurementPath.describe('A numeric reading.'),
    operator: ComparisonOperator,
    threshold: z.number().describe("Change of the reading per second, in the reading's unit per second."),
    clearThreshold: ClearThreshold,
    forSeconds: ForSeconds,
    maxGapSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .describe(
        'Two readings further apart than this are not compared. Default: the type update frequency times 3.',
      ),
    minSpanSeconds: z
      .number()
      .min(0)
      .max(86_400)
      .optional()
      .describe(
        'A rate is taken over at least this many seconds: a reading closer than this to the one the last ' +
          'rate was taken from is skipped, so a device (or a backlog) sending faster than its update ' +
          'frequency does not turn sensor noise into steep rates. Default: half the type update frequency.',
      ),
  })
  .refine(clearThresholdOnTheClearSide, { message: CLEAR_SIDE_MESSAGE, path: ['clearThreshold'] })
  .refine(
    (rule) =>
      rule.minSpanSeconds === undefined ||
      rule.maxGapSeconds === undefined ||
      rule.minSpanSeconds <= rule.maxGapSeconds,
    { message: 'minSpanSeconds must not exceed maxGapSeconds', path: ['minSpanSeconds'] },
  );

/** One comparison inside a group: the v1 operators on one reading, no state of its own. */
export const ConditionLeaf = z.discriminatedUnion('operator', [
  z.strictObject({ path: MeasurementPath, operator: ComparisonOperator, threshold: z.number() }),
  z.strictObject({
    path: MeasurementPath,
    operator: z.literal('eq'),
    threshold: z.union([z.number(), z.boolean(), z.string().max(256)]),
  }),
  z
    .strictObject({
      path: MeasurementPath,
      operator: z.enum(['outside_range', 'inside_range']),
      min: z.number(),
      max: z.number(),
    })
    .refine((leaf) => leaf.min <= leaf.max, { message: 'min must not exceed max' }),
]);
const GroupMatch = z
  .enum(['all', 'any'])
  .describe('all: every condition holds (AND); any: at least one holds (OR).');
export const NestedConditionGroup = z.strictObject({
  match: GroupMatch,
  conditions: z.array(ConditionLeaf).min(1).max(16),
});

export const GroupRule = z.strictObject({
  kind: z.literal('group'),
  ...RuleIdentity,
  match: GroupMatch,
  conditions: z
    .array(z.union([ConditionLeaf, NestedConditionGroup]))
    .min(1)
    .max(16)
    .describe(
      'Conditions or one level of nested groups. A condition whose reading is missing from a message is ' +
        'unknown: the group then raises or clears only if the known conditions decide it.',
    ),
  forSeconds: ForSeconds,
});

export const NoDataRule = z.strictObject({
  kind: z.literal('no_data'),
  ...RuleIdentity,
  path: MeasurementPath.optional().describe('One reading; absent: the device as a whole.'),
  silentSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .optional()
    .describe(
      'Raised when nothing (or nothing for `path`) arrived for longer than this. Default: the type update ' +
        'frequency times 3, at least 60 s (the evaluator runs once a minute).',
    ),
});

export const AlertRule = z.union([ThresholdRule, RateOfChangeRule, GroupRule, NoDataRule]);

export const AlertRuleSet = z
  .strictObject({
    deviceType: TypeId,
    rules: z.array(AlertRule),
  })
  .meta({ id: 'alert-rules', title: 'Alert rules of one device type (v1)' });

export const ApplicationPlatform = z.enum(['web', 'mobile', 'desktop', 'api']);
export const ApplicationStatus = z.enum(['active', 'inactive', 'pending']);

export const Application = z
  .strictObject({
    applicationId: z.uuid(),
    name: z.string().min(1).max(100),
    description: z.string().max(1000).optional(),
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    developer: z.string().min(1).max(100),
    contactEmail: z.email().describe('Private: never copied into messages or list responses.'),
    // Issue 14: free text, as in the prototype's app registry ("Monitoring" is valid).
    category: z
      .string()
      .min(1)
      .max(50)
      .regex(/^\P{Cc}+$/u, 'must be text without control characters')
      .describe('Free text, 1-50 characters, e.g. "Monitoring".'),
    platform: ApplicationPlatform,
    deviceTypes: z.array(TypeId).describe('Exact device-type ids; each must exist in the registry.'),
    status: ApplicationStatus,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'application', title: 'Application registration (v1)' });

export type NumericRange = z.infer<typeof NumericRange>;
export type HexEncoding = z.infer<typeof HexEncoding>;
export type ReadingDataType = z.infer<typeof ReadingDataType>;
export type ReadingDefinition = z.infer<typeof ReadingDefinition>;
export type GroupDefinition = z.infer<typeof GroupDefinition>;
export type MeasurementDefinition = z.infer<typeof MeasurementDefinition>;
export type DeviceType = z.infer<typeof DeviceType>;
export type AlertRule = z.infer<typeof AlertRule>;
export type ThresholdRule = z.infer<typeof ThresholdRule>;
export type RateOfChangeRule = z.infer<typeof RateOfChangeRule>;
export type GroupRule = z.infer<typeof GroupRule>;
export type NoDataRule = z.infer<typeof NoDataRule>;
export type ConditionLeaf = z.infer<typeof ConditionLeaf>;
export type NestedConditionGroup = z.infer<typeof NestedConditionGroup>;
export type AlertRuleKind = 'threshold' | 'rate_of_change' | 'group' | 'no_data';
/** Rules evaluated on one reading of each message. */
export type ReadingRule = ThresholdRule | RateOfChangeRule;

export const ruleKind = (rule: AlertRule): AlertRuleKind => ('kind' in rule ? rule.kind : 'threshold');
export type AlertRuleSet = z.infer<typeof AlertRuleSet>;
export type AlertSeverity = AlertRule['severity'];
export type Application = z.infer<typeof Application>;

export const isGroupDefinition = (definition: MeasurementDefinition): definition is GroupDefinition =>
  'components' in definition;
