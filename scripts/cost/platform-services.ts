/**
 * The cost of what the stacks deploy beside the message pipeline (model.ts prices the pipeline):
 * the alerts table's traffic and the notifier on its stream, the SNS topic, the no-data evaluator and
 * its one-minute schedule, the hourly rollup, the storage and point-in-time recovery of every table,
 * and the EMF custom metrics. Pure arithmetic over the model's context, like the model.
 *
 * Free or negligible, and so not priced (each with its reason):
 * - DynamoDB Streams reads by a Lambda trigger are free ("Read requests made by AWS Lambda-based
 *   consumers of DynamoDB Streams are free", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html),
 *   and a stream costs nothing idle; the notifier's filter keeps the other records from invoking it.
 * - The data-operations function and its operations table: on demand, invoked only by an operator's
 *   triage, redrive or replay (no schedule, no reserved-concurrency charge): no idle cost.
 * - The notifier's failure queue and the failed-records bucket: written only on failures.
 * - The hourly EventBridge rule of the rollup: 730 events a month.
 * - Tables of a few KB (device types, applications, ingest mappings, notification channels,
 *   operations, pipeline stats): their storage and PITR round to zero.
 */
import {
  INSPECTOR_KEEP_PER_DEVICE,
  INSPECTOR_TRIM_EVERY,
} from '../../functions/adapters/dynamodb/message-samples.js';
import { QUALITY_VERDICTS } from '../../functions/core/contract/messages.js';
import { NotificationSeverity } from '../../functions/core/contract/notification-channel.js';
import { LAMBDA_SIZING } from '../../functions/shared/lambda-sizing.js';
import { MESSAGE_STAGES, METRICS, NOTIFICATION_OUTCOMES } from '../../functions/shared/metrics.js';
import { TABLES, TIMESERIES_TABLES } from '../../functions/shared/tables.js';
import type { EnvironmentConfig } from '../../infra/lib/config.js';
import { type SizedFunction, stackInventory, writeUnitsWithIndexes } from './inventory.js';
import type { PriceKey } from './prices.js';

const MILLION = 1_000_000;
const GB = 1e9;
/** Read request units: 4 KB per strongly consistent read, half that eventually consistent. */
const READ_UNIT_BYTES = 4096;
const EVENTUAL_READ = 0.5;
/** Alerts are kept 30 days (DynamoAlertStore's default retention), samples 24 h (message-samples.ts). */
const ALERT_RETENTION_DAYS = 30;
const SAMPLE_RETENTION_DAYS = 1;
/** Hours a run of the rollup recomputes (ROLLUP_HOURS in functions/adapters/dynamodb/timeseries/rollup.ts). */
const ROLLUP_HOURS = 2;

/** The estimates this module adds to the model's ASSUMPTIONS (see model.ts). */
export interface PlatformAssumptions {
  /** Devices table item (id, type, lastSeen, message count, online flag, metadata). */
  readonly deviceItemBytes: number;
  /** Hourly rollup item: count, sum, min, max of each measure. */
  readonly rollupItemBytes: number;
  /** A condition-state item of the alerts table (onsets, clears, sample, version). */
  readonly alertStateItemBytes: number;
  /**
   * Notification channels an operator configures (none are deployed): one `sns` channel that wants
   * every alert, with one e-mail subscription on the topic.
   */
  readonly notifications: { readonly snsChannels: number; readonly emailSubscriptions: number };
  /** Wall time per invocation, to be replaced by the Duration metric after a deploy. */
  readonly notifierInvocationMs: number;
  readonly noDataRunMs: { readonly base: number; readonly perDevice: number };
  readonly rollupRunMs: { readonly base: number; readonly perDeviceHour: number };
  /**
   * Powertools metrics (plain `addMetric` names with the `service` dimension) published every hour
   * with traffic, and without it (the no-data evaluator's 3 each minute, the rollup's 3 each hour),
   * counted in functions/lambda and functions/handlers on 2026-12-06 (22 names, 2 Timestream-only).
   */
  readonly powertoolsMetrics: { readonly busy: number; readonly idle: number };
}

