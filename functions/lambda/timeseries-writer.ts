/**
 * Lambda entry: time-series writer (its batch function: timeseries-writer-lambda.ts). MSK event
 * source mapping on `iot.enriched` (consumer group
 * CONSUMER_GROUPS.timeseriesWriter) -> the shared handler (functions/handlers/timeseries-writer.ts)
 * -> the environment's time-series sink, chosen by TIMESERIES_SINK at cold start:
 *   - `dynamodb` (functions/adapters/dynamodb/timeseries/): points, latest values and rollup
 *     invalidations, every write an idempotent UpdateItem (throttling retried by the SDK);
 *   - `timestream` (functions/adapters/timestream/writer.ts): multi-measure records of at most 2 KB,
 *     100 per WriteRecords, throttling retried with backoff.
 *
 * Responses: Kafka partial batch response: a record that is not an enriched message is reported alone
 * (retried, then the event source's on-failure destination). A throttled or failing sink throws: the
 * batch is retried, and re-writing it is a no-op in either sink. Records Timestream rejects for good (a
 * conflicting value for the same device, measure and time; a time outside the table's retention; a
 * limit) are not resent unchanged, and where they go depends on the deployment:
 *   - with KAFKA_BOOTSTRAP_BROKERS (function in the VPC): their messages go to `iot.dlq` as dead
 *     letters with the reason (PROCESSING_FAILED, "Timestream rejected ..."), counted in the stats;
 *   - without it (function outside the VPC, the event source mapping's pollers reach MSK): their Kafka
 *     records are reported as batch item failures, so the event source retries them and then hands
 *     them to its on-failure destination; the reason is logged.
 * The DynamoDB sink rejects nothing for good (its items stay far below 400 KB; a conflicting value
 * keeps the first one written, as DuckDB does), except points stamped before 1970, which no sort key
 * can hold: they are logged and counted (TimeseriesUnstorablePoints) and stay in the enriched stream. Nothing rejected is dropped silently either way. The
 * stats also get the latency histogram (device timestamp to written) of the batch's telemetry: one
 * UpdateItem per minute bucket per batch.
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
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { Context } from 'aws-lambda';
import { DynamoDeviceTypeStore, documentClient } from '../adapters/dynamodb/index.js';
import { DynamoPipelineStatsStore } from '../adapters/dynamodb/pipeline-stats.js';
import { DynamoTimeseriesSink, timeseriesDocumentClient } from '../adapters/dynamodb/timeseries/index.js';
import { createKafka } from '../adapters/kafka/client.js';
import { KafkaStreamProducer } from '../adapters/kafka/producer.js';
import type { KafkaBatchResponse, KafkaEvent } from '../ports/stream.js';
import {
  AWS_REGION_ENV,
  readBrokers,
  readOptionalHttpsEndpoint,
  readRegistryRefreshMs,
  readTableNames,
  readTimeseriesSink,
  readTimeseriesTableNames,
} from './config.js';
import { ENV, requireEnv } from './environment.js';
import { createObservability, instrument, MetricUnit, traceClient } from './observability.js';
import { Refreshing } from './support.js';

import {
  createTimeseriesWriterLambda,
  type ReadySinkDependencies,
  type TimestreamSinkDependencies,
} from './timeseries-writer-lambda.js';

// The batch function lives in timeseries-writer-lambda.ts; re-exported here, where the tests import it.
export {
  createTimeseriesWriterLambda,
  type ReadySinkDependencies,
  type TimeseriesWriterLambdaDependencies,
  type TimestreamSinkDependencies,
} from './timeseries-writer-lambda.js';

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

function dynamoSink(): ReadySinkDependencies {
  const names = readTimeseriesTableNames(['timeseriesPoints', 'timeseriesLatest', 'timeseriesRollups']);
  let writeUnits = 0;
  const sink = new DynamoTimeseriesSink({
    client: timeseriesDocumentClient(dynamoClient),
    tables: {
      points: names.timeseriesPoints,
      latest: names.timeseriesLatest,
      rollups: names.timeseriesRollups,
    },
    // Measured, not estimated: the figure the cost model's write units per message can be checked against.
    onConsumedCapacity: ({ units }) => {
      writeUnits += units;
    },
    onUnstorableTime: (points) => {
      observability.metrics.addMetric('TimeseriesUnstorablePoints', MetricUnit.Count, points.length);
      observability.logger.warn('points with a time DynamoDB keys cannot hold were not stored', {
        deviceId: points[0]?.deviceId,
        time: points[0]?.time,
        points: points.length,
      });
    },
  });
  return {
    sink,
    takeWriteUnits: () => {
      const units = writeUnits;
      writeUnits = 0;
      return units;
    },
  };
}

function timestreamSink(): TimestreamSinkDependencies {
  const database = requireEnv(ENV.timestreamDatabase);
  const table = requireEnv(ENV.timestreamTable);
  // In isolated subnets the cell endpoint is given (discovery's regional host is unreachable there).
  const ingestEndpoint = readOptionalHttpsEndpoint(ENV.timestreamIngestEndpoint);
  const deviceTypes = new DynamoDeviceTypeStore({
    client: dynamo,
    tableName: readTableNames(['deviceTypes']).deviceTypes,
  });
  const dimensions = new Refreshing({
    load: async () =>
      new Map(
        (await deviceTypes.listDeviceTypes()).map((t) => [t.deviceType.typeId, t.deviceType.dimensions]),
      ),
    refreshMs: readRegistryRefreshMs(),
    onRefreshError: (error) =>
      observability.logger.warn('device type refresh failed; keeping the previous ones', {
        error: error as Error,
      }),
  });
  return {
    // Without an endpoint the SDK discovers the cell (DescribeEndpoints); with one it skips discovery.
    timestream: traceClient(
      observability,
      new TimestreamWriteClient({ region, ...(ingestEndpoint ? { endpoint: ingestEndpoint } : {}) }),
    ),
    database,
    table,
    dimensions: () => dimensions.current(),
  };
}

export const handler: (event: KafkaEvent, context?: Context) => Promise<KafkaBatchResponse> = instrument(
  observability,
  createTimeseriesWriterLambda({
    ...(sinkName === 'dynamodb' ? dynamoSink() : timestreamSink()),
    ...(producer ? { producer } : {}),
    stats: new DynamoPipelineStatsStore({ client: dynamo, tableName: tables.pipelineStats }),
    observability,
  }),
);
