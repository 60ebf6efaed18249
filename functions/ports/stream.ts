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
 * Partial batch response of a Kafka consumer: the records that failed. The exact item identifier of
 * the Kafka event source mapping is to be checked against AWS's documentation when the CDK stack is
 * built; the local log accepts this shape.
 */
export interface KafkaBatchResponse {
  readonly batchItemFailures: readonly {
    readonly itemIdentifier: { readonly partition: number; readonly offset: number; readonly topic?: string };
  }[];
}

export type KafkaHandler = (event: KafkaEvent) => Promise<KafkaBatchResponse | undefined>;
