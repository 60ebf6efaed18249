/**
 * The environment's time-series sink (`timeseries.sink` in cdk.json), behind one small interface the
 * functions bind to (`bindWriter`, `bindReader`: env vars and least-privilege grants in one call):
 *
 * - `DynamoTimeSeries` (sink `dynamodb`, the default): the three on-demand tables of TIMESERIES_TABLES
 *   (functions/shared/tables.ts), TTL on their declared attributes, point-in-time recovery like the
 *   registry, reached from the VPC through its DynamoDB gateway endpoint. No idle cost.
 * - `TimestreamTimeSeries` (sink `timestream`): Amazon Timestream for LiveAnalytics, one database and
 *   one table, memory and magnetic retention from the configuration, magnetic store writes on (late
 *   data is accepted), rejected magnetic-store records reported to an S3 bucket. Those reports are
 *   written asynchronously, so an EventBridge rule matches each report object the bucket receives
 *   (S3 EventBridge notifications; no polling) and its MatchedEvents metric carries an alarm
 *   (Observability). LiveAnalytics accepts no new AWS customers since 2025-06-20: only accounts that
 *   used it before can deploy this sink
 *   (https://docs.aws.amazon.com/timestream/latest/developerguide/AmazonTimestreamForLiveAnalytics-availability-change.html).
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as timestream from 'aws-cdk-lib/aws-timestream';
import { Construct } from 'constructs';
import { ENV } from '../../../functions/lambda/environment.js';
import {
  type TableDeclaration,
  TIMESERIES_TABLE_NAME_ENV,
  TIMESERIES_TABLES,
  type TimeseriesTableKey,
} from '../../../functions/shared/tables.js';
import type { TimeseriesSinkName } from '../../../functions/shared/timeseries-sink.js';
import { acknowledge } from '../nag.js';
import { declaredTable } from './registry.js';

/** A function the sink can bind to: sets env vars, receives grants. */
export type BindableFunction = { addEnvironment(name: string, value: string): unknown } & iam.IGrantable;

export interface TimeSeriesSink {
  readonly sink: TimeseriesSinkName;
  /** The time-series writer: store points (and whatever the sink keeps beside them). */
  bindWriter(fn: BindableFunction): void;
  /** The API: query latest values, raw ranges and aggregates. */
  bindReader(fn: BindableFunction): void;
}

type DynamoAction = `dynamodb:${string}`;

export interface DynamoTimeSeriesProps {
  readonly removalPolicy: RemovalPolicy;
}

export class DynamoTimeSeries extends Construct implements TimeSeriesSink {
  public readonly sink = 'dynamodb' as const;
  public readonly tables: Readonly<Record<TimeseriesTableKey, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: DynamoTimeSeriesProps) {
    super(scope, id);
    const entries = Object.entries(TIMESERIES_TABLES) as [TimeseriesTableKey, TableDeclaration][];
    this.tables = Object.fromEntries(
      entries.map(([key, declaration]) => [key, declaredTable(this, key, declaration, props.removalPolicy)]),
    ) as Record<TimeseriesTableKey, dynamodb.Table>;
  }

  /** The actions of the writer's adapter (functions/adapters/dynamodb/timeseries/), table by table. */
  bindWriter(fn: BindableFunction): void {
    this.bind(fn, {
      // Points merge measure by measure (if_not_exists), so UpdateItem, never a whole-item Put. A
      // replay's rewrite (issue 16) reads the items it replaces (BatchGetItem) and, for a dropped
      // latest value, the newest point before it (Query).
      timeseriesPoints: ['dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
      // A refused conditional update (an older point) reads what is stored to retry with the rest; a
      // replay's rewrite reads the device's latest items to know which kind holds which measure (Query).
      timeseriesLatest: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      // Late data bumps the hour's rollup generation (ADD gen 1), so the next rollup run recomputes it.
      timeseriesRollups: ['dynamodb:UpdateItem'],
    });
  }

  bindReader(fn: BindableFunction): void {
    this.bind(fn, {
      timeseriesPoints: ['dynamodb:Query'],
      timeseriesLatest: ['dynamodb:Query'],
      timeseriesRollups: ['dynamodb:Query'],
    });
  }

  /** The hourly rollup: reads an hour of points, writes the hour's aggregates. */
  bindRollup(fn: BindableFunction): void {
    this.bind(fn, {
      timeseriesPoints: ['dynamodb:Query'],
      // Reads the hour's generation, writes the aggregates only if it has not moved (a conditional Put).
      timeseriesRollups: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
    });
  }

  /** Sets TIMESERIES_SINK and each table's name variable; grants exactly `access` per table. */
  private bind(
    fn: BindableFunction,
    access: Partial<Record<TimeseriesTableKey, readonly DynamoAction[]>>,
  ): void {
    fn.addEnvironment(ENV.timeseriesSink, this.sink);
    for (const [key, actions] of Object.entries(access) as [TimeseriesTableKey, DynamoAction[]][]) {
      const table = this.tables[key];
      fn.addEnvironment(TIMESERIES_TABLE_NAME_ENV[key], table.tableName);
      fn.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: [...actions], resources: [table.tableArn] }),
      );
    }
  }
}

