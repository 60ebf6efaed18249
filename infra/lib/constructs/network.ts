/**
 * The VPC the MSK Serverless cluster lives in: private isolated subnets in two AZs (no NAT, no
 * internet gateway), gateway endpoints for S3 and DynamoDB, and two interface endpoints:
 * - Timestream ingest, for the time-series writer (it runs in the VPC because it produces rejected
 *   records to iot.dlq). Timestream endpoints are cell-specific
 *   (com.amazonaws.<region>.timestream.ingest-<cell>) and its regional discovery endpoint is not
 *   reachable from the VPC, so the writer is given the cell endpoint (TIMESTREAM_INGEST_ENDPOINT).
 * - The MSK API (com.amazonaws.<region>.kafka), for the topic custom resource's GetBootstrapBrokers.
 *   Used at deploy time only, so it sits in one AZ (half the hourly price; other AZs reach it).
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
import { Construct } from 'constructs';

/** MSK Serverless accepts only IAM authentication, on this port. */
export const MSK_IAM_PORT = 9098;

export interface NetworkProps {
  readonly cidr: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The Timestream cell of the account (e.g. cell1). */
  readonly timestreamIngestCell: string;
}

export class Network extends Construct {
  public readonly vpc: ec2.Vpc;
  /** The cluster's group; the provisioned pollers of the mappings use it too (they attach to the cluster's subnets). */
  public readonly clusterSecurityGroup: ec2.SecurityGroup;
  /** Functions in the VPC that talk to the cluster: bridge, enrich, topic custom resource. */
  public readonly kafkaClientSecurityGroup: ec2.SecurityGroup;
  public readonly isolatedSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  public readonly timestreamIngestEndpoint: ec2.InterfaceVpcEndpoint;
  public readonly kafkaApiEndpoint: ec2.InterfaceVpcEndpoint;
  /** https://ingest-<cell>.timestream.<region>.<suffix>, resolved privately inside the VPC. */
  public readonly timestreamIngestUrl: string;

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
    // HTTPS reaches only what the isolated subnets route to: the S3 and DynamoDB gateway endpoints
    // (their prefix lists need a lookup, which would make synth depend on an account).
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
    this.kafkaApiEndpoint = new ec2.InterfaceVpcEndpoint(this, 'KafkaApiEndpoint', {
      vpc: this.vpc,
      service: new ec2.InterfaceVpcEndpointService(`com.amazonaws.${stack.region}.kafka`, 443),
      privateDnsEnabled: true,
      subnets: { subnets: this.vpc.isolatedSubnets.slice(0, 1) },
      securityGroups: [endpointSecurityGroup],
      open: false,
    });
    this.timestreamIngestUrl = `https://ingest-${props.timestreamIngestCell}.timestream.${stack.region}.${stack.urlSuffix}`;

    this.kafkaClientSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the gateway endpoints and the Timestream endpoint (no other route exists)',
    );
    this.clusterSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'Pollers: on-failure records to S3 through the gateway endpoint (no other route exists)',
    );
  }
}
