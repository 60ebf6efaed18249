/**
 * The DynamoDB tables, generated from the shared declarations (functions/shared/tables.ts): keys,
 * global secondary indexes and TTL attributes are read from TABLES, so the deployed tables and the
 * local dynalite tables cannot drift. On-demand billing, point-in-time recovery, encryption at rest
 * with the AWS managed key, and CDK-generated physical names (passed to the functions through
 * TABLE_NAME_ENV).
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  type IndexProjection,
  type KeyAttribute,
  TABLE_NAME_ENV,
  TABLES,
  type TableDeclaration,
  type TableKey,
} from '../../../functions/shared/tables.js';

const toAttribute = (key: KeyAttribute): dynamodb.Attribute => ({
  name: key.name,
  type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

const toProjection = (projection: IndexProjection) => {
  switch (projection.type) {
    case 'ALL':
      return { projectionType: dynamodb.ProjectionType.ALL };
    case 'KEYS_ONLY':
      return { projectionType: dynamodb.ProjectionType.KEYS_ONLY };
    case 'INCLUDE':
      return {
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...projection.nonKeyAttributes],
      };
  }
};

export interface RegistryProps {
  readonly removalPolicy: RemovalPolicy;
}

/** A named set of actions, or the exact DynamoDB actions a function's header lists. */
export type TableAccess = 'read' | 'readWrite' | readonly `dynamodb:${string}`[];

const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
] as const;
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

export class Registry extends Construct {
  public readonly tables: Readonly<Record<TableKey, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    const entries = Object.entries(TABLES) as [TableKey, TableDeclaration][];
    this.tables = Object.fromEntries(
      entries.map(([key, declaration]) => [key, this.createTable(key, declaration, props)]),
    ) as Record<TableKey, dynamodb.Table>;
  }

  /**
   * Sets each table's name variable (TABLE_NAME_ENV) and grants the access asked for, table by table,
   * on the table and its declared indexes by name (no `index/*` wildcard).
   */
  bind(
    fn: { addEnvironment(name: string, value: string): unknown } & iam.IGrantable,
    access: Partial<Record<TableKey, TableAccess>>,
  ): void {
    for (const [key, mode] of Object.entries(access) as [TableKey, TableAccess][]) {
      const table = this.tables[key];
      fn.addEnvironment(TABLE_NAME_ENV[key], table.tableName);
      const actions =
        mode === 'read'
          ? [...READ_ACTIONS]
          : mode === 'readWrite'
            ? [...READ_ACTIONS, ...WRITE_ACTIONS]
            : [...mode];
      const declaration: TableDeclaration = TABLES[key];
      const indexes = declaration.globalSecondaryIndexes ?? [];
      fn.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions,
          resources: [
            table.tableArn,
            ...indexes.map((index) => `${table.tableArn}/index/${index.indexName}`),
          ],
        }),
      );
    }
  }

  private createTable(key: TableKey, declaration: TableDeclaration, props: RegistryProps): dynamodb.Table {
    return declaredTable(this, key, declaration, props.removalPolicy);
  }
}

/**
 * A table from its shared declaration: on demand, point-in-time recovery, AWS managed encryption, the
 * declared TTL attribute and indexes. The construct ID is the declaration's key: it fixes the logical
 * ID (pinned by a test).
 */
export function declaredTable(
  scope: Construct,
  key: string,
  declaration: TableDeclaration,
  removalPolicy: RemovalPolicy,
): dynamodb.Table {
  const table = new dynamodb.Table(scope, key, {
    partitionKey: toAttribute(declaration.partitionKey),
    sortKey: declaration.sortKey ? toAttribute(declaration.sortKey) : undefined,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: declaration.timeToLiveAttribute,
    // Enabling a stream on an existing table is an in-place update (no replacement).
    ...(declaration.stream === 'NEW_IMAGE' ? { stream: dynamodb.StreamViewType.NEW_IMAGE } : {}),
    deletionProtection: false,
    removalPolicy,
  });
  for (const index of declaration.globalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: toAttribute(index.partitionKey),
      sortKey: index.sortKey ? toAttribute(index.sortKey) : undefined,
      ...toProjection(index.projection),
    });
  }
  return table;
}