export const PLATFORM_ASSUMPTIONS: PlatformAssumptions = {
  deviceItemBytes: 400,
  rollupItemBytes: 1024,
  alertStateItemBytes: 600,
  notifications: { snsChannels: 1, emailSubscriptions: 1 },
  notifierInvocationMs: 300,
  noDataRunMs: { base: 200, perDevice: 1 },
  rollupRunMs: { base: 500, perDeviceHour: 2 },
  powertoolsMetrics: { busy: 20, idle: 6 },
};

/** What the model knows when it calls this module. */
export interface PlatformContext {
  readonly config: EnvironmentConfig;
  readonly rate: number;
  readonly messages: number;
  readonly enrichedMessages: number;
  readonly devices: number;
  readonly secondsPerMonth: number;
  readonly hoursPerMonth: number;
  /** Per message, measured (measure.ts, measure-enrich.ts). */
  readonly alertEventsPerMessage: number;
  readonly alertStateWritesPerMessage: number;
  readonly alertBytes: number;
  readonly noDataDeviceShare: number;
  readonly registryBytes: number;
  readonly deviceTypes: number;
  readonly retentionDays: number;
  readonly pointItemBytes: number;
  readonly rawBytes: number;
  readonly enrichedBytes: number;
  /** GB held in the time-series points table (the model's storage line), 0 for other sinks. */
  readonly pointsGb: number;
  /** Inspector sample writes per month (items), from the model's enrich bookkeeping. */
  readonly sampleWritesPerMonth: number;
}

export type AddLine = (
  service: string,
  item: string,
  quantity: number,
  price: PriceKey,
  divisor?: number,
) => void;

/** Invocations per month of the functions this module prices (the model adds their logs and traces). */
export type FunctionInvocations = Partial<Record<SizedFunction, number>>;

const gbSeconds = (name: SizedFunction, invocations: number, durationMs: number) =>
  invocations * (durationMs / 1000) * (LAMBDA_SIZING[name].memoryMb / 1024);

export function platformServiceLines(
  context: PlatformContext,
  add: AddLine,
  assumptions: PlatformAssumptions = PLATFORM_ASSUMPTIONS,
): FunctionInvocations {
  const invocations: FunctionInvocations = {};
  Object.assign(invocations, alertLines(context, add, assumptions));
  Object.assign(invocations, noDataLines(context, add, assumptions));
  if (context.config.timeseries.sink === 'dynamodb')
    Object.assign(invocations, rollupLines(context, add, assumptions));
  storageLines(context, add, assumptions);
  metricLines(context, add, assumptions);
  return invocations;
}

