/**
 * Builds the event a Lambda Kafka (MSK) event source mapping delivers, from records of the local log:
 * records grouped under `{topic}-{partition}`, key and value in base64, each header as
 * `{ name: [byte, ...] }`.
 */
import type { KafkaEvent, KafkaEventRecord } from '../../functions/ports/stream.js';
import type { LogRecord } from './frame.js';

/** The event source ARN local events carry (a made-up cluster in a made-up account). */
export const LOCAL_EVENT_SOURCE_ARN = 'arn:aws:kafka:local:000000000000:cluster/iot-cloud-local/local';
export const LOCAL_BOOTSTRAP_SERVERS = 'localhost:9092';

export interface PartitionRecords {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
}

export function toKafkaEventRecord(topic: string, partition: number, record: LogRecord): KafkaEventRecord {
  const value = Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(record.key, 'utf8').toString('base64'),
    value: value.toString('base64'),
    headers: record.headers.map(([name, text]) => ({ [name]: [...Buffer.from(text, 'utf8')] })),
  };
}

/** Where the records came from, as the event names it. */
export interface KafkaEventSource {
  readonly eventSourceArn: string;
  readonly bootstrapServers: string;
}

export const LOCAL_EVENT_SOURCE: KafkaEventSource = {
  eventSourceArn: LOCAL_EVENT_SOURCE_ARN,
  bootstrapServers: LOCAL_BOOTSTRAP_SERVERS,
};

/** One invocation's event; partitions appear in ascending order, records in offset order. */
export function toKafkaEvent(
  batches: readonly PartitionRecords[],
  source: KafkaEventSource = LOCAL_EVENT_SOURCE,
): KafkaEvent {
  const records: Record<string, KafkaEventRecord[]> = {};
  const sorted = [...batches].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  for (const batch of sorted) {
    if (batch.records.length === 0) continue;
    const key = `${batch.topic}-${batch.partition}`;
    const list = records[key] ?? [];
    for (const record of batch.records) list.push(toKafkaEventRecord(batch.topic, batch.partition, record));
    records[key] = list;
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: source.eventSourceArn,
    bootstrapServers: source.bootstrapServers,
    records,
  };
}
