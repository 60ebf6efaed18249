/**
 * The monthly cost of one environment, idle and at a steady message rate, from the environment's own
 * settings (cdk.json through infra/lib/config.ts), the shared declarations (topic partitions, Lambda
 * sizing), message sizes measured from the simulator's fleet (measure.ts) and the price table
 * (prices.ts). What the stacks deploy beside the pipeline (notifier, no-data evaluator, rollup, every
 * table's storage and PITR, custom metrics) is priced by platform-services.ts, and the resources
 * priced per unit come from inventory.ts, pinned to the synthesized stacks by
 * infra/test/cost-inventory.test.ts. Pure arithmetic: no I/O, so the tests check it on a small known
 * configuration.
 *
 * What is an estimate rather than a setting or a measurement is named in ASSUMPTIONS, in one place.
 */

import {
  INSPECTOR_KEEP_PER_DEVICE,
  INSPECTOR_TRIM_EVERY,
} from '../../functions/adapters/dynamodb/message-samples.js';
import {
  LAMBDA_MB_PER_VCPU,
  LAMBDA_SIZING,
  type PipelineFunction,
} from '../../functions/shared/lambda-sizing.js';
import { TOPICS } from '../../functions/shared/stream.js';
import { TABLES } from '../../functions/shared/tables.js';
import { type EnvironmentConfig, topicPartitions } from '../../infra/lib/config.js';
import { stackInventory, writeUnitsWithIndexes } from './inventory.js';
import { PLATFORM_ASSUMPTIONS, type PlatformAssumptions, platformServiceLines } from './platform-services.js';
import type { PriceKey, PriceTable } from './prices.js';

export const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GIB = 1024 ** 3;
const MILLION = 1_000_000;

/** What a message costs to carry, measured (see measure.ts). */
export interface MessageProfile {
  readonly messagesPerDevicePerSecond: number;
  readonly iotBilledMessages: number;
  readonly sqsBodyBytes: number;
  readonly rawBytes: number;
  readonly enrichedBytes: number;
  readonly enrichedShare: number;
  /** Kafka record-batch bytes per message on iot.raw / iot.enriched, as produced. */
  readonly kafkaRawBytes: number;
  readonly kafkaEnrichedBytes: number;
  readonly timestreamWriteUnits: number;
  readonly timestreamRecordBytes: number;
  /** Days a point is kept (registry retentionDays, weighted by the message mix). */
  readonly retentionDays: number;
  /** CPU time per message of each stage's code, at one full vCPU (measured in-process). */
  readonly cpuMsPerMessage: Readonly<Record<Stage, number>>;
  /** The alerts table's traffic per message, through the enrich handler (measure-enrich.ts). */
  readonly alertEventsPerMessage: number;
  readonly alertStateWritesPerMessage: number;
  /** Mean size of an alert event's JSON. */
  readonly alertBytes: number;
  /** Share of the fleet's devices whose type has no-data rules (the no-data evaluator's devices). */
  readonly noDataDeviceShare: number;
  /** JSON size of the registry the no-data evaluator reloads (device types with rules, applications). */
  readonly registryBytes: number;
  /** Device types in the registry (a label of the declared metrics). */
  readonly deviceTypes: number;
  /** EMF log bytes (its metrics) per enrich invocation, through the Lambda's batch function. */
  readonly emfBytesPerInvocation: number;
}

/**
 * The estimates of the model, each in one place so a better figure replaces it.
 * - dynamodbSinkUnitsPerMessage: the DynamoDB sink's write units per message, measured over dynalite
 *   (which bills 1 WCU per started KB, as DynamoDB does) with the simulator's fleet in batches of 100:
 *   1,504 WCU per 1,000 messages (points 1,004, latest values 483, rollup invalidations 17), by
 *   `npx tsx local/timeseries/dynamodb-write-units.ts --devices 40 --minutes 12` (2,137 with batches
 *   of 1). The hourly rollup's 1-2 units per active device-hour are not in this figure.
 * - invocationOverheadMs: per-batch wall time beyond CPU (MSK produce with acks=all, DynamoDB
 *   bookkeeping), to be replaced by the Duration metric after a deploy.
 * - logBytesPerInvocation: Lambda's START/END/REPORT lines in JSON plus a Powertools line or two.
 * - sqsIdlePollers / sqsLongPollSeconds: Lambda's SQS event source long-polls with several pollers
 *   even when the queue is empty (20 s waits).
 * - xrayReservoirPerSecond / xraySampleRate: X-Ray's default sampling rule (one request a second,
 *   then 5%), per function, with active tracing on every function.
 * - sqsPollers: concurrent SQS batches Lambda fills at once (before maxConcurrency caps it).
 */
