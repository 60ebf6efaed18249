import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TOPIC_PARTITIONS, TOPICS } from '../shared/stream.js';
import type { ConnectedAdmin } from './stream-topics-resource.js';
import { LAMBDA_ENV, silentObservability } from './test-support.js';

const CLUSTER_ARN =
  'arn:aws:kafka:eu-west-1:123456789012:cluster/iot-cloud-dev/7f3c2a10-1b2c-4d5e-8f90-0a1b2c3d4e5f-s2';
const BROKERS = 'boot-abc123.c2.kafka-serverless.eu-west-1.amazonaws.com:9098';
let createStreamTopicsResource: typeof import('./stream-topics-resource.js').createStreamTopicsResource;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createStreamTopicsResource } = await import('./stream-topics-resource.js'));
});
afterAll(() => {
  vi.unstubAllEnvs();
});

/** A Kafka admin over an in-memory cluster: topic name -> partitions and retention. */
class FakeAdmin implements ConnectedAdmin {
  readonly calls: string[] = [];
  readonly replicationFactors: (number | undefined)[] = [];
  connectedTo: string[] = [];
  disconnected = false;
  constructor(readonly topics = new Map<string, { partitions: number; retentionMs?: string }>()) {}
  async listTopics() {
    return [...this.topics.keys()];
  }
  async fetchTopicMetadata(options?: { topics: string[] }) {
    return {
      topics: (options?.topics ?? []).map((name) => ({
        name,
        partitions: Array.from({ length: this.topics.get(name)?.partitions ?? 0 }, (_, i) => ({
          partitionErrorCode: 0,
          partitionId: i,
          leader: 1,
          replicas: [1],
          isr: [1],
        })),
      })),
    };
  }
  async createTopics(options: {
    topics: {
      topic: string;
      numPartitions?: number;
      replicationFactor?: number;
      configEntries?: { name: string; value: string }[];
    }[];
  }) {
    this.calls.push(`create ${options.topics.map((t) => t.topic).join(',')}`);
    this.replicationFactors.push(...options.topics.map((t) => t.replicationFactor));
    for (const t of options.topics) {
      const retention = t.configEntries?.find((e) => e.name === 'retention.ms')?.value;
      this.topics.set(t.topic, {
        partitions: t.numPartitions ?? 1,
        ...(retention ? { retentionMs: retention } : {}),
      });
    }
    return true;
  }
  async createPartitions(options: { topicPartitions: { topic: string; count: number }[] }) {
    this.calls.push(`grow ${options.topicPartitions.map((t) => `${t.topic}:${t.count}`).join(',')}`);
    for (const t of options.topicPartitions) {
      const topic = this.topics.get(t.topic);
      if (!topic || t.count <= topic.partitions) throw new Error('INVALID_PARTITIONS');
      topic.partitions = t.count;
    }
    return true;
  }
  async describeConfigs(options: { resources: { name: string; configNames?: string[] }[] }) {
    return {
      throttleTime: 0,
      resources: options.resources.map((r) => ({
        resourceName: r.name,
        resourceType: 2,
        errorCode: 0,
        errorMessage: '',
        configEntries: [
          {
            configName: 'retention.ms',
            configValue: this.topics.get(r.name)?.retentionMs ?? '604800000',
            isDefault: false,
            configSource: 1,
            isSensitive: false,
            readOnly: false,
            configSynonyms: [],
          },
        ],
      })),
    };
  }
  async alterConfigs(options: {
    resources: { name: string; configEntries: { name: string; value: string }[] }[];
  }) {
    this.calls.push(`alter ${options.resources.map((r) => r.name).join(',')}`);
    for (const r of options.resources) {
      const topic = this.topics.get(r.name);
      const retention = r.configEntries.find((e) => e.name === 'retention.ms')?.value;
      if (topic && retention) topic.retentionMs = retention;
    }
    return {};
  }
  async deleteTopics(options: { topics: string[] }) {
    this.calls.push(`delete ${options.topics.join(',')}`);
    for (const name of options.topics) this.topics.delete(name);
  }
  async disconnect() {
    this.disconnected = true;
  }
}

const topicsProperty = (partitions: Partial<Record<string, number>> = {}) =>
  Object.values(TOPICS).map((name) => ({
    Name: name,
    // CloudFormation passes numbers as strings.
    Partitions: String(partitions[name] ?? TOPIC_PARTITIONS[name]),
    ReplicationFactor: '3',
    RetentionMs: '604800000',
  }));

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, unknown>,
): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/iot-cloud-dev-stream/1',
    RequestId: 'req-1',
    LogicalResourceId: 'StreamTopics',
    ResourceType: 'Custom::StreamTopics',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
      ...properties,
    },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update')
    return {
      ...base,
      RequestType: 'Update',
      PhysicalResourceId: `${CLUSTER_ARN}/topics`,
      OldResourceProperties: base.ResourceProperties,
    };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: `${CLUSTER_ARN}/topics` };
}

