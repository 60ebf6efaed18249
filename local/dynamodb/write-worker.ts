/**
 * Worker thread of the local DynamoDB: dynalite (its HTTP server and LevelDB) and the pipeline's
 * high-rate writes (alerts, message samples, device bookkeeping) and the enrich stage's alert
 * condition state (a read per device per batch, writes on transitions) with their own AWS SDK client.
 *
 * Why a thread: profiled under `npm run bench:e2e`, DynamoDB work (the SDK's request building and
 * signing, dynalite's request handling, LevelDB) took about a third of the platform's one busy thread,
 * mostly for alerts (two conditional puts each). Here it runs on the machine's other core, and the
 * pipeline thread only posts small messages. The API's reads still go to the same dynalite over HTTP.
 */
import { workerData } from 'node:worker_threads';
import {
  DynamoAlertStateStore,
  DynamoAlertStore,
  DynamoDeviceStore,
  DynamoMessageSampleStore,
  documentClient,
} from '../../functions/adapters/dynamodb/index.js';
import { forEachLimited } from '../../functions/adapters/dynamodb/support.js';
import { AlertStateConflict } from '../../functions/ports/registry.js';
import { serveRequests } from '../worker-rpc.js';
import { startDynalite } from './dynalite.js';
import type { WriteRequest, WriteWorkerData } from './write-worker-protocol.js';

const data = workerData as WriteWorkerData;
/** Device bookkeeping updates in flight at once (see 'seen' below). */
const SEEN_CONCURRENCY = 2;
const dynamo = await startDynalite(data.dataDir === undefined ? {} : { dataDir: data.dataDir });
const client = documentClient(dynamo.client);
let stores:
  | {
      alerts: DynamoAlertStore;
      alertState: DynamoAlertStateStore;
      samples: DynamoMessageSampleStore;
      devices: DynamoDeviceStore;
    }
  | undefined;

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function run(request: WriteRequest): Promise<unknown> {
  switch (request.op) {
    case 'tables':
      stores = {
        alerts: new DynamoAlertStore({ client, tableName: request.tables.alerts }),
        alertState: new DynamoAlertStateStore({ client, tableName: request.tables.alerts }),
        samples: new DynamoMessageSampleStore({ client, tableName: request.tables.messages }),
        devices: new DynamoDeviceStore({ client, tableName: request.tables.devices }),
      };
      return;
    case 'close':
      await dynamo.close();
      return;
  }
  if (!stores) throw new Error('the write worker was not told its table names');
  switch (request.op) {
    case 'alerts':
      await stores.alerts.add(request.alerts);
      return;
    case 'alertStateLoad':
      return stores.alertState.load(request.deviceIds);
    case 'alertStateSave':
      // A conflict is an answer, not a failure: it crosses the thread as the rule id.
      try {
        await stores.alertState.save(request.deviceId, request.states);
        return undefined;
      } catch (error) {
        if (error instanceof AlertStateConflict) return { conflict: error.ruleId };
        throw error;
      }
    case 'sample':
      await stores.samples.add(request.stage, request.sample);
      return;
    case 'seen': {
      // Each device on its own: one failing update does not hold back the others; failures are named.
      // A few at a time: a whole fleet's updates at once queued the enrich stage's alert-state writes
      // behind them (dynalite spends 1.3-4 ms of this thread per update, alone and under load), a
      // periodic latency spike.
      const devices = stores.devices;
      const failed: string[] = [];
      await forEachLimited(request.updates, SEEN_CONCURRENCY, async (update) => {
        try {
          await devices.recordSeen(update);
        } catch (error) {
          failed.push(`${update.deviceId}: ${describe(error)}`);
        }
      });
      if (failed.length > 0) throw new Error(`device bookkeeping failed for ${failed.join('; ')}`);
      return;
    }
  }
}

serveRequests((request) => run(request as unknown as WriteRequest), dynamo.endpoint);