export interface Assumptions {
  readonly dynamodbSinkUnitsPerMessage: {
    readonly writeUnits: number;
    readonly readUnits: number;
    readonly pointItemBytes: number;
  };
  readonly invocationOverheadMs: Readonly<Record<Stage, number>>;
  readonly logBytesPerInvocation: number;
  readonly sqsIdlePollers: number;
  readonly sqsLongPollSeconds: number;
  readonly sqsPollers: number;
  readonly xrayReservoirPerSecond: number;
  readonly xraySampleRate: number;
  readonly enrichSamplesPerBatch: { readonly raw: number; readonly enriched: number };
  /** What platform-services.ts estimates: the functions and tables beside the pipeline. */
  readonly platform: PlatformAssumptions;
}

export const ASSUMPTIONS: Assumptions = {
  dynamodbSinkUnitsPerMessage: { writeUnits: 1.504, readUnits: 0, pointItemBytes: 1024 },
  invocationOverheadMs: { ingestBridge: 20, enrich: 40, timeseriesWriter: 30 },
  logBytesPerInvocation: 1200,
  sqsIdlePollers: 5,
  sqsLongPollSeconds: 20,
  sqsPollers: 5,
  xrayReservoirPerSecond: 1,
  xraySampleRate: 0.05,
  /**
   * Enrich bookkeeping per batch (functions/lambda/enrich.ts): one conditional device update and one
   * strongly consistent alert-state Query per distinct device; one pipeline-stats update; inspector
   * samples (SAMPLES_PER_BATCH raw 5 + enriched 5, which that module cannot export outside Lambda: it
   * reads its environment when loaded).
   */
  enrichSamplesPerBatch: { raw: 5, enriched: 5 },
  platform: PLATFORM_ASSUMPTIONS,
};

/** Kafka event source pollers: 5 concurrent invocations or 5 MB/s each (kafka-scaling-modes). */
const KAFKA_INVOCATIONS_PER_POLLER = 5;
const KAFKA_BYTES_PER_POLLER_PER_SECOND = 5 * 1024 * 1024;
/** An EPU carries up to 10 Kafka pollers (Lambda pricing, provisioned mode). */
const POLLERS_PER_EPU = 10;
/** SQS bills each 64 KB chunk of a payload as a request; Lambda receives up to 10 per call. */
const SQS_CHUNK_BYTES = 64 * 1024;
const SQS_MESSAGES_PER_RECEIVE = 10;

export interface CostLine {
  readonly service: string;
  readonly item: string;
  readonly quantity: number;
  readonly price: PriceKey;
  readonly usd: number;
}

export interface CostEstimate {
  readonly rate: number;
  readonly messagesPerMonth: number;
  readonly devices: number;
  readonly lines: readonly CostLine[];
  readonly total: number;
  readonly byService: Readonly<Record<string, number>>;
  /** Total per million messages (undefined when idle). */
  readonly perMillionMessages: number | undefined;
}

export interface BatchShape {
  /** Records per invocation. */
  readonly batch: number;
  readonly invocationsPerSecond: number;
}

/**
 * Batches of an event source at a steady rate: a batch closes at batchSize records or when the window
 * ends, and `streams` batches fill side by side (Kafka: one per partition; SQS: one per poller).
 */
export function batchShape(
  rate: number,
  batchSize: number,
  windowSeconds: number,
  streams: number,
): BatchShape {
  if (rate <= 0) return { batch: 0, invocationsPerSecond: 0 };
  const perStream = rate / Math.max(1, streams);
  const batch = Math.max(1, Math.min(batchSize, perStream * Math.max(windowSeconds, 0.001)));
  return { batch, invocationsPerSecond: rate / batch };
}

/** Distinct devices expected in a batch of `batch` messages from `devices` devices sending evenly. */
export function distinctDevices(devices: number, batch: number): number {
  if (devices <= 1) return Math.min(1, batch);
  return devices * (1 - (1 - 1 / devices) ** batch);
}

