/**
 * Lambda entry: the data operations (issue 16) in AWS. The API function invokes it (payload:
 * DataOpsInvocation, functions/handlers/data-ops-invocation.ts): triage synchronously (the answer is
 * the groups), a redrive or a replay asynchronously, under the id the API already answered with. It
 * runs the shared operations (functions/handlers/data-ops.ts) over MSK (IAM auth), reads the batches
 * the MSK event source mappings gave up on from their S3 on-failure destination (a redrive's second
 * source), and keeps progress in the operations table. In the VPC: MSK Serverless is reachable only
 * from there; DynamoDB and S3 through the VPC's gateway endpoints. Reserved concurrency 2 (the
 * construct): operations cannot crowd out the pipeline.
 *
 * Env vars read:
 *   OPERATIONS_TABLE          the operations table                                        required
 *   KAFKA_BOOTSTRAP_BROKERS   MSK bootstrap brokers (IAM, port 9098)                      required
 *   FAILED_RECORDS_BUCKET     the mappings' on-failure bucket (its name)                  required
 *   AWS_REGION                set by Lambda                                                required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL          optional
 * AWS resources and actions used:
 *   DynamoDB operations table: dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem
 *   MSK cluster: kafka-cluster:Connect, kafka-cluster:WriteDataIdempotently (cluster ARN);
 *     kafka-cluster:DescribeTopic, kafka-cluster:ReadData (iot.dlq, iot.raw, iot.enriched);
 *     kafka-cluster:WriteData (iot.raw, iot.enriched: a failed record goes back where it came from);
 *     kafka-cluster:DescribeGroup, kafka-cluster:AlterGroup (groups iot-cloud-data-ops-*: each range
 *     read's throwaway group, functions/adapters/kafka/range-reader.ts)
 *   S3 failed-records bucket: s3:ListBucket (prefix aws/lambda/ only), s3:GetObject (aws/lambda/*)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { documentClient } from '../adapters/dynamodb/index.js';
import { DynamoOperationStore } from '../adapters/dynamodb/operations.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import { kafkaRangeReader } from '../adapters/kafka/range-reader.js';
import { s3FailedBatchStore } from '../adapters/s3/failed-batches.js';
import type { OperationStore, TopicRangeReader } from '../ports/data-ops.js';
import type { FailedBatchStore } from '../ports/failed-batches.js';
import type { StreamProducer } from '../ports/stream.js';
import { DATA_OPS_LEASE_MS, ON_FAILURE_RECORDS_PREFIX } from '../shared/data-ops.js';
import { AWS_REGION_ENV, readBrokers, readTableNames } from './config.js';
import { createDataOpsInvocationHandler, type DataOpsInvocationResult } from './data-ops-invocation.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, instrument, type Observability, traceClient } from './observability.js';

/** The longest a replay holds its device type's lock: the function's timeout. */
export const REPLAY_LEASE_MS = DATA_OPS_LEASE_MS;

export interface DataOpsLambdaOptions {
  readonly reader: TopicRangeReader;
  readonly producer: StreamProducer;
  readonly operations: OperationStore;
  /** The mappings' on-failure destination. @default - none: a redrive reads iot.dlq only */
  readonly failedBatches?: FailedBatchStore;
  readonly observability: Observability;
  readonly now?: () => number;
}

export type DataOpsLambdaResult = DataOpsInvocationResult;

export function createDataOpsLambda(options: DataOpsLambdaOptions) {
  const { observability, ...dependencies } = options;
  return createDataOpsInvocationHandler({ ...dependencies, log: observability.logger });
}

// ---------------------------------------------------------------------------------------------------
// Cold start: configuration read once, each missing variable reported by name.

const observability = createObservability('iot-cloud-data-ops');
const region = requireEnv(AWS_REGION_ENV);
const tables = readTableNames(['operations']);
const failedRecordsBucket = requireEnv(ENV.failedRecordsBucket);
const kafka = createKafka({ brokers: readBrokers(), clientId: 'iot-cloud-data-ops', iamRegion: region });
const dynamo = documentClient(traceClient(observability, new DynamoDBClient({ region })));
const s3 = traceClient(observability, new S3Client({ region }));

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
    failedBatches: s3FailedBatchStore({
      client: s3,
      bucket: failedRecordsBucket,
      prefix: ON_FAILURE_RECORDS_PREFIX,
    }),
    observability,
  }),
);
