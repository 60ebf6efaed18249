/**
 * Topic administration for the stream custom resource: create missing topics, grow partitions, set
 * retention; never shrink a topic (Kafka cannot remove partitions, and a new key->partition map would
 * break per-device order anyway) and never delete unless asked.
 *
 * A spec may state its replication factor (the stream custom resource always does: 3 for MSK
 * Serverless); left out, the broker default applies (local mode's single broker). Retention is set
 * with AlterConfigs, which replaces a topic's overrides as a whole: this
 * module owns every override it sets (only `retention.ms`), so that is what we want.
 */
import kafkajs, { type Admin } from 'kafkajs';

// KafkaJS is CommonJS: its runtime values come through the default import under Node's ESM loader.
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Replicas per partition at creation (an existing topic keeps its own). Left out, the broker default. */
  readonly replicationFactor?: number;
  /** `retention.ms`; -1 keeps forever. Left out, the cluster default applies. */
  readonly retentionMs?: number;
}

export type TopicChange =
  | { readonly topic: string; readonly action: 'created'; readonly partitions: number }
  | {
      readonly topic: string;
      readonly action: 'partitions-increased';
      readonly from: number;
      readonly to: number;
    }
  | {
      readonly topic: string;
      readonly action: 'partitions-kept';
      readonly partitions: number;
      /** Asked for fewer partitions than the topic has: refused, the topic keeps its count. */
      readonly requested: number;
    }
  | { readonly topic: string; readonly action: 'unchanged'; readonly partitions: number };

export type TopicAdminClient = Pick<
  Admin,
  | 'listTopics'
  | 'fetchTopicMetadata'
  | 'createTopics'
  | 'createPartitions'
  | 'describeConfigs'
  | 'alterConfigs'
  | 'deleteTopics'
>;

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

export function checkTopicSpecs(specs: readonly TopicSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (!TOPIC_NAME.test(spec.name)) throw new Error(`invalid topic name "${spec.name}"`);
    if (seen.has(spec.name)) throw new Error(`topic "${spec.name}" is listed twice`);
    seen.add(spec.name);
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > 1000) {
      throw new Error(`topic "${spec.name}": partitions must be an integer from 1 to 1000`);
    }
    if (
      spec.replicationFactor !== undefined &&
      !(
        Number.isInteger(spec.replicationFactor) &&
        spec.replicationFactor >= 1 &&
        spec.replicationFactor <= 10
      )
    ) {
      throw new Error(`topic "${spec.name}": replicationFactor must be an integer from 1 to 10`);
    }
    if (
      spec.retentionMs !== undefined &&
      !(Number.isSafeInteger(spec.retentionMs) && (spec.retentionMs === -1 || spec.retentionMs >= 60_000))
    ) {
      throw new Error(`topic "${spec.name}": retentionMs must be -1 or at least 60000`);
    }
  }
}

const retentionEntries = (spec: TopicSpec) =>
  spec.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(spec.retentionMs) }];

/**
 * KafkaJS reports refused topics as "Topic creation errors" with the broker's answer per topic in
 * `errors`: the deploy's failure reason should say which topic and why (a real broker refusing a
 * replication factor showed only the summary).
 */
function withTopicErrors(error: unknown): unknown {
  const errors = (error as { errors?: unknown }).errors;
  if (!(error instanceof Error) || !Array.isArray(errors) || errors.length === 0) return error;
  const details = errors.map((entry: { topic?: unknown; type?: unknown; message?: unknown }) =>
    [entry.topic, entry.type, entry.message].filter((part) => typeof part === 'string').join(': '),
  );
  return new Error(`${error.message}: ${details.join('; ')}`, { cause: error });
}

/** Brings the cluster's topics to `specs`, idempotently; returns what it did per topic. */
export async function ensureTopics(
  admin: TopicAdminClient,
  specs: readonly TopicSpec[],
): Promise<TopicChange[]> {
  checkTopicSpecs(specs);
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  const present = specs.filter((spec) => existing.has(spec.name));
  const changes: TopicChange[] = [];

  if (missing.length > 0) {
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }),
          configEntries: retentionEntries(spec),
        })),
      })
      .catch((error: unknown) => {
        throw withTopicErrors(error);
      });
    for (const spec of missing)
      changes.push({ topic: spec.name, action: 'created', partitions: spec.partitions });
  }

  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.name) });
    const counts = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
    const grow: { topic: string; count: number }[] = [];
    for (const spec of present) {
      const current = counts.get(spec.name) ?? 0;
      if (spec.partitions > current) {
        grow.push({ topic: spec.name, count: spec.partitions });
        changes.push({
          topic: spec.name,
          action: 'partitions-increased',
          from: current,
          to: spec.partitions,
        });
      } else if (spec.partitions < current) {
        changes.push({
          topic: spec.name,
          action: 'partitions-kept',
          partitions: current,
          requested: spec.partitions,
        });
      } else {
        changes.push({ topic: spec.name, action: 'unchanged', partitions: current });
      }
    }
    if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
    await setRetention(admin, present);
  }
  return changes;
}

/** Sets `retention.ms` where it differs from the topic's (so an unchanged Update writes nothing). */
async function setRetention(admin: TopicAdminClient, specs: readonly TopicSpec[]): Promise<void> {
  const wanted = specs.filter((spec) => spec.retentionMs !== undefined);
  if (wanted.length === 0) return;
  const current = await admin.describeConfigs({
    includeSynonyms: false,
    resources: wanted.map((spec) => ({
      type: ConfigResourceTypes.TOPIC,
      name: spec.name,
      configNames: ['retention.ms'],
    })),
  });
  const retentionOf = new Map(
    current.resources.map((resource) => [
      resource.resourceName,
      resource.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue,
    ]),
  );
  const differing = wanted.filter((spec) => retentionOf.get(spec.name) !== String(spec.retentionMs));
  if (differing.length === 0) return;
  await admin.alterConfigs({
    validateOnly: false,
    resources: differing.map((spec) => ({
      type: ConfigResourceTypes.TOPIC,
      name: spec.name,
      configEntries: retentionEntries(spec),
    })),
  });
}

/** Deletes those of `names` that exist; returns the deleted ones. */
export async function deleteTopics(admin: TopicAdminClient, names: readonly string[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((name) => existing.has(name));
  if (present.length > 0) await admin.deleteTopics({ topics: present });
  return present;
}
