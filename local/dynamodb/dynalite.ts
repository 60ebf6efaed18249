/**
 * A local DynamoDB: dynalite (the DynamoDB API on LevelDB) on 127.0.0.1, reached through the real AWS
 * SDK client. With `dataDir` the data persists across restarts; without it, it lives in memory.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

interface DynaliteOptions {
  readonly path?: string;
  readonly createTableMs?: number;
  readonly deleteTableMs?: number;
  readonly updateTableMs?: number;
}

// dynalite ships no type declarations; this is the one function of its API used here.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;

export interface DynaliteOptionsInput {
  /** LevelDB directory; created if missing. Left out: in memory, gone on close. */
  readonly dataDir?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  /** Region 'local', static dummy credentials: nothing leaves the machine. */
  readonly client: DynamoDBClient;
  /** Destroys the client, then stops the server and closes LevelDB. */
  close(): Promise<void>;
}

export async function startDynalite(options: DynaliteOptionsInput = {}): Promise<LocalDynamo> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  const server = dynalite({
    ...(options.dataDir === undefined ? {} : { path: options.dataDir }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let closed: Promise<void> | undefined;
  return {
    endpoint,
    port,
    client,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        client.destroy();
        // Keep-alive sockets of the SDK would hold `close` open until they time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
      return closed;
    },
  };
}
