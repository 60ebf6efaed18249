/**
 * The IoT topic rule that feeds the platform, declared once: the CDK stack deploys it (with an SQS
 * action) and the local rule runner evaluates it against the embedded broker.
 *
 * The payload is forwarded base64-encoded, not parsed: `encode(*, 'base64')` lets the rule carry
 * payloads that are not JSON (a rule that selects fields from a non-JSON payload fails), so every
 * message reaches the enrich stage byte for byte and a malformed one can land in the DLQ intact.
 */
export interface IotRuleDeclaration {
  /** Rule names allow letters, digits and underscores only. */
  readonly name: string;
  readonly description: string;
  /** The MQTT topic filter in the FROM clause. */
  readonly topicFilter: string;
  readonly sql: string;
  readonly awsIotSqlVersion: '2016-03-23';
}

/** Devices publish to `dt/{deviceType}/{deviceId}/{kind}`. */
export const DEVICE_TOPIC_FILTER = 'dt/+/+/+';

export const INGEST_RULE: IotRuleDeclaration = {
  name: 'iot_cloud_ingest',
  description: 'Device messages to the ingest buffer queue, with topic, ids and receive time',
  topicFilter: DEVICE_TOPIC_FILTER,
  sql:
    "SELECT encode(*, 'base64') AS payload, topic() AS topic, topic(2) AS device_type, " +
    `topic(3) AS device_id, timestamp() AS received_at FROM '${DEVICE_TOPIC_FILTER}'`,
  awsIotSqlVersion: '2016-03-23',
};

/** What the ingest rule puts on the buffer queue for each device message. */
export interface IngestEnvelope {
  /** The original MQTT payload, base64. */
  readonly payload: string;
  readonly topic: string;
  readonly device_type?: string;
  readonly device_id?: string;
  /** Epoch ms when IoT Core (or the local broker) received it. */
  readonly received_at: number;
}
