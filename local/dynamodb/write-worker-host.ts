/**
 * Starts the DynamoDB write worker (write-worker.ts): dynalite on its own thread, plus the pipeline's
 * high-rate writes. The pipeline thread keeps an SDK client of its own to the same dynalite for table
 * set-up, seeding and the API's reads.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Alert } from '../../functions/core/index.js';
import {
  AlertStateConflict,
  type AlertStateStore,
  type MessageSampleInput,
  type MessageStage,
  type SeenUpdate,
} from '../../functions/ports/registry.js';
import type { TableNames } from '../../functions/shared/tables.js';
import { startWorker } from '../worker-rpc.js';
import type { WriteRequest, WriteWorkerData } from './write-worker-protocol.js';

export interface DynamoWriteWorker {
  readonly endpoint: string;
  /** An SDK client of this thread (region 'local', dummy credentials), for set-up and reads. */
  readonly client: DynamoDBClient;
  /** Tells the worker the table names; call once the tables exist. */
  useTables(tables: TableNames): Promise<void>;
  addAlerts(alerts: readonly Alert[]): Promise<void>;
  /** The alert condition state in the alerts table, read and written on the worker. */
  readonly alertState: AlertStateStore;
  addSample(stage: MessageStage, sample: MessageSampleInput): Promise<void>;
  recordSeen(updates: readonly SeenUpdate[]): Promise<void>;
  /** Waits for the writes in flight, stops dynalite and the thread. */
  close(): Promise<void>;
}

export async function startDynamoWriteWorker(options: WriteWorkerData = {}): Promise<DynamoWriteWorker> {
  const rpc = await startWorker(
    new URL('./write-worker.ts', import.meta.url),
    options satisfies WriteWorkerData,
    'DynamoDB worker',
  );
  const endpoint = String(rpc.hello);
  const call = <T = void>(request: WriteRequest) => rpc.call<T>(request);
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    endpoint,
    client,
    useTables: (tables) => call({ op: 'tables', tables }),
    addAlerts: (alerts) => call({ op: 'alerts', alerts }),
    alertState: {
      load: (deviceIds) => call({ op: 'alertStateLoad', deviceIds }),
      save: async (deviceId, states) => {
        const answer = await call<{ conflict: string } | undefined>({
          op: 'alertStateSave',
          deviceId,
          states,
        });
        if (answer) throw new AlertStateConflict(deviceId, answer.conflict);
      },
    },
    addSample: (stage, sample) => call({ op: 'sample', stage, sample }),
    recordSeen: (updates) => call({ op: 'seen', updates }),
    close: async () => {
      client.destroy();
      await rpc.close({ op: 'close' } satisfies WriteRequest);
    },
  };
}
