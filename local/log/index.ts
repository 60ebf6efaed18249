/** The local stand-in for MSK: a durable partitioned log and Lambda-like consumer groups on it. */
export {
  type ConsumerErrorContext,
  type ConsumerStats,
  DEFAULT_BATCH_SIZE,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_RETRY_BACKOFF_MS,
  LogConsumer,
  type LogConsumerOptions,
  PROCESSING_FAILED,
  processingFailedRecord,
  REPORTED_FAILED_DETAIL,
} from './consumer.js';
export {
  type DeliverySettings,
  type DeliveryStats,
  deadLetterRecords,
  type ErrorControls,
  type EventSourceMappingOptions,
  interpretResponse,
  type Outcome,
  planSettlement,
  resolveDeliverySettings,
  type Settlement,
  type Slice,
} from './delivery.js';
export type { LogRecord } from './frame.js';
export {
  type KafkaEventSource,
  LOCAL_BOOTSTRAP_SERVERS,
  LOCAL_EVENT_SOURCE,
  LOCAL_EVENT_SOURCE_ARN,
  type PartitionRecords,
  toKafkaEvent,
  toKafkaEventRecord,
} from './kafka-event.js';
export {
  DEFAULT_RETENTION_BYTES,
  DEFAULT_RETENTION_MS,
  type DeletedSegment,
  LocalLog,
  type LocalLogOptions,
  OffsetBeforeLogStartError,
  type PartitionStatus,
  type RetentionResult,
} from './local-log.js';
export { murmur2, partitionForKey } from './partitioner.js';
export { TailSampler, type TailSamplerOptions } from './tail-sampler.js';
