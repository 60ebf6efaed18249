/**
 * For the integration tests: one dynalite per test file (in memory, free port) and a fresh set of
 * tables per test, under a unique prefix, so tests never see each other's items.
 *
 * The integration tier (npm run test:integration) runs the same test files against moto's DynamoDB
 * instead: its globalSetup provides `awsEndpoint`, and then no dynalite is started.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import {
  ensureTables,
  type LocalDynamo,
  localTableNames,
  startDynalite,
} from '../../../local/dynamodb/index.js';
import type { TableNames } from '../../shared/tables.js';
import { documentClient } from './index.js';

export interface TestDynamo {
  readonly local: LocalDynamo;
  readonly client: DynamoDBDocumentClient;
  /** Creates a fresh set of tables and returns their names. */
  freshTables(): Promise<TableNames>;
  close(): Promise<void>;
}

/** A DynamoDB API server someone else runs (the integration tier's moto): close only ends the client. */
function connectDynamo(endpoint: string): LocalDynamo {
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  return {
    endpoint,
    port: Number(new URL(endpoint).port),
    client,
    compact: async () => undefined, // someone else's server: its storage is its own business
    close: async () => client.destroy(),
  };
}

export async function startTestDynamo(): Promise<TestDynamo> {
  // Undefined outside the integration tier (vitest.config.ts provides nothing).
  const awsEndpoint: string | undefined = inject('awsEndpoint');
  const local = awsEndpoint ? connectDynamo(awsEndpoint) : await startDynalite();
  return {
    local,
    client: documentClient(local.client),
    async freshTables() {
      const names = localTableNames(`t-${randomUUID().slice(0, 8)}`);
      await ensureTables(local.client, names);
      return names;
    },
    close: () => local.close(),
  };
}