function setup(admin = new FakeAdmin()) {
  const handler = createStreamTopicsResource({
    connectAdmin: async (brokers) => {
      admin.connectedTo = brokers;
      return admin;
    },
    observability: silentObservability(),
  });
  return { handler, admin };
}

describe('stream topics custom resource', () => {
  it('creates the four topics with their partitions, replication factor and retention on the given brokers', async () => {
    // Prepare
    const { handler, admin } = setup();

    // Act
    const response = await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    // Assess
    expect(response.PhysicalResourceId).toBe(`${CLUSTER_ARN}/topics`);
    expect(Object.fromEntries(admin.topics)).toEqual({
      'iot.raw': { partitions: 6, retentionMs: '604800000' },
      'iot.enriched': { partitions: 6, retentionMs: '604800000' },
      'iot.alerts': { partitions: 2, retentionMs: '604800000' },
      'iot.dlq': { partitions: 2, retentionMs: '604800000' },
    });
    expect(admin.connectedTo).toEqual([BROKERS]);
    expect(admin.disconnected).toBe(true);
    expect(admin.replicationFactors).toEqual([3, 3, 3, 3]);
  });

  it('is idempotent: a second Create changes nothing', async () => {
    const { handler, admin } = setup();
    await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    const response = await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    expect(admin.calls).toEqual(['create iot.raw,iot.enriched,iot.alerts,iot.dlq']);
    expect(JSON.parse(response.Data?.TopicChanges ?? '[]').map((c: { action: string }) => c.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  });

  it('grows partitions on Update and sets the new retention', async () => {
    const { handler, admin } = setup();
    await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    await handler(
      event('Update', {
        ClusterArn: CLUSTER_ARN,
        BootstrapBrokers: BROKERS,
        Topics: topicsProperty({ 'iot.raw': 12 }).map((t) => ({ ...t, RetentionMs: '86400000' })),
      }),
    );

    expect(admin.calls.slice(1)).toEqual([
      'grow iot.raw:12',
      'alter iot.raw,iot.enriched,iot.alerts,iot.dlq',
    ]);
    expect(admin.topics.get('iot.raw')).toEqual({ partitions: 12, retentionMs: '86400000' });
  });

  it('never reduces partitions on Update: the topic keeps its count and the change is reported', async () => {
    const { handler, admin } = setup();
    await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    const response = await handler(
      event('Update', {
        ClusterArn: CLUSTER_ARN,
        BootstrapBrokers: BROKERS,
        Topics: topicsProperty({ 'iot.raw': 3 }),
      }),
    );

    expect(admin.topics.get('iot.raw')?.partitions).toBe(6);
    expect(admin.calls.slice(1)).toEqual([]);
    expect(JSON.parse(response.Data?.TopicChanges ?? '[]')[0]).toEqual({
      topic: 'iot.raw',
      action: 'partitions-kept',
      partitions: 6,
      requested: 3,
    });
  });

  it('keeps the topics and their data on Delete by default', async () => {
    const { handler, admin } = setup();
    await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    const response = await handler(
      event('Delete', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    expect(response.PhysicalResourceId).toBe(`${CLUSTER_ARN}/topics`);
    expect(admin.topics.size).toBe(4);
  });

  it('deletes the topics on Delete when DeleteTopicsOnDelete is "true"', async () => {
    const { handler, admin } = setup();
    await handler(
      event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topicsProperty() }),
    );

    await handler(
      event('Delete', {
        ClusterArn: CLUSTER_ARN,
        BootstrapBrokers: BROKERS,
        Topics: topicsProperty(),
        DeleteTopicsOnDelete: 'true',
      }),
    );

    expect(admin.topics.size).toBe(0);
  });

  it('fails a Create with invalid properties, naming them, and lets its rollback Delete succeed', async () => {
    const { handler } = setup();
    const bad = { ClusterArn: 'not-an-arn', Topics: [{ Name: 'iot.raw', Partitions: 'six' }] };

    await expect(handler(event('Create', bad))).rejects.toThrow(
      /ClusterArn: must be an MSK cluster ARN.*Topics\.0\.Partitions/,
    );
    await expect(handler(event('Delete', bad))).resolves.toEqual({
      PhysicalResourceId: `${CLUSTER_ARN}/topics`,
    });
  });

  it('refuses topics without a replication factor, naming the field', async () => {
    const { handler, admin } = setup();
    const topics = topicsProperty().map(({ ReplicationFactor: _omitted, ...topic }) => topic);

    await expect(
      handler(event('Create', { ClusterArn: CLUSTER_ARN, BootstrapBrokers: BROKERS, Topics: topics })),
    ).rejects.toThrow(/Topics\.0\.ReplicationFactor/);
    expect(admin.calls).toEqual([]);
  });

  it('refuses a Create without bootstrap brokers', async () => {
    const { handler } = setup();

    await expect(
      handler(event('Create', { ClusterArn: CLUSTER_ARN, Topics: topicsProperty() })),
    ).rejects.toThrow(/BootstrapBrokers/);
  });
});