/** The alerts table's writes, the notifier on its stream, the SNS topic. */
function alertLines(context: PlatformContext, add: AddLine, assumptions: PlatformAssumptions) {
  const { notifications } = assumptions;
  const events = context.messages * context.alertEventsPerMessage;
  const stateUnits = Math.max(1, Math.ceil(assumptions.alertStateItemBytes / 1024));
  add(
    'DynamoDB',
    'alert condition-state writes (measured per message)',
    context.messages * context.alertStateWritesPerMessage * stateUnits,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  // DynamoAlertStore.add: a claim, the alert item (into both of its indexes), an id pointer.
  const perEvent = 2 + writeUnitsWithIndexes(TABLES.alerts, context.alertBytes, 'insert');
  add(
    'DynamoDB',
    `alert events stored (${perEvent} WRU each)`,
    events * perEvent,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  // The stream's INSERTs of alert items invoke the notifier (reads by a Lambda trigger are free);
  // alerts are rare, so each invocation is taken to carry one.
  add('Lambda', 'notifier requests', events, 'lambdaRequestMillion', MILLION);
  add(
    'Lambda',
    `notifier GB-seconds (${LAMBDA_SIZING.notifier.memoryMb} MB)`,
    gbSeconds('notifier', events, assumptions.notifierInvocationMs),
    'lambdaArmGbSecond',
  );
  // Per invocation one strongly consistent Query of the channels; per delivery a record written.
  add('DynamoDB', 'notifier channel reads', events, 'dynamodbReadUnitMillion', MILLION);
  const deliveries = events * notifications.snsChannels;
  add('DynamoDB', 'notification delivery records', deliveries, 'dynamodbWriteUnitMillion', MILLION);
  add(
    'SNS',
    `notification publishes (${notifications.snsChannels} sns channel)`,
    deliveries,
    'snsPublishMillion',
    MILLION,
  );
  add(
    'SNS',
    `e-mail deliveries (${notifications.emailSubscriptions} subscription)`,
    deliveries * notifications.emailSubscriptions,
    'snsEmailMillion',
    MILLION,
  );
  return { notifier: events };
}

/** The no-data evaluator: Scheduler's invocation each minute, the function, its reads per run. */
function noDataLines(context: PlatformContext, add: AddLine, assumptions: PlatformAssumptions) {
  const runs = stackInventory(context.config).minuteSchedules * context.hoursPerMonth * 60;
  const devices = context.devices * context.noDataDeviceShare;
  add(
    'EventBridge',
    'Scheduler invocations (no-data, rate(1 minute))',
    runs,
    'schedulerInvocationMillion',
    MILLION,
  );
  add('Lambda', 'noData requests', runs, 'lambdaRequestMillion', MILLION);
  const runMs = assumptions.noDataRunMs.base + devices * assumptions.noDataRunMs.perDevice;
  add(
    'Lambda',
    `noData GB-seconds (${LAMBDA_SIZING.noData.memoryMb} MB)`,
    gbSeconds('noData', runs, runMs),
    'lambdaArmGbSecond',
  );
  // Per run: the registry when older than its refresh period (strongly consistent Scans), the devices
  // of the types with no-data rules (eventually consistent Query of byTypeLastSeen), one strongly
  // consistent state Query per such device.
  const registryReloadsPerRun = Math.min(1, 60 / context.config.registryRefreshSeconds);
  const registryUnits = Math.ceil(context.registryBytes / READ_UNIT_BYTES) * registryReloadsPerRun;
  const listingUnits = ((devices * assumptions.deviceItemBytes) / READ_UNIT_BYTES) * EVENTUAL_READ;
  add(
    'DynamoDB',
    `no-data reads (${devices.toFixed(0)} devices listed per run, state per device)`,
    runs * (registryUnits + listingUnits + devices),
    'dynamodbReadUnitMillion',
    MILLION,
  );
  return { noData: runs };
}

/** The hourly rollup of the DynamoDB sink: the devices seen, each closed hour's points, the rollups. */
function rollupLines(context: PlatformContext, add: AddLine, assumptions: PlatformAssumptions) {
  const runs = stackInventory(context.config).hourlyRules * context.hoursPerMonth;
  const deviceHours = runs * context.devices * ROLLUP_HOURS;
  add('Lambda', 'timeseriesRollup requests', runs, 'lambdaRequestMillion', MILLION);
  const runMs =
    assumptions.rollupRunMs.base + context.devices * ROLLUP_HOURS * assumptions.rollupRunMs.perDeviceHour;
  add(
    'Lambda',
    `timeseriesRollup GB-seconds (${LAMBDA_SIZING.timeseriesRollup.memoryMb} MB)`,
    gbSeconds('timeseriesRollup', runs, runMs),
    'lambdaArmGbSecond',
  );
  // Each hour's points are read once, strongly consistent, when its rollup is first computed; every
  // run reads the devices table (a Scan) and each recent device-hour's rollup generation (GetItem).
  const pointReads = (context.enrichedMessages * context.pointItemBytes) / READ_UNIT_BYTES;
  const scanReads = (runs * context.devices * assumptions.deviceItemBytes) / READ_UNIT_BYTES;
  add(
    'DynamoDB',
    'rollup reads (points once per device-hour, generations, device scans)',
    pointReads + deviceHours + scanReads,
    'dynamodbReadUnitMillion',
    MILLION,
  );
  const rollupUnits = Math.ceil(assumptions.rollupItemBytes / 1024);
  add(
    'DynamoDB',
    'rollup writes',
    (deviceHours / ROLLUP_HOURS) * rollupUnits,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  return { timeseriesRollup: runs };
}

/**
 * Storage of the tables that grow with the fleet (the points table is the model's own line), and
 * point-in-time recovery over every table's size (each table has it on: registry.ts declaredTable).
 */
function storageLines(context: PlatformContext, add: AddLine, assumptions: PlatformAssumptions) {
  const dynamoSink = context.config.timeseries.sink === 'dynamodb';
  const indexCopies = (declaration: { globalSecondaryIndexes?: readonly unknown[] }) =>
    1 + (declaration.globalSecondaryIndexes?.length ?? 0);
  const devicesGb = (context.devices * assumptions.deviceItemBytes * indexCopies(TABLES.devices)) / GB;
  const alertEventsHeld = context.rate * context.alertEventsPerMessage * ALERT_RETENTION_DAYS * 86_400;
  const alertsGb =
    (alertEventsHeld * context.alertBytes * indexCopies(TABLES.alerts) +
      context.devices * assumptions.alertStateItemBytes) /
    GB;
  // Samples live 24 h, and the trims keep each device's stage to its newest few hundred.
  const sampleBytes = (context.rawBytes + context.enrichedBytes) / 2;
  const samplesHeld = Math.min(
    (context.sampleWritesPerMonth / (context.secondsPerMonth / 86_400)) * SAMPLE_RETENTION_DAYS,
    context.devices * 2 * (INSPECTOR_KEEP_PER_DEVICE + INSPECTOR_TRIM_EVERY),
  );
  const samplesGb = (samplesHeld * sampleBytes * indexCopies(TABLES.messages)) / GB;
  const rollupsGb = dynamoSink
    ? (context.devices * 24 * context.retentionDays * assumptions.rollupItemBytes) / GB
    : 0;
  const latestGb = dynamoSink ? (context.devices * context.pointItemBytes) / GB : 0;
  const otherGb = devicesGb + alertsGb + samplesGb + rollupsGb + latestGb;
  add(
    'DynamoDB',
    'storage of devices, alerts, samples, rollups, latest values',
    otherGb,
    'dynamodbStorageGbMonth',
  );
  const tables = Object.keys({ ...TABLES, ...(dynamoSink ? TIMESERIES_TABLES : {}) }).length;
  add(
    'DynamoDB',
    `point-in-time recovery (${tables} tables)`,
    context.pointsGb + otherGb,
    'dynamodbPitrGbMonth',
  );
}

/**
 * EMF custom metrics: each label set of a declared metric (functions/shared/metrics.ts) is a metric
 * of its own, billed in the hours it is published. Counted: the label sets a healthy pipeline
 * publishes every hour; reason-labelled ones (dead letters, delivery failures) appear only with
 * failures and are left out.
 */
export function declaredMetricSeries(deviceTypes: number, channels: number): number {
  const cardinality: Record<string, number> = {
    stage: MESSAGE_STAGES.length,
    severity: NotificationSeverity.options.length,
    device_type: deviceTypes,
    verdict: QUALITY_VERDICTS.length,
    handler: 1,
    store: 1,
    channel: channels,
    outcome: NOTIFICATION_OUTCOMES.length,
  };
  let series = 0;
  for (const metric of Object.values(METRICS)) {
    if (metric.aws.kind !== 'emf') continue;
    const labels = metric.labels as readonly string[];
    if (labels.includes('reason')) continue;
    series +=
      metric.aws.services.length * labels.reduce((product, label) => product * (cardinality[label] ?? 1), 1);
  }
  return series;
}

function metricLines(context: PlatformContext, add: AddLine, assumptions: PlatformAssumptions) {
  const busy = context.rate > 0;
  const declared = busy
    ? declaredMetricSeries(context.deviceTypes, assumptions.notifications.snsChannels > 0 ? 1 : 0)
    : 0;
  const powertools = busy ? assumptions.powertoolsMetrics.busy : assumptions.powertoolsMetrics.idle;
  add(
    'CloudWatch',
    `custom metrics (${declared} declared EMF + ${powertools} Powertools)`,
    declared + powertools,
    'customMetricMonth',
  );
}
