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

// ---------------------------------------------------------------------------------------------------
// Ingest mappings (issue 14): devices that keep their own topics (the prototypes' `iot/{id}/raw`,
// `cmnd/{id}/...`). Each topic filter an environment's mappings declare gets its own rule with the same
// action as INGEST_RULE (one FROM filter per rule; `+` matches one level:
// https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-from.html). A filter that INGEST_RULE
// or another mapped filter already covers gets none, and two filters that overlap without one covering
// the other are refused: either would deliver a message twice.

/** True when every topic `inner` matches is matched by `outer` (both `+`-only filters). */
export function filterCovers(outer: string, inner: string): boolean {
  const a = outer.split('/');
  const b = inner.split('/');
  return a.length === b.length && a.every((level, i) => level === '+' || level === b[i]);
}

/** True when some topic matches both filters. */
export function filtersOverlap(first: string, second: string): boolean {
  const a = first.split('/');
  const b = second.split('/');
  return a.length === b.length && a.every((level, i) => level === '+' || b[i] === '+' || level === b[i]);
}

/** Rule names allow letters, digits and underscores: `cmnd/+/+` becomes `..._cmnd_any_any`. */
const ruleNameFor = (filter: string): string =>
  `iot_cloud_mapped_${filter.replace(/\+/g, 'any').replace(/[^A-Za-z0-9]+/g, '_')}`.slice(0, 120);

/**
 * The extra ingest rules for the topic filters of an environment's mappings (as the mappings write
 * them, `{name}` levels included: the `{deviceId}` level becomes `device_id`, the bridge's Kafka key
 * and its proof that the topic names one device). Throws an Error naming both filters when two
 * overlap, so a synth or a start fails instead of ingesting a message twice.
 */
export function mappedTopicRules(mappingTopics: readonly string[]): IotRuleDeclaration[] {
  const deviceLevel = new Map<string, number>();
  for (const topic of mappingTopics) {
    const filter = toMqttFilter(topic);
    const level = topic.split('/').indexOf('{deviceId}');
    if (!deviceLevel.has(filter) || deviceLevel.get(filter) === -1) deviceLevel.set(filter, level);
  }
  const own = [...deviceLevel.keys()].filter((filter) => !filterCovers(DEVICE_TOPIC_FILTER, filter));
  const kept = own.filter((filter) => !own.some((other) => other !== filter && filterCovers(other, filter)));
  for (const [i, first] of kept.entries()) {
    for (const second of [DEVICE_TOPIC_FILTER, ...kept.slice(i + 1)]) {
      if (filtersOverlap(first, second)) {
        throw new Error(
          `ingest mapping topic filters '${first}' and '${second}' overlap without one covering the other: a message on both would be ingested twice; tell them apart by a literal level`,
        );
      }
    }
  }
  return kept.sort().map((filter) => {
    const level = deviceLevel.get(filter) ?? -1;
    // IoT SQL counts topic levels from 1.
    const deviceId = level >= 0 ? `topic(${level + 1}) AS device_id, ` : '';
    return {
      name: ruleNameFor(filter),
      description: `Mapped device messages on ${filter} to the ingest buffer queue (issue 14)`,
      topicFilter: filter,
      sql: `SELECT encode(*, 'base64') AS payload, topic() AS topic, ${deviceId}timestamp() AS received_at FROM '${filter}'`,
      awsIotSqlVersion: '2016-03-23',
    };
  });
}

/**
 * IoT policy resources (topic names, after `topic/`) that let a thing publish on the mapped topics of
 * its own id only. In a policy `*` is the wildcard and `+`/`#` are literal characters
 * (https://docs.aws.amazon.com/iot/latest/developerguide/pub-sub-policy.html), so a `{name}` level
 * becomes `*`, and the `{deviceId}` level the thing-name variable. A filter without `{deviceId}`
 * cannot be bound to a thing: it is refused, naming the mapping.
 */
export function mappedDevicePolicyTopics(
  mappings: readonly { readonly mappingId: string; readonly match: { readonly topic: string } }[],
  thingNameVariable: string,
): string[] {
  const topics = mappings
    .filter((m) => !filterCovers(DEVICE_TOPIC_FILTER, toMqttFilter(m.match.topic)))
    .map((m) => {
      const levels = m.match.topic.split('/');
      if (!levels.includes('{deviceId}')) {
        throw new Error(
          `ingest mapping "${m.mappingId}": topic ${m.match.topic} has no {deviceId} level, so the device policy cannot bind it to one thing`,
        );
      }
      return levels
        .map((level) =>
          level === '{deviceId}' ? thingNameVariable : level.startsWith('{') || level === '+' ? '*' : level,
        )
        .join('/');
    });
  return [...new Set(topics)].sort();
}

/** A mapping topic (with `{name}` levels) as an MQTT topic filter. */
export const toMqttFilter = (topic: string): string =>
  topic
    .split('/')
    .map((level) => (level.startsWith('{') ? '+' : level))
    .join('/');
