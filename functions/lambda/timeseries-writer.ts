/**
 * Lambda entry: time-series writer (its batch function: timeseries-writer-lambda.ts; its sink:
 * timeseries-writer-sink.ts). MSK event source mapping on `iot.enriched` (consumer group
 * CONSUMER_GROUPS.timeseriesWriter) -> the shared handler (functions/handlers/timeseries-writer.ts) ->
 * the sink TIMESERIES_SINK names at cold start: DynamoDB (idempotent UpdateItems) or Timestream
 * (multi-measure records). Responses: Kafka partial batch response; a failing sink throws (the batch is
 * retried, re-writing it is a no-op). What happens to writes a sink refuses for good (dead letters with
 * KAFKA_BOOTSTRAP_BROKERS, batch item failures without): docs/architecture.md, "The time-series writer".
 *
 * Env vars read:
 *   TIMESERIES_SINK                         dynamodb | timestream                          required
 *   with dynamodb:
 *     TIMESERIES_POINTS_TABLE, TIMESERIES_LATEST_TABLE, TIMESERIES_ROLLUPS_TABLE           required
 *   with timestream:
 *     TIMESTREAM_DATABASE, TIMESTREAM_TABLE the table written                            required
 *     TIMESTREAM_INGEST_ENDPOINT            the ingest cell's endpoint (no discovery)     optional
 *     DEVICE_TYPES_TABLE                    the registry's types (their dimension tags)  required
 *     REGISTRY_REFRESH_SECONDS              re-read period of the types, default 60      optional
 *   KAFKA_BOOTSTRAP_BROKERS                 MSK IAM brokers, to dead-letter to iot.dlq    optional
 *   PIPELINE_STATS_TABLE                    pipeline-stats table name                    required
 *   AWS_REGION                              set by Lambda                                required
 *   POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_LOG_LEVEL       optional
 * AWS resources and actions used:
 *   with dynamodb:
 *     time-series points table: dynamodb:UpdateItem
 *     time-series latest table: dynamodb:UpdateItem, dynamodb:GetItem (re-read after a refused update)
 *     time-series rollups table: dynamodb:UpdateItem (invalidation of a closed hour's rollup)
 *   with timestream:
 *     Timestream: timestream:WriteRecords (the table ARN), timestream:DescribeEndpoints (resource "*":
 *       the action has no resource; the SDK's endpoint discovery calls it)
 *     DynamoDB device types table: dynamodb:Scan
 *   MSK cluster, only with KAFKA_BOOTSTRAP_BROKERS: kafka-cluster:Connect,
 *     kafka-cluster:WriteDataIdempotently (cluster ARN); kafka-cluster:DescribeTopic,
 *     kafka-cluster:WriteData (iot.dlq). Always, for the event source mapping:
 *     kafka-cluster:Connect, DescribeGroup, AlterGroup (group iot-cloud-timeseries-writer),
 *     DescribeTopic, ReadData (iot.enriched), DescribeClusterDynamicConfiguration,
 *     kafka:DescribeClusterV2 (V2: required for MSK Serverless), kafka:GetBootstrapBrokers, and
 *     ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface,
 *     ec2:DescribeVpcs, ec2:DescribeSubnets, ec2:DescribeSecurityGroups (the pollers reach the
 *     private cluster through ENIs, whether or not the function itself is in the VPC; these are the
 *     actions of the AWSLambdaMSKExecutionRole managed policy, which has Resource "*")
 *   DynamoDB pipeline stats table: dynamodb:UpdateItem
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 *   In the VPC (only with KAFKA_BOOTSTRAP_BROKERS): the AWSLambdaVPCAccessExecutionRole ENI actions,
 *     and a route to the sink: a DynamoDB gateway endpoint, or Timestream's ingest endpoint (its
 *     cell-specific interface endpoint, or NAT).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { documentClient } from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore } from '../adapters/dynamodb/pipeline-stats.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import type { KafkaBatchResponse, KafkaEvent } from '../ports/stream.js';
import { AWS_REGION_ENV, readBrokers, readTableNames, readTimeseriesSink } from './config.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, instrument, traceClient } from './observability.js';
import { createTimeseriesWriterLambda } from './timeseries-writer-lambda.js';
import { dynamoSink, timestreamSink } from './timeseries-writer-sink.js';

// The batch function and the sink's types live beside this entry; re-exported here, where the tests
// import them.
export {
  createTimeseriesWriterLambda,
  type TimeseriesWriterLambdaDependencies,
} from './timeseries-writer-lambda.js';
export type { ReadySinkDependencies, TimestreamSinkDependencies } from './timeseries-writer-sink.js';

// Composition root: read at cold start (a missing variable fails the init, naming it), reused warm.
const observability = createObservability('iot-cloud-timeseries-writer');
const region = requireEnv(AWS_REGION_ENV);
const sinkName = readTimeseriesSink();
const tables = readTableNames(['pipelineStats']);
// Brokers set: the function runs in the VPC and dead-letters rejected messages itself.
const brokers = process.env[ENV.kafkaBootstrapBrokers] ? readBrokers() : undefined;
const producer = brokers
  ? new KafkaStreamProducer({
      kafka: createKafka({ brokers, clientId: 'iot-cloud-timeseries-writer', iamRegion: region }),
    })
  : undefined;
const dynamoClient = traceClient(observability, new DynamoDBClient({ region }));
const dynamo = documentClient(dynamoClient);
const wiring = { observability, region, dynamoClient, dynamo };

export const handler: (event: KafkaEvent, context?: Context) => Promise<KafkaBatchResponse> = instrument(
  observability,
  createTimeseriesWriterLambda({
    ...(sinkName === 'dynamodb' ? dynamoSink(wiring) : timestreamSink(wiring)),
    ...(producer ? { producer } : {}),
    stats: new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats }),
    observability,
  }),
);
