/** Requests from the pipeline thread to the DynamoDB write worker (write-worker.ts). */
import type { Alert, ConditionState } from '../../functions/core/index.js';
import type { MessageSampleInput, MessageStage, SeenUpdate } from '../../functions/ports/registry.js';
import type { TableNames } from '../../functions/shared/tables.js';

export interface WriteWorkerData {
  /** LevelDB directory; left out: in memory. */
  readonly dataDir?: string;
}

export type WriteRequest =
  | { readonly op: 'tables'; readonly tables: TableNames }
  | { readonly op: 'alerts'; readonly alerts: readonly Alert[] }
  | { readonly op: 'alertStateLoad'; readonly deviceIds: readonly string[] }
  | {
      readonly op: 'alertStateSave';
      readonly deviceId: string;
      readonly states: Readonly<Record<string, ConditionState>>;
    }
  | { readonly op: 'sample'; readonly stage: MessageStage; readonly sample: MessageSampleInput }
  | { readonly op: 'seen'; readonly updates: readonly SeenUpdate[] }
  | { readonly op: 'close' };
