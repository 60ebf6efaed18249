/**
 * MSK Serverless (IAM authentication only) in the isolated subnets, and the topics: CloudFormation
 * cannot create Kafka topics, so a custom resource inside the VPC
 * (functions/lambda/stream-topics-resource.ts) creates them with a Kafka admin client, with partitions,
 * replication factor and retention from the configuration. Topics are kept when the resource is
 * deleted (DeleteTopicsOnDelete is never set).
 *
 * Bootstrap brokers are read outside the VPC: an AwsCustomResource (its function is not in the VPC)
 * calls Kafka `GetBootstrapBrokers` on the cluster ARN at deploy time, so the VPC needs no MSK API
 * endpoint (`com.amazonaws.<region>.kafka` is retired for new connections:
 * https://docs.aws.amazon.com/msk/latest/developerguide/privatelink-vpc-endpoints.html). The brokers go
 * to the topics resource as a property and, with the cluster ARN, into SSM parameters that the
 * Platform stack reads at deploy time (`StreamEndpoint.fromParameters`): no strong cross-stack export
 * of a value that changes when the cluster is replaced.
 *
 * Removal: the cluster is always deleted with its stack, even where the environment retains data. A
 * retained cluster would keep its network interfaces in the VPC's subnets and security groups, so
 * the VPC could not be deleted either (`cdk destroy` ends in DELETE_FAILED) unless the whole network
 * were retained too. The stream is a buffer, not the system of record: every record it holds has been
 * (or will be, on redeploy) consumed into the tables and the time-series sink, which prod retains.
 */
import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as msk from 'aws-cdk-lib/aws-msk';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { TOPICS, type TopicName } from '../../../functions/shared/stream.js';
import { acknowledgeProviderFramework } from '../nag.js';
import { IotFunction, LAMBDA_ENTRIES } from './iot-function.js';
import { grantKafkaAccess, KafkaArns } from './kafka-access.js';
import type { Network } from './network.js';

/**
 * MSK Serverless keeps three replicas of every partition (one per AZ) and does not let a topic choose
 * otherwise; the replication factor is stated explicitly so the topics never depend on a broker
 * default. Topic-level settings it accepts:
 * https://docs.aws.amazon.com/msk/latest/developerguide/serverless-config.html
 */
export const MSK_SERVERLESS_REPLICATION_FACTOR = 3;

/** Response field of GetBootstrapBrokers for the SASL/IAM listener (port 9098). */
const IAM_BROKERS_FIELD = 'BootstrapBrokerStringSaslIam';

export interface StreamProps {
  readonly clusterName: string;
  /** Environment name: part of the SSM parameter names the Platform stack reads. */
  readonly environmentName: string;
  readonly network: Network;
  readonly partitions: Readonly<Record<TopicName, number>>;
  readonly retentionHours: number;
  readonly platformVersion: string;
  readonly logRetention: logs.RetentionDays;
  /** Applies to the logs; the cluster itself is always destroyed (see the header). */
  readonly removalPolicy: RemovalPolicy;
}

/** One topic as the custom resource reads it (`Topics`, functions/handlers/stream-topics.ts). */
export interface TopicSpec {
  readonly Name: TopicName;
  readonly Partitions: number;
  readonly ReplicationFactor: number;
  readonly RetentionMs: number;
}

/** What a consumer of the stream needs: the cluster ARN, the IAM bootstrap brokers and the ARN builder. */
export interface StreamEndpoint {
  readonly clusterArn: string;
  /** Comma-separated SASL/IAM bootstrap brokers (port 9098). */
  readonly bootstrapBrokers: string;
  readonly arns: KafkaArns;
}

/** SSM parameter names (fixed per environment, so another stack can read them by name). */
export function streamParameterNames(environmentName: string) {
  return {
    clusterArn: `/iot-cloud/${environmentName}/stream/cluster-arn`,
    bootstrapBrokers: `/iot-cloud/${environmentName}/stream/bootstrap-brokers`,
  } as const;
}

/**
 * The stream as another stack sees it: values resolved by CloudFormation from SSM at each deploy
 * (`AWS::SSM::Parameter::Value<String>` template parameters), not Fn::ImportValue. A replaced cluster
 * updates the parameters; the next deploy of the consumer stack picks them up (the CDK CLI never skips
 * a stack with SSM parameters).
 */
