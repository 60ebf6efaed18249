/**
 * Creates the tables that do not exist yet, from the shared declarations (idempotent). TTL is not
 * enabled: dynalite does not implement UpdateTimeToLive, and the adapters filter on `expiresAt`.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import {
  createTableInput,
  TABLES,
  type TableDeclaration,
  type TableNames,
  TIMESERIES_TABLES,
  type TimeseriesTableNames,
} from '../../functions/shared/tables.js';

/** Returns the names of the tables it created. */
export const ensureTables = (client: DynamoDBClient, names: TableNames): Promise<string[]> =>
  ensureDeclaredTables(client, TABLES, names);

/** The DynamoDB time-series sink's tables (`--timeseries dynamodb`); returns the names it created. */
export const ensureTimeseriesTables = (
  client: DynamoDBClient,
  names: TimeseriesTableNames,
): Promise<string[]> => ensureDeclaredTables(client, TIMESERIES_TABLES, names);

async function ensureDeclaredTables<K extends string>(
  client: DynamoDBClient,
  declarations: Readonly<Record<K, TableDeclaration>>,
  names: Readonly<Record<K, string>>,
): Promise<string[]> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);

  const created: string[] = [];
  for (const key of Object.keys(declarations) as K[]) {
    const name = names[key];
    if (existing.has(name)) continue;
    try {
      await client.send(new CreateTableCommand(createTableInput(name, declarations[key])));
      created.push(name);
    } catch (error) {
      // Created by someone else in between: that is what we wanted.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await waitUntilActive(client, name);
  }
  return created;
}

async function waitUntilActive(client: DynamoDBClient, name: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}
