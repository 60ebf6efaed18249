/**
 * Data operations (issue 16) in AWS: the records an MSK event source mapping gave up on, as its S3
 * on-failure destination keeps them, turned back into stream records a redrive sends again.
 *
 * The S3 object is a JSON document: `requestContext` (`condition`: `RetryAttemptsExhausted` or
 * `MaximumPayloadSizeExceeded`), `responseContext`, `version`, `timestamp`, `KafkaBatchInfo` (batch
 * size, and `recordsInfo`: the first and last offset and timestamp per `{topic}-{partition}`) and, for
 * S3 destinations only, `payload`: the whole invocation event as an escaped JSON string (the event's
 * `records` keyed `{topic}-{partition}`, key and value base64, headers as byte arrays). Checked against
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html ("S3 destination example
 * invocation record"). A record without `payload` (an SNS or SQS destination, or a payload Lambda
 * could not include) carries offsets only: those are read back from the topic instead
 * (./on-failure-redrive.ts).
 */
import { z } from 'zod';
import type { RetainedRecord } from '../ports/data-ops.js';
import type { KafkaEventRecord, StreamRecord } from '../ports/stream.js';
import { DATA_OPS_HEADERS } from '../shared/data-ops.js';
import { sentAgain } from './data-ops-operation.js';
import { eachRecord, recordHeaders, recordValue } from './kafka-records.js';

const OffsetText = z.string().regex(/^\d+$/);

const OnFailureDocument = z.object({
  requestContext: z.object({ condition: z.string() }),
  timestamp: z.string(),
  KafkaBatchInfo: z.object({
    batchSize: z.number().int(),
    recordsInfo: z
      .record(
        z.string(),
        z.object({
          firstRecordOffset: OffsetText,
          lastRecordOffset: OffsetText,
          firstRecordTimestamp: z.iso.datetime({ offset: true }),
          lastRecordTimestamp: z.iso.datetime({ offset: true }),
        }),
      )
      .optional(),
  }),
  payload: z.string().optional(),
});

const InvocationEvent = z.object({
  records: z.record(
    z.string(),
    z.array(
      z.object({
        topic: z.string(),
        partition: z.number().int(),
        offset: z.number().int(),
        timestamp: z.number(),
        timestampType: z.enum(['CREATE_TIME', 'LOG_APPEND_TIME']),
        key: z.string().optional(),
        value: z.string(),
        headers: z.array(z.record(z.string(), z.array(z.number().int()))),
      }),
    ),
  ),
});

/** The offsets of one topic-partition of a failed batch, and the times of its first and last record. */
export interface FailedOffsetRange {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** Epoch ms. */
  readonly firstTimestamp: number;
  readonly lastTimestamp: number;
}

export interface OnFailureBatch {
  /** Why Lambda gave up on the batch. */
  readonly condition: string;
  readonly failedAt: string;
  readonly batchSize: number;
  /** The batch's records; empty when the document carries no payload (then only `ranges` are known). */
  readonly records: readonly RetainedRecord[];
  /** The batch's offsets per topic-partition (`KafkaBatchInfo.recordsInfo`). */
  readonly ranges: readonly FailedOffsetRange[];
}

/** Reads an on-failure document; throws a TypeError naming what is wrong for anything else. */
export function readOnFailureDocument(text: string): OnFailureBatch {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TypeError('not an on-failure record: not JSON');
  }
  const document = OnFailureDocument.safeParse(json);
  if (!document.success) throw new TypeError(`not an on-failure record: ${document.error.message}`);
  const { requestContext, timestamp, KafkaBatchInfo, payload } = document.data;
  let records: RetainedRecord[] = [];
  if (payload !== undefined) {
    let invocation: unknown;
    try {
      invocation = JSON.parse(payload);
    } catch {
      throw new TypeError('on-failure payload is not JSON');
    }
    const event = InvocationEvent.safeParse(invocation);
    if (!event.success)
      throw new TypeError(`on-failure payload is not a Kafka event: ${event.error.message}`);
    records = [...eachRecord({ eventSource: 'aws:kafka', records: event.data.records })].map(retainedOf);
  }
  const ranges = Object.entries(KafkaBatchInfo.recordsInfo ?? {}).map(([topicPartition, info]) => {
    // `{topic}-{partition}`: a topic name may itself contain '-', the partition never does.
    const dash = topicPartition.lastIndexOf('-');
    return {
      topic: topicPartition.slice(0, dash),
      partition: Number(topicPartition.slice(dash + 1)),
      firstOffset: Number(info.firstRecordOffset),
      lastOffset: Number(info.lastRecordOffset),
      firstTimestamp: Date.parse(info.firstRecordTimestamp),
      lastTimestamp: Date.parse(info.lastRecordTimestamp),
    };
  });
  return {
    condition: requestContext.condition,
    failedAt: timestamp,
    batchSize: KafkaBatchInfo.batchSize,
    records,
    ranges: ranges.filter((range) => range.topic.length > 0 && Number.isSafeInteger(range.partition)),
  };
}

/** A record of a Kafka event as a range read returns it: key decoded, headers as strings. */
function retainedOf(record: KafkaEventRecord): RetainedRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    ...(record.key ? { key: Buffer.from(record.key, 'base64').toString('utf8') } : {}),
    value: recordValue(record),
    headers: recordHeaders(record),
  };
}

/**
 * A failed record sent again to the topic it came from: key, bytes and headers unchanged (the receipt
 * time stays in `received_at`), one more redrive counted.
 */
export function redriveFailedRecord(record: RetainedRecord, sentAt: number): StreamRecord {
  return sentAgain(record, sentAt, { [DATA_OPS_HEADERS.redriveCount]: String(redriveCountOf(record) + 1) });
}

/** Redrives of a record so far (its `redrive_count` header; 0 when it has none). */
export function redriveCountOf(record: RetainedRecord): number {
  const count = Number(record.headers[DATA_OPS_HEADERS.redriveCount]);
  return Number.isSafeInteger(count) && count >= 1 ? count : 0;
}