export interface TimestreamTimeSeriesProps {
  readonly memoryRetentionHours: number;
  readonly magneticRetentionDays: number;
  /** Receives the rejected-record reports; must send its events to EventBridge. */
  readonly rejectedRecordsBucket: s3.IBucket;
  /** The cell's ingest endpoint inside the VPC (Network.timestreamIngestUrl). */
  readonly ingestUrl: string;
  readonly removalPolicy: RemovalPolicy;
}

/** Prefix of the rejected-record reports in the bucket. */
export const REJECTED_RECORDS_PREFIX = 'timestream-rejected/';

export class TimestreamTimeSeries extends Construct implements TimeSeriesSink {
  public readonly sink = 'timestream' as const;
  public readonly database: timestream.CfnDatabase;
  public readonly table: timestream.CfnTable;
  public readonly databaseName: string;
  public readonly tableName: string;
  public readonly tableArn: string;
  public readonly ingestUrl: string;
  /** Matches every rejected-record report written to the bucket (its MatchedEvents metric is alarmed). */
  public readonly rejectionsRule: events.Rule;

  constructor(scope: Construct, id: string, props: TimestreamTimeSeriesProps) {
    super(scope, id);
    this.ingestUrl = props.ingestUrl;
    this.database = new timestream.CfnDatabase(this, 'Database', {});
    this.database.applyRemovalPolicy(props.removalPolicy);
    acknowledge(this.database, [
      {
        id: 'AwsSolutions-TS3',
        reason:
          'Encrypted at rest with the AWS managed key; a customer-managed key adds cost and key administration without a requirement for it.',
      },
      {
        id: 'CloudFormation-Validate::W3697',
        reason:
          'Timestream for LiveAnalytics is in maintenance mode (no new customers since 2025-06-20); it is an opt-in sink for accounts that have it, DynamoDB is the default.',
      },
    ]);
    this.databaseName = this.database.ref;
    this.table = new timestream.CfnTable(this, 'Table', {
      databaseName: this.databaseName,
      retentionProperties: {
        MemoryStoreRetentionPeriodInHours: String(props.memoryRetentionHours),
        MagneticStoreRetentionPeriodInDays: String(props.magneticRetentionDays),
      },
      magneticStoreWriteProperties: {
        EnableMagneticStoreWrites: true,
        MagneticStoreRejectedDataLocation: {
          S3Configuration: {
            BucketName: props.rejectedRecordsBucket.bucketName,
            ObjectKeyPrefix: REJECTED_RECORDS_PREFIX,
            EncryptionOption: 'SSE_S3',
          },
        },
      },
    });
    this.table.applyRemovalPolicy(props.removalPolicy);
    acknowledge(this.table, [
      {
        id: 'CloudFormation-Validate::W3697',
        reason: 'See the database: LiveAnalytics maintenance mode is documented.',
      },
    ]);
    this.tableName = this.table.attrName;
    this.tableArn = this.table.attrArn;

    // S3 "Object Created" events of the report prefix (Amazon S3 user guide, "Using EventBridge").
    // No target: the rule's MatchedEvents metric is the signal.
    this.rejectionsRule = new events.Rule(this, 'RejectedRecordsRule', {
      description: 'Timestream magnetic-store rejected-record reports written to the failed-records bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.rejectedRecordsBucket.bucketName] },
          object: { key: [{ prefix: REJECTED_RECORDS_PREFIX }] },
        },
      },
    });
  }

  bindWriter(fn: BindableFunction): void {
    fn.addEnvironment(ENV.timeseriesSink, this.sink);
    fn.addEnvironment(ENV.timestreamDatabase, this.databaseName);
    fn.addEnvironment(ENV.timestreamTable, this.tableName);
    fn.addEnvironment(ENV.timestreamIngestEndpoint, this.ingestUrl);
    fn.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['timestream:WriteRecords'], resources: [this.tableArn] }),
    );
    grantDescribeEndpoints(fn);
  }

  bindReader(fn: BindableFunction): void {
    fn.addEnvironment(ENV.timeseriesSink, this.sink);
    fn.addEnvironment(ENV.timestreamDatabase, this.databaseName);
    fn.addEnvironment(ENV.timestreamTable, this.tableName);
    fn.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['timestream:Select'], resources: [this.tableArn] }),
    );
    grantDescribeEndpoints(fn);
  }
}

/** Endpoint discovery: the action has no resource-level permissions (Timestream IAM reference). */
function grantDescribeEndpoints(grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['timestream:DescribeEndpoints'], resources: ['*'] }),
  );
}
