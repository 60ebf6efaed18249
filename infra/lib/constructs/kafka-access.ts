/**
 * IAM data-plane access to the MSK Serverless cluster (`kafka-cluster:*`), scoped to the exact topic
 * and group ARNs a function uses. CDK's ManagedKafkaEventSource grants none of these, and a wildcard
 * would let any function read every topic.
 *
 * ARN formats (MSK developer guide, "IAM access control"):
 *   cluster  arn:aws:kafka:region:account:cluster/{clusterName}/{clusterUuid}
 *   topic    arn:aws:kafka:region:account:topic/{clusterName}/{clusterUuid}/{topicName}
 *   group    arn:aws:kafka:region:account:group/{clusterName}/{clusterUuid}/{groupName}
 */
import { Fn, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { TopicName } from '../../../functions/shared/stream.js';

export class KafkaArns {
  private readonly clusterName: string;
  private readonly clusterUuid: string;

  constructor(
    private readonly stack: Stack,
    public readonly clusterArn: string,
  ) {
    const parts = Fn.split('/', clusterArn);
    this.clusterName = Fn.select(1, parts);
    this.clusterUuid = Fn.select(2, parts);
  }

  topic(name: TopicName): string {
    return this.resource('topic', name);
  }

  group(name: string): string {
    return this.resource('group', name);
  }

  private resource(kind: 'topic' | 'group', name: string): string {
    return this.stack.formatArn({
      service: 'kafka',
      resource: kind,
      resourceName: `${this.clusterName}/${this.clusterUuid}/${name}`,
    });
  }
}

export interface KafkaAccess {
  /** Topics produced to (WriteData). */
  readonly produce?: readonly TopicName[];
  /** Topic and consumer group of an event source mapping (ReadData, group offsets). */
  readonly consume?: { readonly topic: TopicName; readonly group: string };
  /** Topics administered (create, alter partitions and config, describe). */
  readonly administer?: readonly TopicName[];
}

/** Adds the least `kafka-cluster:*` statements for the access described. */
export function grantKafkaAccess(grantee: iam.IGrantable, arns: KafkaArns, access: KafkaAccess): void {
  const add = (actions: string[], resources: string[]) =>
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));

  add(['kafka-cluster:Connect'], [arns.clusterArn]);
  if (access.produce && access.produce.length > 0) {
    // The producers are idempotent (no duplicates on retry): a cluster-level permission.
    add(['kafka-cluster:WriteDataIdempotently'], [arns.clusterArn]);
    add(
      ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      access.produce.map((topic) => arns.topic(topic)),
    );
  }
  if (access.consume) {
    add(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], [arns.topic(access.consume.topic)]);
    add(['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'], [arns.group(access.consume.group)]);
    // The event source mapping reads the cluster's dynamic configuration when it starts polling.
    add(['kafka-cluster:DescribeClusterDynamicConfiguration'], [arns.clusterArn]);
  }
  if (access.administer && access.administer.length > 0) {
    add(['kafka-cluster:DescribeCluster'], [arns.clusterArn]);
    add(
      [
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:AlterTopic',
        'kafka-cluster:DescribeTopicDynamicConfiguration',
        'kafka-cluster:AlterTopicDynamicConfiguration',
      ],
      access.administer.map((topic) => arns.topic(topic)),
    );
  }
}
