/**
 * MSK Serverless (IAM authentication only) in the isolated subnets, and the topics: CloudFormation
 * cannot create Kafka topics, so a custom resource inside the VPC
 * (functions/lambda/stream-topics-resource.ts) creates them with a Kafka admin client, with partitions
 * and retention from the configuration. It reads the bootstrap brokers (kafka:GetBootstrapBrokers,
 * through the MSK API interface endpoint of the VPC) and returns them as `BootstrapBrokers`. Topics
 * are kept when the resource is deleted (DeleteTopicsOnDelete is never set).
 */
import { CustomResource, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { TOPICS, type TopicName } from '../../../functions/shared/stream.js';
import { acknowledgeProviderFramework } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import { grantKafkaAccess, KafkaArns } from './kafka-access.js';
import type { Network } from './network.js';

export interface StreamProps {
  readonly clusterName: string;
  readonly network: Network;
  readonly partitions: Readonly<Record<TopicName, number>>;
  readonly retentionHours: number;
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** One topic as functions/lambda/stream-topics-resource.ts reads it (`Topics` property). */
export interface TopicSpec {
  readonly Name: TopicName;
  readonly Partitions: number;
  readonly RetentionMs: number;
}

export class Stream extends Construct {
  public readonly cluster: msk.CfnServerlessCluster;
  public readonly clusterArn: string;
  public readonly arns: KafkaArns;
  /** Comma-separated SASL/IAM bootstrap brokers (port 9098), as returned by the topic resource. */
  public readonly bootstrapBrokers: string;
  public readonly topics: CustomResource;

  constructor(scope: Construct, id: string, props: StreamProps) {
    super(scope, id);
    const { network } = props;
    this.cluster = new msk.CfnServerlessCluster(this, 'Cluster', {
      clusterName: props.clusterName,
      clientAuthentication: { sasl: { iam: { enabled: true } } },
      vpcConfigs: [
        {
          subnetIds: network.vpc.selectSubnets(network.isolatedSubnets).subnetIds,
          securityGroups: [network.clusterSecurityGroup.securityGroupId],
        },
      ],
    });
    this.cluster.applyRemovalPolicy(props.removalPolicy);
    this.clusterArn = this.cluster.attrArn;
    this.arns = new KafkaArns(Stack.of(this), this.clusterArn);

    const topicsFunction = new IotFunction(this, 'TopicsFunction', {
      entry: LAMBDA_ENTRIES.streamTopicsResource,
      serviceName: 'stream-topics',
      description: 'Creates the Kafka topics of the platform (custom resource)',
      platformVersion: props.platformVersion,
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
      timeout: Duration.minutes(5),
      vpc: network.vpc,
      vpcSubnets: network.isolatedSubnets,
      securityGroups: [network.kafkaClientSecurityGroup],
    });
    grantKafkaAccess(topicsFunction.function, this.arns, { administer: Object.values(TOPICS) });
    topicsFunction.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [this.clusterArn] }),
    );

    const provider = new cr.Provider(this, 'TopicsProvider', {
      onEventHandler: topicsFunction.function,
      logGroup: new logs.LogGroup(this, 'TopicsProviderLogs', {
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      }),
    });
    const topicSpecs: TopicSpec[] = Object.values(TOPICS).map((name) => ({
      Name: name,
      Partitions: props.partitions[name],
      RetentionMs: props.retentionHours * 3_600_000,
    }));
    this.topics = new CustomResource(this, 'Topics', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::KafkaTopics',
      properties: {
        ClusterArn: this.clusterArn,
        Topics: topicSpecs,
      },
    });
    // The function reads the bootstrap brokers through the MSK API endpoint.
    this.topics.node.addDependency(network.kafkaApiEndpoint);
    this.bootstrapBrokers = this.topics.getAttString('BootstrapBrokers');

    acknowledgeProviderFramework(provider, topicsFunction.function);
  }
}
