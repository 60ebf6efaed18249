/**
 * A local DynamoDB: dynalite (the DynamoDB API on LevelDB) on 127.0.0.1, reached through the real AWS
 * SDK client. With `dataDir` the data persists across restarts; without it, it lives in memory.
 */
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

interface DynaliteOptions {
  readonly path?: string;
  readonly createTableMs?: number;
  readonly deleteTableMs?: number;
  readonly updateTableMs?: number;
}

// dynalite ships no type declarations; these are the parts of its API used here.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;
/** dynalite's store module: `create` makes the store its server serves; `db` is the LevelDB under it. */
const dynaliteStore = require('dynalite/db/index.js') as {
  create: (options: DynaliteOptions) => { db: LevelDb };
};
interface LevelDb {
  open(): Promise<void>;
  compactRange(start: string, end: string): Promise<void>;
  keys(options?: unknown): LevelIterator;
  values(options?: unknown): LevelIterator;
  createKeyStream(options?: unknown): Readable;
  createValueStream(options?: unknown): Readable;
}
interface LevelIterator {
  next(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * dynalite 4.0.0 reads LevelDB through streams over abstract-level iterators and closes them with
 * `iterator.return()`, which abstract-level 3 iterators do not have: no iterator is ever closed, not
 * even one read to its end. Each open iterator holds a LevelDB snapshot and the memtables it was made
 * over, so every Query, Scan and ListTables pinned memory for good, and LevelDB kept every deleted or
 * overwritten item from then on (a snapshot might still read it). Under `npm run bench:soak` at
 * 2,000 msg/s: 1.7 GB of anonymous memory and a 2.1 GB directory for 220 MB of live items after 22 min.
 * These streams close their iterator at the end and when destroyed.
 */
function closingStream(iterator: LevelIterator): Readable {
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= iterator.close();
    return closing;
  };
  return new Readable({
    objectMode: true,
    read() {
      iterator.next().then(
        (value) => {
          if (value !== undefined) this.push(value);
          else
            close().then(
              () => this.push(null),
              (error: Error) => this.destroy(error),
            );
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

function closeIteratorsOfStreams(level: LevelDb): void {
  level.createKeyStream = (options) => closingStream(level.keys(options));
  level.createValueStream = (options) => closingStream(level.values(options));
}

/**
 * How often a persistent store compacts its LevelDB. The inspector's samples are written and trimmed
 * all the time (every sample is deleted again once a device has 200 newer ones), and LevelDB only drops
 * a deleted or overwritten value when a compaction merges it with its tombstone, which its size-driven
 * compactions rarely reach for keys that are written once and then deleted: at 2,000 msg/s the directory
 * grew 100 MB a minute (2.1 GB after 22 minutes for about 220 MB of live items), all of it mapped into
 * the process as LevelDB reads its table files. A full compaction rewrites only the live items.
 */
export const DEFAULT_COMPACT_EVERY_MS = 5 * 60_000;

export interface DynaliteOptionsInput {
  /** LevelDB directory; created if missing. Left out: in memory, gone on close. */
  readonly dataDir?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** With `dataDir`: how often LevelDB is compacted (DEFAULT_COMPACT_EVERY_MS); 0 never. */
  readonly compactEveryMs?: number;
}

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  /** Region 'local', static dummy credentials: nothing leaves the machine. */
  readonly client: DynamoDBClient;
  /** Compacts the whole LevelDB: deleted and overwritten items leave the files. */
  compact(): Promise<void>;
  /** Destroys the client, then stops the server and closes LevelDB. */
  close(): Promise<void>;
}

/**
 * Opens the LevelDB now rather than at dynalite's first request, so a directory another process holds
 * (a second `npm start` on the same data directory) fails the start with a reason: left to dynalite,
 * the failed open closed its server and the start said only `connect ECONNREFUSED`.
 */
async function openOrExplain(level: LevelDb, dataDir: string): Promise<void> {
  try {
    await level.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if (cause?.code !== 'LEVEL_LOCKED') throw error;
    throw new Error(
      `${dataDir} is in use by another process (LevelDB's lock): is another \`npm start\` running on this data directory? Stop it, or start with another --data-dir`,
      { cause: error },
    );
  }
}

export async function startDynalite(options: DynaliteOptionsInput = {}): Promise<LocalDynamo> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  // dynalite does not expose its store: its server is made while `create` is wrapped to keep it.
  const create = dynaliteStore.create;
  let store: { db: LevelDb } | undefined;
  dynaliteStore.create = (storeOptions) => {
    store = create(storeOptions);
    return store;
  };
  let server: Server;
  try {
    server = dynalite({
      ...(options.dataDir === undefined ? {} : { path: options.dataDir }),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
  } finally {
    dynaliteStore.create = create;
  }
  const level = store?.db;
  if (!level) throw new Error('dynalite did not create its store through dynalite/db');
  if (options.dataDir !== undefined) await openOrExplain(level, options.dataDir);
  closeIteratorsOfStreams(level);
  // One compaction at a time; the whole key space (dynalite's keys are printable ASCII).
  let compacting: Promise<void> | undefined;
  const compact = () => {
    compacting ??= level.compactRange('\u0000', '\u007f').finally(() => {
      compacting = undefined;
    });
    return compacting;
  };
  const compactEveryMs =
    options.dataDir === undefined ? 0 : (options.compactEveryMs ?? DEFAULT_COMPACT_EVERY_MS);
  const compactTimer =
    compactEveryMs > 0
      ? setInterval(() => void compact().catch(() => undefined), compactEveryMs).unref()
      : undefined;
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
    compact,
    close() {
      clearInterval(compactTimer);
      closed ??= (async () => {
        await compacting?.catch(() => undefined); // LevelDB closes after a running compaction
        await new Promise<void>((resolve, reject) => {
          client.destroy();
          // Keep-alive sockets of the SDK would hold `close` open until they time out.
          server.closeAllConnections();
          server.close((error) => (error ? reject(error) : resolve()));
        });
      })();
      return closed;
    },
  };
}