export function streamEndpointFromParameters(scope: Construct, environmentName: string): StreamEndpoint {
  const names = streamParameterNames(environmentName);
  const clusterArn = ssm.StringParameter.valueForStringParameter(scope, names.clusterArn);
  return {
    clusterArn,
    bootstrapBrokers: ssm.StringParameter.valueForStringParameter(scope, names.bootstrapBrokers),
    arns: new KafkaArns(Stack.of(scope), clusterArn),
  };
}

export class Stream extends Construct implements StreamEndpoint {
  public readonly cluster: msk.CfnServerlessCluster;
  public readonly clusterArn: string;
  public readonly arns: KafkaArns;
  /** Comma-separated SASL/IAM bootstrap brokers (port 9098), from GetBootstrapBrokers at deploy time. */
  public readonly bootstrapBrokers: string;
  public readonly bootstrapBrokersLookup: cr.AwsCustomResource;
  public readonly topics: CustomResource;
  public readonly parameters: {
    readonly clusterArn: ssm.StringParameter;
    readonly bootstrapBrokers: ssm.StringParameter;
  };

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
    // Never retained: see the header (a retained cluster would pin its VPC).
    this.cluster.applyRemovalPolicy(RemovalPolicy.DESTROY);
    this.clusterArn = this.cluster.attrArn;
    this.arns = new KafkaArns(Stack.of(this), this.clusterArn);

    // Outside the VPC: the SDK call of the AwsCustomResource singleton function, on this cluster only.
    this.bootstrapBrokersLookup = new cr.AwsCustomResource(this, 'BootstrapBrokers', {
      resourceType: 'Custom::KafkaBootstrapBrokers',
      onUpdate: {
        // @aws-sdk/client-kafka GetBootstrapBrokersCommand; onUpdate also runs on create.
        service: 'Kafka',
        action: 'GetBootstrapBrokers',
        parameters: { ClusterArn: this.clusterArn },
        physicalResourceId: cr.PhysicalResourceId.of(this.clusterArn),
        outputPaths: [IAM_BROKERS_FIELD],
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [this.clusterArn] }),
      ]),
      installLatestAwsSdk: false,
      logGroup: new logs.LogGroup(this, 'BootstrapBrokersLogs', {
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      }),
    });
    this.bootstrapBrokers = this.bootstrapBrokersLookup.getResponseField(IAM_BROKERS_FIELD);

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
      ReplicationFactor: MSK_SERVERLESS_REPLICATION_FACTOR,
      RetentionMs: props.retentionHours * 3_600_000,
    }));
    this.topics = new CustomResource(this, 'Topics', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::KafkaTopics',
      properties: {
        ClusterArn: this.clusterArn,
        BootstrapBrokers: this.bootstrapBrokers,
        Topics: topicSpecs,
      },
    });
    // The function reaches the brokers only once the security-group rules between its group and the
    // cluster's exist: they are separate resources (AWS::EC2::SecurityGroupIngress/Egress) that
    // CloudFormation would otherwise create in parallel with the topics.
    this.topics.node.addDependency(network.kafkaClientPath);

    const names = streamParameterNames(props.environmentName);
    this.parameters = {
      clusterArn: new ssm.StringParameter(this, 'ClusterArnParameter', {
        parameterName: names.clusterArn,
        stringValue: this.clusterArn,
        description: 'MSK Serverless cluster ARN (read by the Platform stack at deploy time)',
      }),
      bootstrapBrokers: new ssm.StringParameter(this, 'BootstrapBrokersParameter', {
        parameterName: names.bootstrapBrokers,
        stringValue: this.bootstrapBrokers,
        description: 'MSK Serverless SASL/IAM bootstrap brokers (read by the Platform stack at deploy time)',
      }),
    };
    // Consumers read the parameters only after the topics exist.
    for (const parameter of Object.values(this.parameters)) parameter.node.addDependency(this.topics);

    // Transitional: a Platform stack deployed before the SSM parameters imports these two exports, and
    // CloudFormation refuses to remove an export in use, so they stay (unimported, they can change
    // freely) until every environment's Platform stack has been redeployed once; then delete them.
    const stack = Stack.of(this);
    stack.exportValue(this.clusterArn);
    stack.exportValue(this.topics.getAttString('BootstrapBrokers'));

    acknowledgeProviderFramework(provider, topicsFunction.function);
  }
}
