/** `--kafka-brokers`: the local runtime on a real Kafka cluster. */
export {
  type KafkaConsumerErrorContext,
  type KafkaConsumerStats,
  KafkaGroupConsumer,
  type KafkaGroupConsumerOptions,
  toLogRecord,
} from './consumer.js';
export { connectKafkaStream, type KafkaStreamOptions, LOCAL_KAFKA_CLIENT_ID } from './stream.js';
