/**
 * Small helpers shared by the DynamoDB adapters: conditional-failure detection, opaque cursors,
 * batch writes with retries of unprocessed items, and items free of `undefined`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../ports/registry.js';
import { DYNAMODB_BATCH_GET_KEYS, DYNAMODB_BATCH_WRITE_REQUESTS } from '../../shared/aws-limits.js';

/** A DynamoDB key or item as the document client reads and writes it. */
export type Item = Record<string, unknown>;
export type Key = Record<string, string | number>;

export const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === 'ConditionalCheckFailedException');

/** A copy without `undefined` values (the document client refuses them unless configured otherwise). */
export function withoutUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// ---------------------------------------------------------------------------------------------------
// Cursors: the last key of a page as base64url JSON. Opaque to clients, validated on the way back
// in so a tampered or foreign cursor is a 400, never a DynamoDB error (500).

const MAX_CURSOR_LENGTH = 2048;

export function encodeCursor(key: Key): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor and checks it holds exactly `attributes`, each a string (or number) matching
 * `valid`; otherwise a `ValidationError`.
 */
export function decodeCursor(
  cursor: string,
  attributes: Readonly<Record<string, (value: unknown) => boolean>>,
): Key {
  const invalid = () => new ValidationError('invalid cursor', ['cursor: not one this list returned']);
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalid();
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalid();
  const entries = Object.entries(decoded);
  const expected = Object.keys(attributes);
  if (entries.length !== expected.length) throw invalid();
  const key: Key = {};
  for (const [name, value] of entries) {
    const check = attributes[name];
    if (!check || (typeof value !== 'string' && typeof value !== 'number') || !check(value)) throw invalid();
    key[name] = value;
  }
  return key;
}

export const pickKey = (item: Item, attributes: readonly string[]): Key => {
  const key: Key = {};
  for (const name of attributes) {
    const value = item[name];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(`item lacks key attribute "${name}"`);
    }
    key[name] = value;
  }
  return key;
};

// ---------------------------------------------------------------------------------------------------
// Batch writes.

const BATCH_SIZE = DYNAMODB_BATCH_WRITE_REQUESTS;
const MAX_BATCH_ATTEMPTS = 8;

type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } };

/** Writes in batches of 25, retrying unprocessed items with backoff; throws if they never go through. */
export async function batchWrite(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
): Promise<void> {
  for (let start = 0; start < requests.length; start += BATCH_SIZE) {
    let pending: WriteRequest[] = requests.slice(start, start + BATCH_SIZE);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_BATCH_ATTEMPTS) {
        throw new Error(`${pending.length} writes to ${tableName} stayed unprocessed`);
      }
      if (attempt > 1) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    }
  }
}

const GET_BATCH_SIZE = DYNAMODB_BATCH_GET_KEYS;

/**
 * Reads items by key in batches of 100, retrying unprocessed keys; missing items are left out.
 * Strongly consistent, so a record written just before is seen.
 */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  projection?: { readonly expression: string; readonly names: Readonly<Record<string, string>> },
): Promise<Item[]> {
  const items: Item[] = [];
  for (let start = 0; start < keys.length; start += GET_BATCH_SIZE) {
    let pending: Key[] = keys.slice(start, start + GET_BATCH_SIZE);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_BATCH_ATTEMPTS)
        throw new Error(`${pending.length} reads from ${tableName} stayed unprocessed`);
      if (attempt > 1) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const result = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ConsistentRead: true,
              ...(projection
                ? {
                    ProjectionExpression: projection.expression,
                    ExpressionAttributeNames: { ...projection.names },
                  }
                : {}),
            },
          },
        }),
      );
      items.push(...(result.Responses?.[tableName] ?? []));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Key[];
    }
  }
  return items;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Moved to functions/shared/concurrency.ts (the post-batch bookkeeping uses it too); re-exported here.
export { forEachLimited } from '../../shared/concurrency.js';

/** Throws a `ValidationError` unless `limit` is an integer in [1, max]. */
export function checkLimit(limit: number, max: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError('invalid limit', [`limit: an integer from 1 to ${max}`]);
  }
}

/**
 * A newest-first query whose filter may drop items: reads page after page until `limit` items passed
 * the filter or `maxExamined` items were read (so an expired backlog cannot make one call unbounded).
 */
export async function queryNewest<T>(
  client: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey' | 'ScanIndexForward'>,
  limit: number,
  maxExamined: number,
  toResult: (item: Item) => T,
): Promise<T[]> {
  const results: T[] = [];
  let examined = 0;
  let startKey: Item | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        ...input,
        ScanIndexForward: false,
        Limit: limit - results.length,
        ExclusiveStartKey: startKey,
      }),
    );
    examined += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) results.push(toResult(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey && results.length < limit && examined < maxExamined);
  return results.slice(0, limit);
}

/**
 * Every item of a small table, strongly consistent, page by page: the registry tables (device types,
 * ingest mappings) are read whole and cached by their readers.
 */
export async function scanAll(client: DynamoDBDocumentClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