/** The three stages of the pipeline, each a Lambda function behind an event source. */
export type Stage = Extract<PipelineFunction, 'ingestBridge' | 'enrich' | 'timeseriesWriter'>;

export type PipelineShape = Readonly<Record<Stage, BatchShape>>;

export function pipelineShape(
  config: EnvironmentConfig,
  rate: number,
  assumptions = ASSUMPTIONS,
): PipelineShape {
  const partitions = topicPartitions(config);
  const enrichedRate = rate; // the enrich stage forwards every valid message
  return {
    ingestBridge: batchShape(
      rate,
      config.ingest.batchSize,
      config.ingest.maxBatchingWindowSeconds,
      Math.min(assumptions.sqsPollers, config.ingest.maxConcurrency),
    ),
    enrich: batchShape(
      rate,
      config.consumers.enrich.batchSize,
      config.consumers.enrich.maxBatchingWindowSeconds,
      partitions[TOPICS.raw],
    ),
    timeseriesWriter: batchShape(
      enrichedRate,
      config.consumers.timeseriesWriter.batchSize,
      config.consumers.timeseriesWriter.maxBatchingWindowSeconds,
      partitions[TOPICS.enriched],
    ),
  };
}

export function estimateMonthlyCost(
  config: EnvironmentConfig,
  rate: number,
  profile: MessageProfile,
  prices: PriceTable,
  assumptions: Assumptions = ASSUMPTIONS,
): CostEstimate {
  const lines: CostLine[] = [];
  const add = (service: string, item: string, quantity: number, price: PriceKey, divisor = 1) => {
    lines.push({ service, item, quantity, price, usd: (quantity / divisor) * prices[price].usd });
  };
  const messages = rate * SECONDS_PER_MONTH;
  const enrichedMessages = messages * profile.enrichedShare;
  const devices = rate > 0 ? rate / profile.messagesPerDevicePerSecond : 0;
  const shape = pipelineShape(config, rate, assumptions);
  const partitions = topicPartitions(config);

  // IoT Core: every message is metered (5 KB steps), triggers the ingest rule and its SQS action.
  add('IoT Core', 'messages', messages * profile.iotBilledMessages, 'iotMessageMillion', MILLION);
  add(
    'IoT Core',
    'connection-minutes',
    devices * HOURS_PER_MONTH * 60,
    'iotConnectionMinuteMillion',
    MILLION,
  );
  add('IoT Core', 'rules triggered', messages, 'iotRuleTriggeredMillion', MILLION);
  add('IoT Core', 'actions (SQS)', messages, 'iotActionMillion', MILLION);

  // SQS: the rule's send, Lambda's receives and batch deletes; idle long polls never stop.
  const chunks = Math.ceil(profile.sqsBodyBytes / SQS_CHUNK_BYTES);
  const idlePolls = (assumptions.sqsIdlePollers * SECONDS_PER_MONTH) / assumptions.sqsLongPollSeconds;
  const receives = Math.max(idlePolls, messages / SQS_MESSAGES_PER_RECEIVE);
  add(
    'SQS',
    'requests',
    messages * chunks + receives + messages / SQS_MESSAGES_PER_RECEIVE,
    'sqsRequestMillion',
    MILLION,
  );

  // Lambda: requests and GB-seconds per function, then the provisioned pollers of the Kafka mappings.
  const stages = Object.entries(shape) as [Stage, BatchShape][];
  let invocations = 0;
  const concurrency: Record<string, number> = {};
  for (const [name, batches] of stages) {
    const memoryMb = LAMBDA_SIZING[name].memoryMb;
    const vcpu = Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
    const cpuMs = profile.cpuMsPerMessage[name];
    const overheadMs = assumptions.invocationOverheadMs[name];
    const durationSeconds = (overheadMs + (batches.batch * cpuMs) / vcpu) / 1000;
    const count = batches.invocationsPerSecond * SECONDS_PER_MONTH;
    invocations += count;
    concurrency[name] = batches.invocationsPerSecond * durationSeconds;
    add('Lambda', `${name} requests`, count, 'lambdaRequestMillion', MILLION);
    add(
      'Lambda',
      `${name} GB-seconds (${memoryMb} MB)`,
      count * durationSeconds * (memoryMb / 1024),
      'lambdaArmGbSecond',
    );
  }
  const pollersFor = (
    settings: { minimumPollers: number; maximumPollers: number },
    name: string,
    bytesPerSecond: number,
  ) =>
    Math.min(
      settings.maximumPollers,
      Math.max(
        settings.minimumPollers,
        Math.ceil((concurrency[name] ?? 0) / KAFKA_INVOCATIONS_PER_POLLER),
        Math.ceil(bytesPerSecond / KAFKA_BYTES_PER_POLLER_PER_SECOND),
      ),
    );
  const enrichPollers = pollersFor(config.consumers.enrich, 'enrich', rate * profile.kafkaRawBytes);
  const writerPollers = pollersFor(
    config.consumers.timeseriesWriter,
    'timeseriesWriter',
    rate * profile.enrichedShare * profile.kafkaEnrichedBytes,
  );
  // A poller group shares EPUs between the two mappings; otherwise each mapping rounds up on its own.
  const epus = config.consumers.pollerGroup
    ? Math.ceil((enrichPollers + writerPollers) / POLLERS_PER_EPU)
    : Math.ceil(enrichPollers / POLLERS_PER_EPU) + Math.ceil(writerPollers / POLLERS_PER_EPU);
  add(
    'Lambda',
    `event poller units (${enrichPollers}+${writerPollers} pollers)`,
    epus * HOURS_PER_MONTH,
    'lambdaEventPollerUnitHour',
  );

  // MSK Serverless: the cluster and its partitions always; bytes in, out (each topic read once) and held.
  const partitionCount = Object.values(partitions).reduce((sum, count) => sum + count, 0);
  const bytesIn = messages * profile.kafkaRawBytes + enrichedMessages * profile.kafkaEnrichedBytes;
  add('MSK Serverless', 'cluster-hours', HOURS_PER_MONTH, 'mskClusterHour');
  add(
    'MSK Serverless',
    `partition-hours (${partitionCount} partitions)`,
    partitionCount * HOURS_PER_MONTH,
    'mskPartitionHour',
  );
  add('MSK Serverless', 'data in, iot.raw', (messages * profile.kafkaRawBytes) / GIB, 'mskDataInGb');
  add(
    'MSK Serverless',
    'data in, iot.enriched',
    (enrichedMessages * profile.kafkaEnrichedBytes) / GIB,
    'mskDataInGb',
  );
  add('MSK Serverless', 'data out, iot.raw', (messages * profile.kafkaRawBytes) / GIB, 'mskDataOutGb');
  add(
    'MSK Serverless',
    'data out, iot.enriched',
    (enrichedMessages * profile.kafkaEnrichedBytes) / GIB,
    'mskDataOutGb',
  );
  const retentionSeconds = config.stream.retentionHours * 3600;
  add(
    'MSK Serverless',
    `storage (${config.stream.retentionHours} h retention)`,
    ((bytesIn / SECONDS_PER_MONTH) * retentionSeconds) / GIB,
    'mskStorageGbMonth',
  );

  // DynamoDB: the enrich stage's bookkeeping per batch, then the sink.
  const enrichBatchesPerMonth = shape.enrich.invocationsPerSecond * SECONDS_PER_MONTH;
  const devicesPerBatch = distinctDevices(devices, shape.enrich.batch);
  const sampleUnits =
    assumptions.enrichSamplesPerBatch.raw * Math.ceil(profile.rawBytes / 1024) +
    assumptions.enrichSamplesPerBatch.enriched * Math.ceil(profile.enrichedBytes / 1024);
  const writerBatchesPerMonth = shape.timeseriesWriter.invocationsPerSecond * SECONDS_PER_MONTH;
  // Each update moves the device's lastSeen, a key of its byTypeLastSeen index; each sample is also
  // written into the messages table's byDevice index (inventory.ts writeUnitsWithIndexes).
  const deviceUpdateUnits = writeUnitsWithIndexes(
    TABLES.devices,
    assumptions.platform.deviceItemBytes,
    'indexKeyChange',
  );
  const sampleIndexFactor = writeUnitsWithIndexes(TABLES.messages, 1, 'insert');
  add(
    'DynamoDB',
    `enrich device updates (${deviceUpdateUnits} WRU each, with the index)`,
    enrichBatchesPerMonth * devicesPerBatch * deviceUpdateUnits,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  add(
    'DynamoDB',
    `enrich inspector samples (${sampleUnits * sampleIndexFactor} WRU per batch, with the index)`,
    enrichBatchesPerMonth * sampleUnits * sampleIndexFactor,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  const trims = sampleTrims(
    enrichBatchesPerMonth,
    devices,
    assumptions,
    sampleUnits * sampleIndexFactor,
    (profile.rawBytes + profile.enrichedBytes) / 2,
  );
  add(
    'DynamoDB',
    `inspector sample trims (deletes past ${INSPECTOR_KEEP_PER_DEVICE} per device and stage)`,
    trims.deleteUnits,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  add('DynamoDB', 'inspector sample trim queries', trims.readUnits, 'dynamodbReadUnitMillion', MILLION);
  add(
    'DynamoDB',
    'pipeline-stats updates (enrich, writer)',
    enrichBatchesPerMonth + writerBatchesPerMonth,
    'dynamodbWriteUnitMillion',
    MILLION,
  );
  add(
    'DynamoDB',
    'enrich alert-state reads',
    enrichBatchesPerMonth * devicesPerBatch,
    'dynamodbReadUnitMillion',
    MILLION,
  );

  const sink = config.timeseries.sink;
  let pointsGb = 0;
  if (sink === 'dynamodb') {
    const units = assumptions.dynamodbSinkUnitsPerMessage;
    add(
      'DynamoDB',
      'time-series sink writes',
      enrichedMessages * units.writeUnits,
      'dynamodbWriteUnitMillion',
      MILLION,
    );
    add(
      'DynamoDB',
      'time-series sink reads',
      enrichedMessages * units.readUnits,
      'dynamodbReadUnitMillion',
      MILLION,
    );
    const storedBytes = rate * profile.enrichedShare * profile.retentionDays * 86_400 * units.pointItemBytes;
    pointsGb = storedBytes / 1e9;
    add(
      'DynamoDB',
      `points stored (TTL ${profile.retentionDays.toFixed(0)} d, steady state)`,
      pointsGb,
      'dynamodbStorageGbMonth',
    );
  } else {
    const settings = config.timeseries.timestream;
    const recordBytesPerSecond = rate * profile.enrichedShare * profile.timestreamRecordBytes;
    add(
      'Timestream',
      'writes (1 KB units)',
      enrichedMessages * profile.timestreamWriteUnits,
      'timestreamWriteMillion',
      MILLION,
    );
    if (settings) {
      add(
        'Timestream',
        `memory store (${settings.memoryRetentionHours} h)`,
        ((recordBytesPerSecond * settings.memoryRetentionHours * 3600) / 1e9) * HOURS_PER_MONTH,
        'timestreamMemoryGbHour',
      );
      add(
        'Timestream',
        `magnetic store (${settings.magneticRetentionDays} d, steady state)`,
        (recordBytesPerSecond * settings.magneticRetentionDays * 86_400) / 1e9,
        'timestreamMagneticGbMonth',
      );
    }
    // The writer reaches the account's cell through an interface endpoint in each of the VPC's zones.
    add('VPC', 'Timestream ingest endpoint (2 AZs)', 2 * HOURS_PER_MONTH, 'interfaceEndpointAzHour');
    add(
      'VPC',
      'Timestream endpoint data',
      (enrichedMessages * profile.timestreamRecordBytes) / 1e9,
      'interfaceEndpointDataGb',
    );
  }

  // The functions, tables and services beside the pipeline (platform-services.ts).
  const platformInvocations = platformServiceLines(
    {
      config,
      rate,
      messages,
      enrichedMessages,
      devices,
      secondsPerMonth: SECONDS_PER_MONTH,
      hoursPerMonth: HOURS_PER_MONTH,
      alertEventsPerMessage: profile.alertEventsPerMessage,
      alertStateWritesPerMessage: profile.alertStateWritesPerMessage,
      alertBytes: profile.alertBytes,
      noDataDeviceShare: profile.noDataDeviceShare,
      registryBytes: profile.registryBytes,
      deviceTypes: profile.deviceTypes,
      retentionDays: profile.retentionDays,
      pointItemBytes: assumptions.dynamodbSinkUnitsPerMessage.pointItemBytes,
      rawBytes: profile.rawBytes,
      enrichedBytes: profile.enrichedBytes,
      pointsGb,
      sampleWritesPerMonth:
        enrichBatchesPerMonth *
        (assumptions.enrichSamplesPerBatch.raw + assumptions.enrichSamplesPerBatch.enriched),
    },
    add,
    assumptions.platform,
  );
  const platformFunctionInvocations = Object.values(platformInvocations).reduce(
    (sum, count) => sum + count,
    0,
  );

  // CloudWatch, X-Ray, KMS.
  const inventory = stackInventory(config);
  const logGb =
    ((invocations + platformFunctionInvocations) * assumptions.logBytesPerInvocation +
      enrichBatchesPerMonth * profile.emfBytesPerInvocation) /
    1e9;
  add('CloudWatch', 'logs ingested', logGb, 'logsIngestGb');
  // Held for the retention period: a month's logs times the months kept (steady state, uncompressed).
  add(
    'CloudWatch',
    `logs stored (${config.logRetentionDays} d)`,
    logGb * (config.logRetentionDays / 30.4),
    'logsStorageGbMonth',
  );
  // Alarms and dashboards as the stacks create them (inventory.ts, pinned to the synthesized templates).
  add('CloudWatch', `alarms (${inventory.alarms})`, inventory.alarms, 'alarmMonth');
  add('CloudWatch', 'dashboard', inventory.dashboards, 'dashboardMonth');
  // X-Ray's default rule per function: the reservoir each second, then a fixed share of the rest.
  const invocationRates = [
    ...stages.map(([, batches]) => batches.invocationsPerSecond),
    ...Object.values(platformInvocations).map((count) => count / SECONDS_PER_MONTH),
  ];
  let traces = 0;
  for (const perSecond of invocationRates) {
    const sampled =
      Math.min(perSecond, assumptions.xrayReservoirPerSecond) +
      assumptions.xraySampleRate * Math.max(0, perSecond - assumptions.xrayReservoirPerSecond);
    traces += sampled * SECONDS_PER_MONTH;
  }
  add('X-Ray', 'traces recorded', traces, 'xrayTraceMillion', MILLION);
  add('KMS', 'queue key', inventory.kmsKeys, 'kmsKeyMonth');

  const byService: Record<string, number> = {};
  for (const line of lines) byService[line.service] = (byService[line.service] ?? 0) + line.usd;
  const total = lines.reduce((sum, line) => sum + line.usd, 0);
  return {
    rate,
    messagesPerMonth: messages,
    devices,
    lines,
    total,
    byService,
    perMillionMessages: messages > 0 ? total / (messages / MILLION) : undefined,
  };
}

/**
 * The message-sample store's trims (functions/adapters/dynamodb/message-samples.ts): every
 * INSPECTOR_TRIM_EVERY adds of a device's stage, one Query of that device's samples on the byDevice
 * index (eventually consistent; an ALL projection, so the whole items are read), then deletes of those
 * past its newest INSPECTOR_KEEP_PER_DEVICE, each costing the item's write units again in the table
 * and in the index. Samples arrive per batch, not per message: a small fleet is trimmed the most.
 * What outlives 24 h without a trim expires by TTL (free).
 */
export function sampleTrims(
  enrichBatchesPerMonth: number,
  devices: number,
  assumptions: Assumptions,
  writeUnitsPerBatch: number,
  sampleBytes: number,
): { deleteUnits: number; readUnits: number } {
  const perBatch = assumptions.enrichSamplesPerBatch.raw + assumptions.enrichSamplesPerBatch.enriched;
  const items = enrichBatchesPerMonth * perBatch;
  if (items === 0 || devices === 0) return { deleteUnits: 0, readUnits: 0 };
  const stages = 2;
  const perDeviceStagePerDay = items / (SECONDS_PER_MONTH / 86_400) / devices / stages;
  const trimmedShare = Math.max(0, 1 - INSPECTOR_KEEP_PER_DEVICE / perDeviceStagePerDay);
  const itemsRead = Math.min(perDeviceStagePerDay, INSPECTOR_KEEP_PER_DEVICE + INSPECTOR_TRIM_EVERY);
  return {
    deleteUnits: items * trimmedShare * (writeUnitsPerBatch / perBatch),
    readUnits: (items / INSPECTOR_TRIM_EVERY) * ((itemsRead * sampleBytes) / 4096) * 0.5,
  };
}

/** The single line with the largest share of the total, and that share. */
export function dominantLine(estimate: CostEstimate): { line: CostLine; share: number } | undefined {
  const top = [...estimate.lines].sort((a, b) => b.usd - a.usd)[0];
  return top && estimate.total > 0 ? { line: top, share: top.usd / estimate.total } : undefined;
}
