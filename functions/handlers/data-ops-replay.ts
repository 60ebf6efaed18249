/**
 * A replay (./data-ops.ts): the raw records of a device or a device type over a time range back to
 * `iot.raw` with a `replay_id` header, one replay at a time per device type.
 */
import { parseTopic } from '../core/envelope.js';
import type { OperationProgress, OperationStore, RetainedRecord } from '../ports/data-ops.js';
import type { StreamRecord } from '../ports/stream.js';
import { DATA_OPS_HEADERS, DATA_OPS_LIMITS } from '../shared/data-ops.js';
import { TOPICS } from '../shared/stream.js';
import {
  type Counters,
  interruptedProgress,
  iso,
  messageOf,
  type OperationBase,
  type OperationContext,
  progressOf,
  sentAgain,
  skip,
} from './data-ops-operation.js';

export type ReplayTarget = { readonly deviceId: string } | { readonly deviceType: string };

export interface ReplayRequest {
  readonly target: ReplayTarget;
  readonly from: number;
  readonly to: number;
}

/** A replay of the same device type is running (one at a time per type). */
export class ReplayConflictError extends Error {
  override readonly name = 'ReplayConflictError';
  constructor(
    readonly deviceType: string,
    readonly runningId: string,
  ) {
    super(`replay ${runningId} of device type "${deviceType}" is still running`);
  }
}

/** A device replay for a device the platform has not seen. */
export class UnknownDeviceError extends Error {
  override readonly name = 'UnknownDeviceError';
  constructor(readonly deviceId: string) {
    super(`device "${deviceId}" has not been seen`);
  }
}

export interface ReplayContext extends OperationContext {
  /** Told when a replay running in the background fails. */
  readonly onError?: (error: unknown, operationId: string) => void;
  /** True once the platform stops: the replay ends at its next batch, as interrupted. */
  readonly isStopping: () => boolean;
}

/** The device type a replay locks: the target's, or its device's; UnknownDeviceError for a device never seen. */
export async function replayDeviceType(
  request: ReplayRequest,
  deviceTypeOf: (deviceId: string) => Promise<string | undefined>,
): Promise<string> {
  if ('deviceType' in request.target) return request.target.deviceType;
  const deviceType = await deviceTypeOf(request.target.deviceId);
  if (deviceType === undefined) throw new UnknownDeviceError(request.target.deviceId);
  return deviceType;
}

/** What a replay's progress keeps from its start. */
export function replayBase(
  request: ReplayRequest,
  deviceType: string,
  id: string,
  startedAt: number,
): OperationBase {
  return {
    id,
    kind: 'replay' as const,
    request: {
      ...request.target,
      ...('deviceId' in request.target ? { deviceType } : {}),
      from: iso(request.from),
      to: iso(request.to),
    },
    startedAt: iso(startedAt),
  };
}

/**
 * Claims `deviceType` for the replay whose first progress is `first`, with its id in `active` from
 * before the claim (once claimed, `recoverInterrupted` must not take it for a dead one) and taken out
 * again if the claim fails. Throws ReplayConflictError when a replay of the type runs.
 */
export async function claimReplay(
  operations: Pick<OperationStore, 'claimReplay'>,
  active: Set<string>,
  first: OperationProgress,
  deviceType: string,
): Promise<void> {
  active.add(first.id);
  let claimed = false;
  try {
    const conflict = await operations.claimReplay(first, deviceType);
    if (conflict) throw new ReplayConflictError(deviceType, conflict.id);
    claimed = true;
  } finally {
    if (!claimed) active.delete(first.id);
  }
}

/** Runs a claimed replay to the end, storing its progress; never throws (failures end it as failed). */
export async function runReplay(
  context: ReplayContext,
  request: ReplayRequest,
  base: OperationBase,
  counters: Counters,
): Promise<void> {
  const { producer, operations, now } = context;
  let truncated = false;
  try {
    let pending: StreamRecord[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await producer.send(TOPICS.raw, pending);
      counters.sent += pending.length;
      pending = [];
      await operations.put(progressOf(now, base, counters, 'running'));
    };
    await context.reader.readByTime(TOPICS.raw, request, async (records) => {
      if (context.isStopping()) return false;
      for (const record of records) {
        counters.scanned += 1;
        if (!replaySelects(record, request)) continue;
        if (record.headers[DATA_OPS_HEADERS.replayId] !== undefined) {
          skip(counters, 'a copy an earlier replay sent');
          continue;
        }
        if (counters.matched >= DATA_OPS_LIMITS.maxReplayMessages) {
          truncated = true;
          return false;
        }
        counters.matched += 1;
        pending.push(replayRecord(record, base.id, now()));
        if (pending.length >= context.batchSize) await flush();
      }
      return true;
    });
    await flush();
    if (context.isStopping()) {
      await operations.put(
        interruptedProgress(
          progressOf(now, base, counters, 'running'),
          now(),
          'the platform stopped before it finished',
        ),
      );
      return;
    }
    await operations.put(progressOf(now, base, counters, 'done', { truncated }));
  } catch (error) {
    context.onError?.(error, base.id);
    await operations
      .put(progressOf(now, base, counters, 'failed', { truncated, error: messageOf(error) }))
      .catch(() => undefined);
  }
}

/** Whether a raw record belongs to the replay's device or device type (by its MQTT topic). */
function replaySelects(record: RetainedRecord, request: ReplayRequest): boolean {
  if (record.timestamp < request.from || record.timestamp >= request.to) return false;
  const topic = record.headers.mqtt_topic ? parseTopic(record.headers.mqtt_topic) : undefined;
  if ('deviceId' in request.target) return (topic?.deviceId ?? record.key) === request.target.deviceId;
  return topic?.deviceType === request.target.deviceType;
}

/** The record a replay sends: the raw record unchanged, its headers kept, the replay named. */
function replayRecord(record: RetainedRecord, replayId: string, sentAt: number): StreamRecord {
  return sentAgain(record, sentAt, { [DATA_OPS_HEADERS.replayId]: replayId });
}
