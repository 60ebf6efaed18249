/**
 * The stream topics custom resource (functions/lambda/stream-topics-resource.ts over
 * functions/adapters/kafka/admin.ts) against a real Apache Kafka broker: what the topics look like
 * afterwards is read back from the broker, not from what the code asked for.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createKafka } from '../functions/adapters/kafka/client.js';
import type { ConnectedAdmin } from '../functions/lambda/stream-topics-resource.js';
import { LAMBDA_ENV, silentObservability } from '../functions/lambda/test-support.js';

const { ConfigResourceTypes } = kafkajs;
const brokers = inject('kafkaBrokers');
const CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/iot-cloud/abcd1234-ab12-cd34-ef56-abcdef123456-s1';

let createStreamTopicsResource: typeof import('../functions/lambda/stream-topics-resource.js').createStreamTopicsResource;
let inspector: Admin;

beforeAll(async () => {
  // The entry's composition root reads its environment at import.
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createStreamTopicsResource } = await import('../functions/lambda/stream-topics-resource.js'));
  inspector = createKafka({ brokers: [brokers], clientId: 'integration-inspector' }).admin();
  await inspector.connect();
});

afterAll(async () => {
  await inspector?.disconnect();
  vi.unstubAllEnvs();
});

/** The resource as the Lambda composes it, but with a plain (non-IAM) admin client to the test broker. */
function topicsResource() {
  return createStreamTopicsResource({
    connectAdmin: async (list): Promise<ConnectedAdmin> => {
      const admin = createKafka({ brokers: list, clientId: 'integration-topics-resource' }).admin();
      await admin.connect();
      return admin;
    },
    observability: silentObservability(),
  });
}

let eventCount = 0;
function event(
  requestType: 'Create' | 'Update' | 'Delete',
  topics: readonly { name: string; partitions: number; retentionMs?: number; replicationFactor?: number }[],
  extra: Record<string, string> = {},
): CloudFormationCustomResourceEvent {
  eventCount += 1;
  const ResourceProperties = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:topics',
    ClusterArn: CLUSTER_ARN,
    // In AWS, read from GetBootstrapBrokers at deploy time; here, the test broker.
    BootstrapBrokers: brokers,
    // CloudFormation passes every property as a string.
    Topics: topics.map((topic) => ({
      Name: topic.name,
      Partitions: String(topic.partitions),
      // The stack declares 3 (MSK Serverless); a single test broker can hold 1.
      ReplicationFactor: String(topic.replicationFactor ?? 1),
      ...(topic.retentionMs === undefined ? {} : { RetentionMs: String(topic.retentionMs) }),
    })),
    ...extra,
  };
  return {
    RequestType: requestType,
    ServiceToken: ResourceProperties.ServiceToken,
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/iot-cloud/1',
    RequestId: `request-${eventCount}`,
    LogicalResourceId: 'StreamTopics',
    ResourceType: 'Custom::StreamTopics',
    ResourceProperties,
    ...(requestType === 'Create'
      ? {}
      : { PhysicalResourceId: `${CLUSTER_ARN}/topics`, OldResourceProperties: ResourceProperties }),
  } as CloudFormationCustomResourceEvent;
}

/** Partitions, replicas per partition and retention.ms, as the broker reports them. */
async function describeTopic(name: string) {
  const metadata = await inspector.fetchTopicMetadata({ topics: [name] });
  const topic = metadata.topics[0];
  const configs = await inspector.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] }],
  });
  const retention = configs.resources[0]?.configEntries.find((entry) => entry.configName === 'retention.ms');
  return {
    partitions: topic?.partitions.length ?? 0,
    replicas: [...new Set(topic?.partitions.map((partition) => partition.replicas.length))],
    retentionMs: retention?.configValue,
    retentionIsDefault: retention?.isDefault,
  };
}

const unique = (base: string) => `${base}.${process.pid}.${Date.now().toString(36)}`;

describe('stream topics custom resource on Apache Kafka', () => {
  it('creates each declared topic with its partitions, retention and replication factor', async () => {
    const raw = unique('it.raw');
    const alerts = unique('it.alerts');

    const response = await topicsResource()(
      event('Create', [
        { name: raw, partitions: 6, retentionMs: 86_400_000 },
        { name: alerts, partitions: 2 },
      ]),
    );

    expect(JSON.parse(String(response.Data?.TopicChanges))).toEqual([
      { topic: raw, action: 'created', partitions: 6 },
      { topic: alerts, action: 'created', partitions: 2 },
    ]);
    expect(await describeTopic(raw)).toEqual({
      partitions: 6,
      // The declared replication factor, 1: one replica on the one broker.
      replicas: [1],
      retentionMs: '86400000',
      retentionIsDefault: false,
    });
    expect(await describeTopic(alerts)).toMatchObject({
      partitions: 2,
      replicas: [1],
      retentionIsDefault: true,
    });
  });

  it('grows partitions and changes retention on Update, and a repeated Update changes nothing', async () => {
    const name = unique('it.grow');
    const resource = topicsResource();
    await resource(event('Create', [{ name, partitions: 2, retentionMs: 3_600_000 }]));

    const first = await resource(event('Update', [{ name, partitions: 4, retentionMs: 7_200_000 }]));
    const afterFirst = await describeTopic(name);
    const second = await resource(event('Update', [{ name, partitions: 4, retentionMs: 7_200_000 }]));

    expect(JSON.parse(String(first.Data?.TopicChanges))).toEqual([
      { topic: name, action: 'partitions-increased', from: 2, to: 4 },
    ]);
    expect(afterFirst).toMatchObject({ partitions: 4, retentionMs: '7200000' });
    expect(JSON.parse(String(second.Data?.TopicChanges))).toEqual([
      { topic: name, action: 'unchanged', partitions: 4 },
    ]);
    expect(await describeTopic(name)).toEqual(afterFirst);
  });

  it('fails the deploy when the cluster cannot hold the declared replication factor', async () => {
    const name = unique('it.rf3');

    const attempt = topicsResource()(event('Create', [{ name, partitions: 1, replicationFactor: 3 }]));

    // One broker cannot hold 3 replicas: the broker refuses, and the resource must not fall back to less.
    await expect(attempt).rejects.toThrow(/INVALID_REPLICATION_FACTOR/);
    expect(await inspector.listTopics()).not.toContain(name);
  });

  it('keeps a topic whole when an Update asks for fewer partitions', async () => {
    const name = unique('it.shrink');
    const resource = topicsResource();
    await resource(event('Create', [{ name, partitions: 3 }]));

    const response = await resource(event('Update', [{ name, partitions: 1 }]));

    expect(JSON.parse(String(response.Data?.TopicChanges))).toEqual([
      { topic: name, action: 'partitions-kept', partitions: 3, requested: 1 },
    ]);
    expect((await describeTopic(name)).partitions).toBe(3);
  });

  it('keeps the topics on Delete by default and deletes them when DeleteTopicsOnDelete is true', async () => {
    const kept = unique('it.kept');
    const dropped = unique('it.dropped');
    const resource = topicsResource();
    await resource(
      event('Create', [
        { name: kept, partitions: 1 },
        { name: dropped, partitions: 1 },
      ]),
    );

    await resource(event('Delete', [{ name: kept, partitions: 1 }]));
    await resource(event('Delete', [{ name: dropped, partitions: 1 }], { DeleteTopicsOnDelete: 'true' }));

    const topics = await inspector.listTopics();
    expect(topics).toContain(kept);
    expect(topics).not.toContain(dropped);
  });
});
