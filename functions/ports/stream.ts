/**
 * The streaming port (MSK in AWS, the local log on a laptop) and the Lambda Kafka event shapes the
 * consumers receive, as the Lambda event source mapping delivers them.
 */

export interface StreamRecord {
  /** Partition key: the device id. */
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Epoch ms; defaults to the time of the send. */
  readonly timestamp?: number;
}

export interface StreamProducer {
  /** Appends records to a topic; resolves once they are durable. */
  send(topic: string, records: readonly StreamRecord[]): Promise<void>;
}

/** One record as a Lambda Kafka (MSK) event source mapping delivers it. */
export interface KafkaEventRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  /** Base64. */
  readonly key?: string;
  /** Base64. */
  readonly value: string;
  /** Each header as `{ name: [byte, ...] }`. */
  readonly headers: readonly Readonly<Record<string, readonly number[]>>[];
}

/** The event a Kafka consumer Lambda receives: records grouped under `{topic}-{partition}`. */
export interface KafkaEvent {
  readonly eventSource: 'aws:kafka' | 'SelfManagedKafka';
  readonly eventSourceArn?: string;
  readonly bootstrapServers?: string;
  readonly records: Readonly<Record<string, readonly KafkaEventRecord[]>>;
}

/**
 * The item identifier of a Kafka partial batch response: the failed record's `{topic}-{partition}` key
 * of `records` (a string, e.g. `"iot.raw-3"`) and its offset (a number). Not SQS's string, not a
 * `{topic, partition}` pair: Lambda treats an identifier it cannot match to the batch as a failure of
 * the whole batch. Lambda resumes each reported partition from the lowest reported offset.
 * Checked against AWS's own Kafka response types (aws-lambda-rust-runtime `KafkaItemIdentifier`,
 * Powertools for Python `KafkaItemIdentifier`) for `ReportBatchItemFailures` on Kafka event sources.
 */
export interface KafkaItemIdentifier {
  readonly partition: string;
  readonly offset: number;
}

/** Partial batch response of a Kafka consumer (the event source mapping needs `ReportBatchItemFailures`). */
export interface KafkaBatchResponse {
  readonly batchItemFailures: readonly { readonly itemIdentifier: KafkaItemIdentifier }[];
}

/** The `records` key of a topic partition, as Lambda builds it: `{topic}-{partition}`. */
export const topicPartitionKey = (topic: string, partition: number): string => `${topic}-${partition}`;

export type KafkaHandler = (event: KafkaEvent) => Promise<KafkaBatchResponse | undefined>;
