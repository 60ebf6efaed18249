/**
 * Lambda entry: the stream topics custom resource. Contract: CDK custom resource Provider framework,
 * onEvent handler (see ./custom-resource.ts): returns `{ PhysicalResourceId, Data }`.
 * ResourceProperties: functions/handlers/stream-topics.ts (ClusterArn, BootstrapBrokers, Topics,
 * DeleteTopicsOnDelete).
 * Data (Fn::GetAtt): TopicChanges (JSON); BootstrapBrokers (the property, echoed: the attribute an
 * older Platform stack imports, see infra/lib/constructs/stream.ts).
 *
 * Create and Update are idempotent: missing topics are created, partitions only ever grow (a smaller
 * count is refused and reported, the topic keeps its partitions), retention is set; topics dropped from
 * the properties are kept. Delete keeps every topic unless DeleteTopicsOnDelete is 'true'.
 * PhysicalResourceId: `{ClusterArn}/topics`, so a new cluster is a replacement (CloudFormation then
 * deletes the old resource, which keeps its data as above).
 *
 * Env vars read: AWS_REGION (set by Lambda; region of the IAM token), required.
 * AWS resources and actions used (the function runs in the cluster's VPC, port 9098 to the cluster; it
 * calls no AWS API, so the VPC needs no MSK API endpoint):
 *   kafka-cluster:Connect, kafka-cluster:DescribeCluster (cluster ARN)
 *   kafka-cluster:CreateTopic, kafka-cluster:DescribeTopic, kafka-cluster:AlterTopic,
 *   kafka-cluster:DescribeTopicDynamicConfiguration, kafka-cluster:AlterTopicDynamicConfiguration,
 *   and kafka-cluster:DeleteTopic only when DeleteTopicsOnDelete may be 'true' (the four topic ARNs)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords; VPC ENI actions.
 */
import type { Context } from 'aws-lambda';
import { deleteTopics, ensureTopics, type TopicAdminClient } from '../adapters/kafka/admin.js';
import { createKafka, parseBrokers } from '../adapters/kafka/client.js';
import { requestedTopics, StreamTopicsProperties, topicsResourceId } from '../handlers/stream-topics.js';
import { AWS_REGION_ENV } from './config.js';
import { type CustomResourceEvent, type CustomResourceResponse, parseProperties } from './custom-resource.js';
import { requireEnv } from './environment.js';
import { createObservability, instrument, type Observability } from './observability.js';

export type ConnectedAdmin = TopicAdminClient & { disconnect(): Promise<void> };

export interface StreamTopicsDependencies {
  /** A connected admin client for these brokers (IAM auth in AWS). */
  readonly connectAdmin: (brokers: string[]) => Promise<ConnectedAdmin>;
  readonly observability: Observability;
}

export function createStreamTopicsResource(dependencies: StreamTopicsDependencies) {
  const { logger } = dependencies.observability;

  const withAdmin = async <T>(brokers: string, task: (admin: TopicAdminClient) => Promise<T>): Promise<T> => {
    const admin = await dependencies.connectAdmin(parseBrokers(brokers));
    try {
      return await task(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  return async (event: CustomResourceEvent): Promise<CustomResourceResponse> => {
    if (
      event.RequestType === 'Delete' &&
      !StreamTopicsProperties.safeParse(event.ResourceProperties).success
    ) {
      // The rollback of a Create that failed on its properties: nothing was made, nothing to delete.
      logger.warn('Delete with invalid properties: nothing to do');
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const properties = parseProperties(StreamTopicsProperties, event.ResourceProperties);
    const physicalResourceId = topicsResourceId(properties);

    if (event.RequestType === 'Delete') {
      if (properties.DeleteTopicsOnDelete !== 'true') {
        logger.info('keeping the topics and their data', { topics: properties.Topics.map((t) => t.Name) });
        return { PhysicalResourceId: event.PhysicalResourceId };
      }
      const deleted = await withAdmin(properties.BootstrapBrokers, (admin) =>
        deleteTopics(
          admin,
          properties.Topics.map((t) => t.Name),
        ),
      );
      logger.info('deleted topics', { deleted });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }

    const changes = await withAdmin(properties.BootstrapBrokers, (admin) =>
      ensureTopics(admin, requestedTopics(properties)),
    );
    for (const change of changes) {
      if (change.action === 'partitions-kept') {
        logger.warn('refused to reduce partitions; the topic keeps its count', { ...change });
      }
    }
    logger.info('topics in place', { changes });
    return {
      PhysicalResourceId: physicalResourceId,
      Data: { BootstrapBrokers: properties.BootstrapBrokers, TopicChanges: JSON.stringify(changes) },
    };
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it).
const observability = createObservability('iot-cloud-stream-topics');
const region = requireEnv(AWS_REGION_ENV);

export const handler: (event: CustomResourceEvent, context?: Context) => Promise<CustomResourceResponse> =
  instrument(
    observability,
    createStreamTopicsResource({
      connectAdmin: async (brokers) => {
        const admin = createKafka({
          brokers,
          clientId: 'iot-cloud-stream-topics',
          iamRegion: region,
        }).admin();
        await admin.connect();
        return admin;
      },
      observability,
    }),
  );
