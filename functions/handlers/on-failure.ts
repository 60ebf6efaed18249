/**
 * Data operations (issue 16) in AWS: the records an MSK event source mapping gave up on, as its S3
 * on-failure destination keeps them, turned back into stream records a redrive sends again.
 *
 * The S3 object is a JSON document: `requestContext` (`condition`: `RetryAttemptsExhausted` or
 * `MaximumPayloadSizeExceeded`), `responseContext`, `version`, `timestamp`, `KafkaBatchInfo` (batch
 * size, offsets and timestamps per `{topic}-{partition}`) and, for S3 destinations only, `payload`: the
 * whole invocation event as an escaped JSON string (the event's `records` keyed `{topic}-{partition}`,
 * key and value base64, headers as byte arrays). Checked against
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html ("S3 destination example
 * invocation record"). A record without `payload` (an SNS or SQS destination, or a payload Lambda
 * could not include) carries offsets only: those are read back from the topic instead.
 */
import { z } from 'zod';
import type { KafkaEventRecord, StreamRecord } from '../ports/stream.js';
import { DATA_OPS_HEADERS } from '../shared/data-ops.js';
import { eachRecord, recordHeaders, recordValue } from './kafka-records.js';

const OnFailureDocument = z.object({
  requestContext: z.object({ condition: z.string() }),
  timestamp: z.string(),
  KafkaBatchInfo: z.object({ batchSize: z.number().int() }),
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

export interface OnFailureBatch {
  /** Why Lambda gave up on the batch. */
  readonly condition: string;
  readonly failedAt: string;
  readonly batchSize: number;
  /** The batch's records; empty when the document carries no payload (then only offsets are known). */
  readonly records: readonly KafkaEventRecord[];
}

/** Reads an on-failure document; throws a TypeError naming what is wrong for anything else. */
export function readOnFailureDocument(text: string): OnFailureBatch {
  const document = OnFailureDocument.safeParse(JSON.parse(text));
  if (!document.success) throw new TypeError(`not an on-failure record: ${document.error.message}`);
  const { requestContext, timestamp, KafkaBatchInfo, payload } = document.data;
  let records: KafkaEventRecord[] = [];
  if (payload !== undefined) {
    const event = InvocationEvent.safeParse(JSON.parse(payload));
    if (!event.success)
      throw new TypeError(`on-failure payload is not a Kafka event: ${event.error.message}`);
    records = [...eachRecord({ eventSource: 'aws:kafka', records: event.data.records })];
  }
  return {
    condition: requestContext.condition,
    failedAt: timestamp,
    batchSize: KafkaBatchInfo.batchSize,
    records,
  };
}

/**
 * A failed record sent again to the topic it came from: key, bytes and headers unchanged (the receipt
 * time stays in `received_at`), one more redrive counted.
 */
export function redriveEventRecord(record: KafkaEventRecord, sentAt: number): StreamRecord {
  const headers = recordHeaders(record);
  const count = Number(headers[DATA_OPS_HEADERS.redriveCount]);
  return {
    key: record.key ? Buffer.from(record.key, 'base64').toString('utf8') : 'unknown',
    value: recordValue(record),
    headers: {
      received_at: String(record.timestamp),
      ...headers,
      [DATA_OPS_HEADERS.redriveCount]: String(Number.isSafeInteger(count) && count >= 1 ? count + 1 : 1),
    },
    timestamp: sentAt,
  };
}
