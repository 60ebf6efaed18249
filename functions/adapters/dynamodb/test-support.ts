/**
 * For the integration tests: one dynalite per test file (in memory, free port) and a fresh set of
 * tables per test, under a unique prefix, so tests never see each other's items.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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

export async function startTestDynamo(): Promise<TestDynamo> {
  const local = await startDynalite();
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
