/**
 * Data operations in AWS (issue 16): the payload the API function sends the data-ops function, and how
 * the data-ops function runs one. One schema for both functions, so the two cannot drift; the API's
 * side (Lambda Invoke) is functions/adapters/lambda/invoked-data-ops.ts, the entry
 * functions/lambda/data-ops.ts.
 *
 * Triage answers the groups (a synchronous invocation). A redrive or a replay runs under the id the
 * API already answered with (an asynchronous one) and keeps its progress in the operation store. A
 * replay that finds its device type locked (the API checked, but two requests raced) is stored as
 * failed with the running replay named; the store's conditional put decides.
 */
import { z } from 'zod';
import type { OperationProgress } from '../ports/data-ops.js';
import { REDRIVE_ID_PATTERN, REPLAY_ID_PATTERN } from '../shared/data-ops.js';
import {
  createDataOps,
  type DataOpsDependencies,
  ReplayConflictError,
  type TriageResult,
} from './data-ops.js';

const epochMs = z.number().int().nonnegative();

export const DataOpsInvocation = z.discriminatedUnion('action', [
  z.object({ action: z.literal('triage'), from: epochMs, to: epochMs }),
  z.object({
    action: z.literal('redrive'),
    id: z.string().regex(REDRIVE_ID_PATTERN),
    filter: z.object({
      reason: z.string().optional(),
      deviceType: z.string().optional(),
      deviceId: z.string().optional(),
      from: epochMs,
      to: epochMs,
    }),
  }),
  z.object({
    action: z.literal('replay'),
    id: z.string().regex(REPLAY_ID_PATTERN),
    target: z.union([z.object({ deviceId: z.string() }), z.object({ deviceType: z.string() })]),
    /** The device type the replay is locked under (the API resolved a device's). */
    deviceType: z.string(),
    from: epochMs,
    to: epochMs,
  }),
]);
export type DataOpsInvocation = z.infer<typeof DataOpsInvocation>;

export type DataOpsInvocationResult = TriageResult | OperationProgress;

export type DataOpsInvocationDependencies = Omit<DataOpsDependencies, 'deviceTypeOf' | 'onError'> & {
  /** Told when a replay fails, and when a redrive is done. */
  readonly log: {
    error(message: string, detail: Record<string, unknown>): void;
    info(message: string, detail: Record<string, unknown>): void;
  };
};

/** Runs one invocation of the data-ops function; a malformed payload is a TypeError (not retried). */
export function createDataOpsInvocationHandler(dependencies: DataOpsInvocationDependencies) {
  const { log, ...shared } = dependencies;
  const now = dependencies.now ?? Date.now;
  return async (event: unknown): Promise<DataOpsInvocationResult> => {
    const parsed = DataOpsInvocation.safeParse(event);
    // Only the API function may invoke this one: a malformed payload is a bug there.
    if (!parsed.success) throw new TypeError(`not a data-ops invocation: ${parsed.error.message}`);
    const invocation = parsed.data;
    const ops = createDataOps({
      ...shared,
      // The API resolved the device's type before invoking (404 for an unknown device there).
      deviceTypeOf: async () => (invocation.action === 'replay' ? invocation.deviceType : undefined),
      onError: (error, operationId) => log.error('replay failed', { operationId, error }),
    });
    switch (invocation.action) {
      case 'triage':
        return ops.triage({ from: invocation.from, to: invocation.to });
      case 'redrive': {
        const progress = await ops.redrive(invocation.filter, { id: invocation.id });
        log.info('redrive done', { operationId: progress.id, sent: progress.sent });
        return progress;
      }
      case 'replay': {
        try {
          const first = await ops.startReplay(
            { target: invocation.target, from: invocation.from, to: invocation.to },
            { id: invocation.id },
          );
          // The replay runs in the background of createDataOps: the invocation lasts until it ends.
          await ops.idle();
          const done = (await dependencies.operations.get(first.id)) ?? first;
          // Stored as failed already; thrown too, so the invocation counts as an error (the alarm).
          if (done.state === 'failed') throw new Error(`replay ${done.id} failed: ${done.error ?? ''}`);
          return done;
        } catch (error) {
          if (!(error instanceof ReplayConflictError)) throw error;
          const at = new Date(now()).toISOString();
          const refused: OperationProgress = {
            id: invocation.id,
            kind: 'replay',
            state: 'failed',
            request: { ...invocation.target, deviceType: invocation.deviceType },
            startedAt: at,
            finishedAt: at,
            scanned: 0,
            matched: 0,
            sent: 0,
            skipped: {},
            truncated: false,
            error: `REPLAY_RUNNING: ${error.message}`,
          };
          await dependencies.operations.put(refused);
          return refused;
        }
      }
    }
  };
}
