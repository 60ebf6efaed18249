/**
 * The stream topics custom resource's request: its ResourceProperties (strings, as CloudFormation
 * passes them), validated, and the topic specs they ask for. The entry
 * (functions/lambda/stream-topics-resource.ts) makes the cluster match them.
 *
 *   ClusterArn            the MSK (Serverless) cluster ARN                                   required
 *   BootstrapBrokers      the cluster's IAM bootstrap string (host:9098,...), read at deploy time
 *                         outside the VPC (GetBootstrapBrokers, infra/lib/constructs/stream.ts)  required
 *   Topics                [{ Name, Partitions, ReplicationFactor, RetentionMs? }]: TOPICS and
 *                         TOPIC_PARTITIONS of functions/shared/stream.ts, the replication factor
 *                         and retention from the stack                                        required
 *   DeleteTopicsOnDelete  'true' deletes the topics (and their data) on Delete; default keep  optional
 */
import { z } from 'zod';

const CLUSTER_ARN = /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;

export const StreamTopicsProperties = z.object({
  ClusterArn: z.string().regex(CLUSTER_ARN, 'must be an MSK cluster ARN'),
  BootstrapBrokers: z.string().min(1, 'must be the IAM bootstrap brokers (host:9098,...)'),
  Topics: z
    .array(
      z.object({
        Name: z.string().min(1),
        Partitions: z.coerce.number().int().min(1).max(1000),
        ReplicationFactor: z.coerce.number().int().min(1).max(10),
        RetentionMs: z.coerce.number().int().optional(),
      }),
    )
    .min(1),
  DeleteTopicsOnDelete: z.enum(['true', 'false']).default('false'),
});
export type StreamTopicsProperties = z.infer<typeof StreamTopicsProperties>;

/** One topic as the Kafka admin adapter takes it (functions/adapters/kafka/admin.ts `TopicSpec`). */
export interface RequestedTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly retentionMs?: number;
}

export const requestedTopics = (properties: StreamTopicsProperties): RequestedTopic[] =>
  properties.Topics.map((topic) => ({
    name: topic.Name,
    partitions: topic.Partitions,
    replicationFactor: topic.ReplicationFactor,
    ...(topic.RetentionMs === undefined ? {} : { retentionMs: topic.RetentionMs }),
  }));

/** CloudFormation's id of the resource: a new cluster is a replacement (the old topics are kept). */
export const topicsResourceId = (properties: StreamTopicsProperties): string =>
  `${properties.ClusterArn}/topics`;
