/**
 * A redrive (./data-ops.ts): the newest dead letter of each matching message back to `iot.raw` with
 * its original bytes, then, in AWS, the matching records of the batches the event source mappings
 * gave up on (./on-failure-redrive.ts), the bound counting both.
 */
import type { DlqRecord } from '../core/contract/messages.js';
import {
  type DeadLetter,
  type DeadLetterFilter,
  deadLetterAttemptKey,
  isRedrivable,
  matchesFilter,
  newestAttempts,
} from '../core/dead-letters.js';
import type { OperationProgress } from '../ports/data-ops.js';
import type { FailedBatchStore } from '../ports/failed-batches.js';
import type { StreamRecord } from '../ports/stream.js';
import { DATA_OPS_HEADERS, DATA_OPS_LIMITS } from '../shared/data-ops.js';
import { TOPICS } from '../shared/stream.js';
import {
  type Counters,
  messageOf,
  newCounters,
  type OperationBase,
  type OperationContext,
  progressOf,
  readDeadLetters,
  sendAll,
  skip,
} from './data-ops-operation.js';
import { selectFailedRecords } from './on-failure-redrive.js';

export interface RedriveContext extends OperationContext {
  /** AWS: the event source mappings' on-failure destination; undefined locally. */
  readonly failedBatches?: FailedBatchStore;
}

/** The dead letters of iot.dlq a redrive sends back (the newest attempt of each message). */
async function deadLettersToRedrive(context: RedriveContext, filter: DeadLetterFilter, counters: Counters) {
  const { letters, scanned, truncated } = await readDeadLetters(
    context.reader,
    filter,
    DATA_OPS_LIMITS.maxTriageScan,
  );
  counters.scanned += scanned;
  const matching = letters.filter((letter) => matchesFilter(letter, filter));
  counters.matched += matching.length;
  const redrivable: DeadLetter[] = [];
  for (const letter of matching) {
    if (isRedrivable(letter)) redrivable.push(letter);
    else skip(counters, `stage ${letter.record.stage} cannot be redriven`);
  }
  const newest = newestAttempts(redrivable);
  for (let i = newest.length; i < redrivable.length; i++)
    skip(counters, 'an older attempt of a message sent');
  const toSend = newest.slice(0, DATA_OPS_LIMITS.maxRedriveMessages);
  const sentAt = context.now();
  return {
    sends: toSend.map((letter) => ({
      topic: TOPICS.raw,
      record: redriveRecord(letter.record, letter, sentAt),
    })),
    attempts: new Set(toSend.map(deadLetterAttemptKey)),
    truncated: truncated || newest.length > toSend.length,
  };
}

/** Runs a redrive to the end (at most DATA_OPS_LIMITS.maxRedriveMessages sent) and answers its progress. */
export async function runRedrive(
  context: RedriveContext,
  filter: DeadLetterFilter,
  base: OperationBase,
): Promise<OperationProgress> {
  const { operations, now } = context;
  const counters = newCounters();
  await operations.put(progressOf(now, base, counters, 'running'));
  try {
    const fromDeadLetters = await deadLettersToRedrive(context, filter, counters);
    await sendAll(context, base, counters, fromDeadLetters.sends);
    let truncated = fromDeadLetters.truncated;
    if (context.failedBatches) {
      const failed = await selectFailedRecords(filter, {
        batches: context.failedBatches,
        reader: context.reader,
        limit: DATA_OPS_LIMITS.maxRedriveMessages - counters.sent,
        sentAt: now(),
        sentFromDeadLetters: fromDeadLetters.attempts,
      });
      counters.scanned += failed.scanned;
      counters.matched += failed.matched;
      for (const [why, count] of Object.entries(failed.skipped))
        counters.skipped[why] = (counters.skipped[why] ?? 0) + count;
      await sendAll(context, base, counters, failed.sends);
      truncated ||= failed.truncated;
    }
    const done = progressOf(now, base, counters, 'done', { truncated });
    await operations.put(done);
    return done;
  } catch (error) {
    await operations.put(progressOf(now, base, counters, 'failed', { error: messageOf(error) }));
    throw error;
  }
}

/** The record a redrive sends: the original bytes as the bridge sent them, one more redrive counted. */
function redriveRecord(record: DlqRecord, letter: DeadLetter, sentAt: number): StreamRecord {
  const headers: Record<string, string> = {
    received_at: String(Date.parse(record.received_at)),
    [DATA_OPS_HEADERS.redriveCount]: String((record.redrive_count ?? 0) + 1),
  };
  if (record.source?.mqtt_topic !== undefined) headers.mqtt_topic = record.source.mqtt_topic;
  return {
    key: letter.deviceId ?? 'unknown',
    value: Buffer.from(record.original_base64, 'base64'),
    headers,
    timestamp: sentAt,
  };
}

/** The request a redrive's progress records: its filter, times as ISO strings. */
export function filterRequest(filter: DeadLetterFilter): Record<string, unknown> {
  return {
    ...(filter.reason === undefined ? {} : { reason: filter.reason }),
    ...(filter.deviceType === undefined ? {} : { deviceType: filter.deviceType }),
    ...(filter.deviceId === undefined ? {} : { deviceId: filter.deviceId }),
    from: new Date(filter.from).toISOString(),
    to: new Date(filter.to).toISOString(),
  };
}
