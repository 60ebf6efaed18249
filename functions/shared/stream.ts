/**
 * Stream declarations shared by the CDK stack and the local runtime: topic names, partitions and the
 * consumer groups of each consumer. One place, so the two cannot drift.
 */
export const TOPICS = {
  raw: 'iot.raw',
  enriched: 'iot.enriched',
  alerts: 'iot.alerts',
  dlq: 'iot.dlq',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Partitions per topic. Devices are keyed by id, so per-device order holds within a partition. */
export const TOPIC_PARTITIONS: Readonly<Record<TopicName, number>> = {
  'iot.raw': 6,
  'iot.enriched': 6,
  'iot.alerts': 2,
  'iot.dlq': 2,
};

export const CONSUMER_GROUPS = {
  enrich: 'iot-cloud-enrich',
  timeseriesWriter: 'iot-cloud-timeseries-writer',
  // Notifications (issue 15): the local notifier's group on iot.alerts (AWS reads the alerts table's stream).
  notifier: 'iot-cloud-notifier',
} as const;

/**
 * Error controls of the Kafka event source mappings (provisioned-poller mode), mirrored by the local
 * log: retries before a record goes to the DLQ, bisecting a failing batch, partial batch responses.
 */
export const EVENT_SOURCE_ERROR_CONTROLS = {
  maximumRetryAttempts: 3,
  bisectBatchOnFunctionError: true,
  reportBatchItemFailures: true,
} as const;
