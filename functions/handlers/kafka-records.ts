/** Reading Lambda Kafka event records: base64 values and byte-array headers. */
import {
  type KafkaBatchResponse,
  type KafkaEvent,
  type KafkaEventRecord,
  topicPartitionKey,
} from '../ports/stream.js';

export const recordValue = (record: KafkaEventRecord): Buffer => Buffer.from(record.value, 'base64');

/** Headers as strings (Lambda delivers each header value as an array of bytes). */
export function recordHeaders(record: KafkaEventRecord): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const header of record.headers) {
    for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes).toString('utf8');
  }
  return headers;
}

export function* eachRecord(event: KafkaEvent): Generator<KafkaEventRecord> {
  for (const records of Object.values(event.records)) yield* records;
}

/** Records in an event, over all its topic-partitions. */
export const recordCount = (event: KafkaEvent): number =>
  Object.values(event.records).reduce((total, records) => total + records.length, 0);

export const failures = (failed: readonly KafkaEventRecord[]): KafkaBatchResponse => ({
  batchItemFailures: failed.map((record) => ({
    itemIdentifier: { partition: topicPartitionKey(record.topic, record.partition), offset: record.offset },
  })),
});
