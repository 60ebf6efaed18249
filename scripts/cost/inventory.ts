/**
 * What the stacks of an environment create that is priced per resource or per table, from the
 * environment's settings and the shared declarations the constructs are built from (TABLES,
 * TIMESERIES_TABLES, LAMBDA_SIZING). The functions with an error alarm are listed here as
 * infra/lib/platform-stack.ts passes them to Observability; infra/test/cost-inventory.test.ts pins
 * every figure of this module to the synthesized templates, so the model cannot price a different
 * stack from the one deployed.
 */
import type { LAMBDA_SIZING } from '../../functions/shared/lambda-sizing.js';
import { TABLES, type TableDeclaration, TIMESERIES_TABLES } from '../../functions/shared/tables.js';
import type { EnvironmentConfig } from '../../infra/lib/config.js';

export type SizedFunction = keyof typeof LAMBDA_SIZING;

export interface StackInventory {
  /** DynamoDB tables (on demand, point-in-time recovery on each: infra/lib/constructs/registry.ts). */
  readonly tables: Readonly<Record<string, TableDeclaration>>;
  /** Tables with a DynamoDB stream (read by a Lambda trigger: free). */
  readonly streamTables: readonly string[];
  /** Functions with an `Errors` alarm (platform-stack.ts, Observability's `functions`). */
  readonly alarmedFunctions: readonly SizedFunction[];
  /** CloudWatch alarms: offset lag per Kafka consumer, errors per function, depth per DLQ, Timestream. */
  readonly alarms: number;
  readonly dashboards: number;
  /** Customer-managed KMS keys (the platform's queue and topic key). */
  readonly kmsKeys: number;
  /** EventBridge Scheduler schedules at rate(1 minute) (the no-data evaluator). */
  readonly minuteSchedules: number;
  /** EventBridge rules on an hourly cron (the time-series rollup, sink `dynamodb`). */
  readonly hourlyRules: number;
}

/** Kafka consumers with an offset-lag alarm (enrich, time-series writer). */
const KAFKA_CONSUMERS = 2;
/** Queues with a depth alarm (the buffer's dead-letter queue, the IoT rule's error queue). */
const DEAD_LETTER_QUEUES = 2;
/** Timestream sink only: rejected records, magnetic-store rejection reports. */
const TIMESTREAM_ALARMS = 2;

export function stackInventory(config: EnvironmentConfig): StackInventory {
  const dynamoSink = config.timeseries.sink === 'dynamodb';
  const tables: Record<string, TableDeclaration> = {
    ...TABLES,
    ...(dynamoSink ? TIMESERIES_TABLES : {}),
  };
  const alarmedFunctions: SizedFunction[] = [
    'ingestBridge',
    'enrich',
    'timeseriesWriter',
    'api',
    'notifier',
    'dataOps',
    ...(dynamoSink ? (['timeseriesRollup'] as const) : []),
  ];
  return {
    tables,
    streamTables: Object.entries(tables)
      .filter(([, declaration]) => declaration.stream !== undefined)
      .map(([key]) => key),
    alarmedFunctions,
    alarms:
      KAFKA_CONSUMERS + alarmedFunctions.length + DEAD_LETTER_QUEUES + (dynamoSink ? 0 : TIMESTREAM_ALARMS),
    dashboards: 1,
    kmsKeys: 1,
    minuteSchedules: 1,
    hourlyRules: dynamoSink ? 1 : 0,
  };
}

/**
 * Write units one item write costs with the table's global secondary indexes (ALL projections here):
 * an item written into an index costs one more write there, and an update that changes an index key
 * two (delete the old index entry, put the new one):
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes
 */
export function writeUnitsWithIndexes(
  declaration: TableDeclaration,
  itemBytes: number,
  kind: 'insert' | 'indexKeyChange',
): number {
  const units = Math.max(1, Math.ceil(itemBytes / 1024));
  const indexes = declaration.globalSecondaryIndexes?.length ?? 0;
  return units * (1 + indexes * (kind === 'insert' ? 1 : 2));
}
