/**
 * Starts the DynamoDB write worker (write-worker.ts): dynalite on its own thread, plus the pipeline's
 * high-rate writes. The pipeline thread keeps an SDK client of its own to the same dynalite for table
 * set-up, seeding and the API's reads.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Alert } from '../../functions/core/index.js';
import type { MessageSampleInput, MessageStage, SeenUpdate } from '../../functions/ports/registry.js';
import type { TableNames } from '../../functions/shared/tables.js';
import type { WorkerReply, WorkerRequest, WriteWorkerData } from './write-worker-protocol.js';

type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

export interface DynamoWriteWorker {
  readonly endpoint: string;
  /** An SDK client of this thread (region 'local', dummy credentials), for set-up and reads. */
  readonly client: DynamoDBClient;
  /** Tells the worker the table names; call once the tables exist. */
  useTables(tables: TableNames): Promise<void>;
  addAlerts(alerts: readonly Alert[]): Promise<void>;
  addSample(stage: MessageStage, sample: MessageSampleInput): Promise<void>;
  recordSeen(updates: readonly SeenUpdate[]): Promise<void>;
  /** Waits for the writes in flight, stops dynalite and the thread. */
  close(): Promise<void>;
}

/**
 * The worker is TypeScript, and module hooks are not inherited by worker threads (not even tsx's from
 * `node --import tsx`): a small bootstrap registers tsx in the thread, then imports the worker.
 */
function bootstrap(file: URL): string {
  const require = createRequire(import.meta.url);
  // The ESM entry of tsx/esm/api (require.resolve would give its CommonJS one).
  const tsxDir = dirname(require.resolve('tsx/package.json'));
  const tsx = pathToFileURL(join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`;
}

export async function startDynamoWriteWorker(options: WriteWorkerData = {}): Promise<DynamoWriteWorker> {
  const worker = new Worker(bootstrap(new URL('./write-worker.ts', import.meta.url)), {
    eval: true,
    workerData: options satisfies WriteWorkerData,
  });
  const waiting = new Map<
    number,
    { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }
  >();
  let nextId = 1;
  let exited: Error | undefined;

  const started = new Promise<string>((resolve, reject) => {
    waiting.set(0, {
      resolve: (reply) => (reply.endpoint ? resolve(reply.endpoint) : reject(new Error(reply.error))),
      reject,
    });
  });
  worker.on('message', (reply: WorkerReply) => {
    const waiter = waiting.get(reply.id);
    if (!waiter) return;
    waiting.delete(reply.id);
    waiter.resolve(reply);
  });
  const failAll = (error: Error) => {
    exited = error;
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  worker.on('error', (error) => failAll(new Error(`the DynamoDB worker failed: ${error.message}`)));
  worker.on('exit', (code) => failAll(new Error(`the DynamoDB worker exited (code ${code})`)));

  const call = (request: Request): Promise<void> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      waiting.set(id, {
        resolve: (reply) => (reply.error === undefined ? resolve() : reject(new Error(reply.error))),
        reject,
      });
      worker.postMessage({ ...request, id } as WorkerRequest);
    });
  };

  let endpoint: string;
  try {
    endpoint = await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    client,
    useTables: (tables) => call({ op: 'tables', tables }),
    addAlerts: (alerts) => call({ op: 'alerts', alerts }),
    addSample: (stage, sample) => call({ op: 'sample', stage, sample }),
    recordSeen: (updates) => call({ op: 'seen', updates }),
    close() {
      closing ??= (async () => {
        client.destroy();
        // Requests are answered in order of completion; close waits for those already posted.
        const pending = [...waiting.keys()];
        await Promise.allSettled(
          pending.map(
            (id) =>
              new Promise<void>((resolve) => {
                const waiter = waiting.get(id);
                if (!waiter) return resolve();
                waiting.set(id, {
                  resolve: (reply) => {
                    waiter.resolve(reply);
                    resolve();
                  },
                  reject: (error) => {
                    waiter.reject(error);
                    resolve();
                  },
                });
              }),
          ),
        );
        if (!exited) await call({ op: 'close' }).catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
