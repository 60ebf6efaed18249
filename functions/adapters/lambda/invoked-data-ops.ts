/**
 * Data operations in AWS (issue 16), the API function's side: DataOpsApi over Lambda Invoke of the
 * data-ops function and reads of the operations table.
 *
 * The API function is outside the VPC and cannot reach MSK; the data-ops function, in the VPC, can.
 * Triage is invoked synchronously (RequestResponse: the answer is the groups). A redrive or a replay is
 * invoked asynchronously (`Event`): the API chooses the operation's id, answers 202 at once, and the
 * progress routes read the operations table (running past the timeout reads `interrupted`). Lambda's limits: 6 MB synchronous and 1 MB asynchronous
 * payloads, and an asynchronous event retried twice on an error unless configured otherwise
 * (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html); the construct sets no retries.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { DataOpsApi } from '../../handlers/api.js';
import {
  newOperationId,
  ReplayConflictError,
  settledOperation,
  type TriageResult,
  UnknownDeviceError,
} from '../../handlers/data-ops.js';
import type { DataOpsInvocation } from '../../handlers/data-ops-invocation.js';
import type { OperationProgress } from '../../ports/data-ops.js';
import { DATA_OPS_LEASE_MS } from '../../shared/data-ops.js';

export interface InvokedDataOpsOptions {
  readonly lambda: Pick<LambdaClient, 'send'>;
  /** The data-ops function's name or ARN. */
  readonly functionName: string;
  /** Reads progress; `runningReplay` answers the 409 before invoking (the function's claim is the atomic one). */
  readonly operations: {
    get(id: string): Promise<OperationProgress | undefined>;
    runningReplay(deviceType: string): Promise<OperationProgress | undefined>;
  };
  readonly deviceTypeOf: (deviceId: string) => Promise<string | undefined>;
  readonly now?: () => number;
}

/** The first progress of an operation the API has handed to the data-ops function. */
const accepted = (
  id: string,
  kind: OperationProgress['kind'],
  request: Record<string, unknown>,
  now: number,
): OperationProgress => ({
  id,
  kind,
  state: 'running',
  request,
  startedAt: new Date(now).toISOString(),
  scanned: 0,
  matched: 0,
  sent: 0,
  skipped: {},
  truncated: false,
});

const iso = (time: number) => new Date(time).toISOString();

/** The data operations as the API function runs them in AWS: through the data-ops function. */
export function invokedDataOps(options: InvokedDataOpsOptions): DataOpsApi {
  const now = options.now ?? Date.now;
  const invoke = async (payload: DataOpsInvocation, type: 'RequestResponse' | 'Event') => {
    const result = await options.lambda.send(
      new InvokeCommand({
        FunctionName: options.functionName,
        InvocationType: type,
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    // A function error is still a 200 from Invoke: FunctionError names it, the payload describes it.
    if (result.FunctionError !== undefined) {
      const detail = result.Payload ? new TextDecoder().decode(result.Payload) : '';
      throw new Error(`data-ops function failed (${result.FunctionError}): ${detail.slice(0, 500)}`);
    }
    return result.Payload ? new TextDecoder().decode(result.Payload) : '';
  };

  return {
    triage: async (range) =>
      JSON.parse(await invoke({ action: 'triage', ...range }, 'RequestResponse')) as TriageResult,

    redrive: async (filter) => {
      const id = newOperationId('rd');
      await invoke({ action: 'redrive', id, filter: { ...filter } }, 'Event');
      return accepted(id, 'redrive', { ...filter, from: iso(filter.from), to: iso(filter.to) }, now());
    },

    startReplay: async (request) => {
      const deviceType =
        'deviceType' in request.target
          ? request.target.deviceType
          : await options.deviceTypeOf(request.target.deviceId);
      if (deviceType === undefined && 'deviceId' in request.target)
        throw new UnknownDeviceError(request.target.deviceId);
      const type = deviceType as string;
      const running = await options.operations.runningReplay(type);
      if (running) throw new ReplayConflictError(type, running.id);
      const id = newOperationId('rp');
      await invoke(
        {
          action: 'replay',
          id,
          target: request.target,
          deviceType: type,
          from: request.from,
          to: request.to,
        },
        'Event',
      );
      return accepted(
        id,
        'replay',
        {
          ...request.target,
          ...('deviceId' in request.target ? { deviceType: type } : {}),
          from: iso(request.from),
          to: iso(request.to),
        },
        now(),
      );
    },

    // Running past the function's timeout reads `interrupted` (the invocation has ended by then).
    operation: (id) => settledOperation(options.operations, id, now(), DATA_OPS_LEASE_MS),
  };
}
