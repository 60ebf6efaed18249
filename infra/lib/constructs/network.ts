/**
 * The VPC the MSK Serverless cluster lives in: private isolated subnets in two AZs (no NAT, no
 * internet gateway) and gateway endpoints for S3 and DynamoDB (the DynamoDB time-series sink and the
 * registry are reached through the latter). One interface endpoint, only when the environment's sink
 * is `timestream`:
 * - Timestream ingest, for the time-series writer (it runs in the VPC because it produces rejected
 *   records to iot.dlq). Timestream endpoints are cell-specific
 *   (com.amazonaws.<region>.timestream.ingest-<cell>) and its regional discovery endpoint is not
 *   reachable from the VPC, so the writer is given the cell endpoint (TIMESTREAM_INGEST_ENDPOINT).
 *
 * No MSK control-plane endpoint: `com.amazonaws.<region>.kafka` is "no longer supported for new
 * connections" (https://docs.aws.amazon.com/msk/latest/developerguide/privatelink-vpc-endpoints.html).
 * The bootstrap brokers are read outside the VPC at deploy time (Stream: an AwsCustomResource calling
 * GetBootstrapBrokers), so nothing in the VPC calls the MSK API.
 *
 * Why no Lambda/STS endpoints: the Kafka event source mappings run in provisioned mode, whose pollers
 * reach the cluster through the cluster's own subnets and security group and need no Lambda/STS
 * PrivateLink endpoints (AWS Lambda developer guide, "Apache Kafka event poller scaling modes":
 * "When using provisioned mode, you don't need to create AWS PrivateLink VPC endpoints"); on-demand
 * mode would need com.amazonaws.<region>.lambda and .sts endpoints (or a NAT gateway). The functions
 * in the VPC (ingest bridge, enrich, topic custom resource) talk only to the cluster (IAM port 9098)
 * and to DynamoDB/S3 through the gateway endpoints; the on-failure destination of the mappings is an
 * S3 bucket, which the S3 gateway endpoint serves (the guide requires an endpoint for it in the
 * cluster's VPC).
 */

import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, DependencyGroup } from 'constructs';

/** MSK Serverless accepts only IAM authentication, on this port. */
export const MSK_IAM_PORT = 9098;

export interface NetworkProps {
  readonly cidr: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * The Timestream cell of the account (e.g. cell1), only for the `timestream` sink.
   * @default - no Timestream endpoint
   */
  readonly timestreamIngestCell?: string;
}

export class Network extends Construct {
  public readonly vpc: ec2.Vpc;
  /** The cluster's group; the provisioned pollers of the mappings use it too (they attach to the cluster's subnets). */
  public readonly clusterSecurityGroup: ec2.SecurityGroup;
  /** Functions in the VPC that talk to the cluster: bridge, enrich, topic custom resource. */
  public readonly kafkaClientSecurityGroup: ec2.SecurityGroup;
  public readonly isolatedSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  /**
   * The security-group rules between the Kafka clients' group and the cluster's (IAM port both ways):
   * what must exist before a function in the VPC can reach the brokers. The rules are separate
   * AWS::EC2::SecurityGroupIngress/Egress resources in the two groups' subtrees.
   */
  public readonly kafkaClientPath = new DependencyGroup();
  /** Only with a Timestream cell (sink `timestream`). */
  public readonly timestreamIngestEndpoint?: ec2.InterfaceVpcEndpoint;
  /** https://ingest-<cell>.timestream.<region>.<suffix>, resolved privately inside the VPC. */
  public readonly timestreamIngestUrl?: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      // Two AZs without lookups: synth stays offline and environment-agnostic.
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      restrictDefaultSecurityGroup: false,
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    this.clusterSecurityGroup = new ec2.SecurityGroup(this, 'ClusterSecurityGroup', {
      vpc: this.vpc,
      description: 'MSK Serverless cluster and the provisioned pollers of its event source mappings',
      allowAllOutbound: false,
    });
    this.kafkaClientSecurityGroup = new ec2.SecurityGroup(this, 'KafkaClientSecurityGroup', {
      vpc: this.vpc,
      description: 'Functions in the VPC producing to or administering the MSK cluster',
      allowAllOutbound: false,
    });

    const kafkaIam = ec2.Port.tcp(MSK_IAM_PORT);
    // Pollers sit in the cluster's security group: the group must admit itself on the IAM port.
    this.clusterSecurityGroup.addIngressRule(
      this.clusterSecurityGroup,
      kafkaIam,
      'Event source mapping pollers',
    );
    this.clusterSecurityGroup.addEgressRule(this.clusterSecurityGroup, kafkaIam, 'Pollers to brokers');
    this.clusterSecurityGroup.addIngressRule(
      this.kafkaClientSecurityGroup,
      kafkaIam,
      'Bridge, enrich, topic admin',
    );
    this.kafkaClientSecurityGroup.addEgressRule(this.clusterSecurityGroup, kafkaIam, 'MSK IAM port only');
    this.kafkaClientPath.add(this.clusterSecurityGroup, this.kafkaClientSecurityGroup);
    // HTTPS reaches only what the isolated subnets route to: the S3 and DynamoDB gateway endpoints
    // (their prefix lists need a lookup, which would make synth depend on an account), and the
    // Timestream endpoint where there is one.
    if (props.timestreamIngestCell !== undefined) {
      const stack = Stack.of(this);
      const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'Timestream ingest interface endpoint',
        allowAllOutbound: false,
      });
      endpointSecurityGroup.addIngressRule(
        this.kafkaClientSecurityGroup,
        ec2.Port.tcp(443),
        'Writer to Timestream',
      );
      this.timestreamIngestEndpoint = new ec2.InterfaceVpcEndpoint(this, 'TimestreamIngestEndpoint', {
        vpc: this.vpc,
        service: new ec2.InterfaceVpcEndpointService(
          `com.amazonaws.${stack.region}.timestream.ingest-${props.timestreamIngestCell}`,
          443,
        ),
        privateDnsEnabled: true,
        subnets: this.isolatedSubnets,
        securityGroups: [endpointSecurityGroup],
        open: false,
      });
      this.timestreamIngestUrl = `https://ingest-${props.timestreamIngestCell}.timestream.${stack.region}.${stack.urlSuffix}`;
    }

    this.kafkaClientSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the gateway endpoints (and the Timestream endpoint, if any): no other route exists',
    );
    this.clusterSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'Pollers: on-failure records to S3 through the gateway endpoint (no other route exists)',
    );
  }
}
