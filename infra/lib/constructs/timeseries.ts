/**
 * Amazon Timestream for LiveAnalytics: one database and one table, memory and magnetic retention from
 * the configuration, magnetic store writes on (late data is accepted), and rejected magnetic-store
 * records reported to an S3 bucket. LiveAnalytics accepts no new AWS customers since 2025-06-20: an
 * account that never used it fails at `AWS::Timestream::Database` (see README, "Deploy to AWS").
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as timestream from 'aws-cdk-lib/aws-timestream';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

export interface TimeSeriesProps {
  readonly memoryRetentionHours: number;
  readonly magneticRetentionDays: number;
  readonly rejectedRecordsBucket: s3.IBucket;
  readonly removalPolicy: RemovalPolicy;
}

/** Prefix of the rejected-record reports in the bucket. */
export const REJECTED_RECORDS_PREFIX = 'timestream-rejected/';

export class TimeSeries extends Construct {
  public readonly database: timestream.CfnDatabase;
  public readonly table: timestream.CfnTable;
  public readonly databaseName: string;
  public readonly tableName: string;
  public readonly tableArn: string;

  constructor(scope: Construct, id: string, props: TimeSeriesProps) {
    super(scope, id);
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
          'Timestream for LiveAnalytics is in maintenance mode (no new customers since 2025-06-20); the README says which accounts can deploy it, and the sink is a port with other adapters.',
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
  }

  grantWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['timestream:WriteRecords'], resources: [this.tableArn] }),
    );
    grantDescribeEndpoints(grantee);
  }

  grantQuery(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['timestream:Select'],
        resources: [this.tableArn],
      }),
    );
    grantDescribeEndpoints(grantee);
  }
}

/** Endpoint discovery: the action has no resource-level permissions (Timestream IAM reference). */
function grantDescribeEndpoints(grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['timestream:DescribeEndpoints'], resources: ['*'] }),
  );
}
