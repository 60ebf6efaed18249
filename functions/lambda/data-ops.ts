/**
 * Lambda entry: the data operations (issue 16) in AWS. The API function invokes it (payload:
 * DataOpsInvocation, ./data-ops-invocation.ts): triage synchronously (the answer is the groups), a
 * redrive or a replay asynchronously, under the id the API already answered with. It runs the shared
 * operations (functions/handlers/data-ops.ts) over MSK (IAM auth) and keeps progress in the operations
 * table. In the VPC: MSK Serverless is reachable only from there; DynamoDB through the VPC's gateway
 * endpoint. Reserved concurrency 2 (the construct): operations cannot crowd out the pipeline.
 *
 * A replay that finds its device type locked (the API checked, but two requests raced) is stored as
 * failed with the running replay named; the table's conditional put decides.
 *
 * Env vars read:
 *   OPERATIONS_TABLE          the operations table                                        required
 *   KAFKA_BOOTSTRAP_BROKERS   MSK bootstrap brokers (IAM, port 9098)                      required
 *   AWS_REGION                set by Lambda                                                required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL          optional
 * AWS resources and actions used:
 *   DynamoDB operations table: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem
 *   MSK cluster: kafka-cluster:Connect, kafka-cluster:WriteDataIdempotently (cluster ARN);
 *     kafka-cluster:DescribeTopic, kafka-cluster:ReadData (iot.dlq, iot.raw);
 *     kafka-cluster:WriteData (iot.raw);
 *     kafka-cluster:DescribeGroup, kafka-cluster:AlterGroup (groups iot-cloud-data-ops-*: each range
 *     read's throwaway group, functions/adapters/kafka/range-reader.ts)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { documentClient } from '../adapters/dynamodb/index.js';
import { DynamoOperationStore } from '../adapters/dynamodb/operations.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import { kafkaRangeReader } from '../adapters/kafka/range-reader.js';
import { createDataOps, ReplayConflictError, type TriageResult } from '../handlers/data-ops.js';
import type { OperationProgress, OperationStore, TopicRangeReader } from '../ports/data-ops.js';
import type { StreamProducer } from '../ports/stream.js';
import { DATA_OPS_LEASE_MS } from '../shared/data-ops.js';
import { AWS_REGION_ENV, readBrokers, readTableNames } from './config.js';
import { DataOpsInvocation } from './data-ops-invocation.js';
import { requireEnv } from './environment.js';
import { createObservability, instrument, type Observability, traceClient } from './observability.js';

/** The longest a replay holds its device type's lock: the function's timeout. */
export const REPLAY_LEASE_MS = DATA_OPS_LEASE_MS;

export interface DataOpsLambdaOptions {
  readonly reader: TopicRangeReader;
  readonly producer: StreamProducer;
  readonly operations: OperationStore;
  readonly observability: Observability;
  readonly now?: () => number;
}

export type DataOpsLambdaResult = TriageResult | OperationProgress;

export function createDataOpsLambda(options: DataOpsLambdaOptions) {
  const { logger } = options.observability;
  return async (event: unknown): Promise<DataOpsLambdaResult> => {
    const parsed = DataOpsInvocation.safeParse(event);
    // Only the API function may invoke this one: a malformed payload is a bug there, not retried.
    if (!parsed.success) throw new TypeError(`not a data-ops invocation: ${parsed.error.message}`);
    const invocation = parsed.data;
    const ops = createDataOps({
      reader: options.reader,
      producer: options.producer,
      operations: options.operations,
      // The API resolved the device's type before invoking (404 for an unknown device there).
      deviceTypeOf: async () => (invocation.action === 'replay' ? invocation.deviceType : undefined),
      ...(options.now ? { now: options.now } : {}),
      onError: (error, operationId) => logger.error('replay failed', { operationId, error: error as Error }),
    });
    switch (invocation.action) {
      case 'triage':
        return ops.triage({ from: invocation.from, to: invocation.to });
      case 'redrive': {
        const progress = await ops.redrive(invocation.filter, { id: invocation.id });
        logger.info('redrive done', { operationId: progress.id, sent: progress.sent });
        return progress;
      }
      case 'replay': {
        try {
          const first = await ops.startReplay(
            { target: invocation.target, from: invocation.from, to: invocation.to },
            { id: invocation.id },
          );
          // The replay runs in the background of createDataOps: the invocation lasts until it ends.
          await ops.idle();
          return (await options.operations.get(first.id)) ?? first;
        } catch (error) {
          if (!(error instanceof ReplayConflictError)) throw error;
          const refused: OperationProgress = {
            id: invocation.id,
            kind: 'replay',
            state: 'failed',
            request: { ...invocation.target, deviceType: invocation.deviceType },
            startedAt: new Date((options.now ?? Date.now)()).toISOString(),
            finishedAt: new Date((options.now ?? Date.now)()).toISOString(),
            scanned: 0,
            matched: 0,
            sent: 0,
            skipped: {},
            truncated: false,
            error: `REPLAY_RUNNING: ${error.message}`,
          };
          await options.operations.put(refused);
          return refused;
        }
      }
    }
  };
}

// ---------------------------------------------------------------------------------------------------
// Cold start: configuration read once, each missing variable reported by name.

const observability = createObservability('iot-cloud-data-ops');
const region = requireEnv(AWS_REGION_ENV);
const tables = readTableNames(['operations']);
const kafka = createKafka({ brokers: readBrokers(), clientId: 'iot-cloud-data-ops', iamRegion: region });
const dynamo = documentClient(traceClient(observability, new DynamoDBClient({ region })));

export const handler: (event: unknown, context?: Context) => Promise<DataOpsLambdaResult> = instrument(
  observability,
  createDataOpsLambda({
    reader: kafkaRangeReader({ kafka }),
    producer: new KafkaStreamProducer({ kafka }),
    operations: new DynamoOperationStore({
      client: dynamo,
      tableName: tables.operations,
      replayLeaseMs: REPLAY_LEASE_MS,
    }),
    observability,
  }),
);
