/**
 * `npm run preflight`'s checks: what only the AWS account knows, asked before a deploy. Each check takes
 * the SDK clients it needs (created once by the CLI, mocked with aws-sdk-client-mock in the tests) and
 * answers pass or fail with the detail and, on failure, the fix. A check never throws: an unexpected
 * error is a failure that names the error.
 */
import {
  type CognitoIdentityProviderClient,
  DescribeUserPoolDomainCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  DescribeAvailabilityZonesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeEndpointCommand, type IoTClient } from '@aws-sdk/client-iot';
import { GetAccountSettingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeEndpointsCommand, type TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import type { EnvironmentConfig } from '../../infra/lib/config.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export interface PreflightClients {
  readonly timestream: TimestreamWriteClient;
  readonly lambda: LambdaClient;
  readonly ec2: EC2Client;
  readonly iot: IoTClient;
  readonly cognito: CognitoIdentityProviderClient;
}

export interface PreflightContext {
  readonly config: EnvironmentConfig;
  readonly region: string;
  readonly accountId: string;
}

const errorName = (error: unknown): string =>
  error instanceof Error ? error.name : typeof error === 'string' ? error : 'UnknownError';
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function unexpected(name: string, error: unknown, permission: string): CheckResult {
  const denied = /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(errorName(error));
  return {
    name,
    status: 'fail',
    detail: `${errorName(error)}: ${errorMessage(error)}`,
    fix: denied
      ? `the credentials lack ${permission}: run preflight with the credentials you deploy with`
      : 'retry; if it persists, check the region and the credentials',
  };
}

// ---------------------------------------------------------------------------------------------------
// Timestream for LiveAnalytics

const TIMESTREAM = 'Timestream for LiveAnalytics';

/** `ingest-cell2.timestream.us-east-1.amazonaws.com` -> `cell2`. */
export function cellOfEndpoint(address: string): string | undefined {
  return /^ingest-(cell\d+)\./.exec(address)?.[1];
}

/**
 * Only when the sink is `timestream`: accounts that did not use LiveAnalytics before 2025-06-20 get
 * AccessDeniedException on every call, DescribeEndpoints first
 * (https://docs.aws.amazon.com/timestream/latest/developerguide/AmazonTimestreamForLiveAnalytics-availability-change.html).
 * DescribeEndpoints also names the account's cell, the only one an interface endpoint can be made for
 * (https://docs.aws.amazon.com/timestream/latest/developerguide/VPCEndpoints.vpc-endpoint-create.html).
 */
export async function checkTimestream(
  clients: Pick<PreflightClients, 'timestream'>,
  { config }: PreflightContext,
): Promise<CheckResult> {
  const settings = config.timeseries.timestream;
  if (config.timeseries.sink !== 'timestream' || settings === undefined) {
    return {
      name: TIMESTREAM,
      status: 'skip',
      detail: `not used: this environment's time-series sink is ${config.timeseries.sink}`,
    };
  }
  let address: string | undefined;
  try {
    const answer = await clients.timestream.send(new DescribeEndpointsCommand({}));
    address = answer.Endpoints?.[0]?.Address;
  } catch (error) {
    if (errorName(error) === 'AccessDeniedException') {
      return {
        name: TIMESTREAM,
        status: 'fail',
        detail: `the account cannot use LiveAnalytics (${errorMessage(error)})`,
        fix: `set timeseries.sink to "dynamodb" for ${config.name} in cdk.json (and remove timeseries.timestream): LiveAnalytics is closed to accounts that did not use it before 2025-06-20`,
      };
    }
    return unexpected(TIMESTREAM, error, 'timestream:DescribeEndpoints');
  }
  const cell = address === undefined ? undefined : cellOfEndpoint(address);
  if (cell === undefined) {
    return {
      name: TIMESTREAM,
      status: 'fail',
      detail: `DescribeEndpoints answered no ingest cell (address ${address ?? 'none'})`,
      fix: 'retry; the ingest endpoint must look like ingest-<cell>.timestream.<region>.amazonaws.com',
    };
  }
  if (cell !== settings.ingestCell) {
    return {
      name: TIMESTREAM,
      status: 'fail',
      detail: `the account's ingest cell is ${cell} (${address}), cdk.json says ${settings.ingestCell}`,
      fix: `set timeseries.timestream.ingestCell to "${cell}" for ${config.name} in cdk.json`,
    };
  }
  return { name: TIMESTREAM, status: 'pass', detail: `access granted; ingest cell ${cell} (${address})` };
}

// ---------------------------------------------------------------------------------------------------
// Lambda concurrency

const CONCURRENCY = 'Lambda concurrency';

/**
 * Concurrent invocations one provisioned Kafka poller can drive: "each event poller can handle up to
 * 5 MB/sec of throughput or up to 5 concurrent invocations"
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-scaling-modes.html).
 */
export const KAFKA_INVOCATIONS_PER_POLLER = 5;
/** The Service Quotas code of "Concurrent executions" (Lambda). */
export const LAMBDA_CONCURRENCY_QUOTA_CODE = 'L-B99A9384';
/** An estimate: the API handler's typical duration, to turn its throttle rate into concurrency. */
const API_DURATION_SECONDS_ESTIMATE = 0.25;
/** Custom resources run during a deploy (topics, registry seed), one at a time each. */
const DEPLOY_TIME_FUNCTIONS = 2;

export interface ConcurrencyDemand {
  readonly enrich: number;
  readonly timeseriesWriter: number;
  readonly bridge: number;
  readonly api: number;
  readonly deployTime: number;
  readonly total: number;
}

/** The most concurrent executions the environment's settings allow at once. */
export function concurrencyDemand(config: EnvironmentConfig): ConcurrencyDemand {
  const enrich = config.consumers.enrich.maximumPollers * KAFKA_INVOCATIONS_PER_POLLER;
  const timeseriesWriter = config.consumers.timeseriesWriter.maximumPollers * KAFKA_INVOCATIONS_PER_POLLER;
  const bridge = config.ingest.maxConcurrency;
  // The API is throttled at throttleRateLimit requests/s; at a quarter second each that is the
  // concurrency it holds (Little's law), at least one.
  const api = Math.max(1, Math.ceil(config.api.throttleRateLimit * API_DURATION_SECONDS_ESTIMATE));
  const total = enrich + timeseriesWriter + bridge + api + DEPLOY_TIME_FUNCTIONS;
  return { enrich, timeseriesWriter, bridge, api, deployTime: DEPLOY_TIME_FUNCTIONS, total };
}

export async function checkLambdaConcurrency(
  clients: Pick<PreflightClients, 'lambda'>,
  { config, region }: PreflightContext,
): Promise<CheckResult> {
  let limit: number | undefined;
  let unreserved: number | undefined;
  try {
    const answer = await clients.lambda.send(new GetAccountSettingsCommand({}));
    limit = answer.AccountLimit?.ConcurrentExecutions;
    unreserved = answer.AccountLimit?.UnreservedConcurrentExecutions;
  } catch (error) {
    return unexpected(CONCURRENCY, error, 'lambda:GetAccountSettings');
  }
  if (limit === undefined || unreserved === undefined) {
    return {
      name: CONCURRENCY,
      status: 'fail',
      detail: 'GetAccountSettings answered no concurrency limit',
      fix: 'retry',
    };
  }
  const demand = concurrencyDemand(config);
  const breakdown =
    `enrich ${config.consumers.enrich.maximumPollers} pollers x ${KAFKA_INVOCATIONS_PER_POLLER} = ${demand.enrich}, ` +
    `writer ${config.consumers.timeseriesWriter.maximumPollers} x ${KAFKA_INVOCATIONS_PER_POLLER} = ${demand.timeseriesWriter}, ` +
    `bridge maxConcurrency ${demand.bridge}, API ~${demand.api}, deploy-time ${demand.deployTime}`;
  if (demand.total > unreserved) {
    return {
      name: CONCURRENCY,
      status: 'fail',
      detail: `the environment can use ${demand.total} concurrent executions (${breakdown}); the account has ${unreserved} unreserved of ${limit}`,
      fix:
        `request a higher "Concurrent executions" quota (Service Quotas, Lambda, ${LAMBDA_CONCURRENCY_QUOTA_CODE}) in ${region}: ` +
        `aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${LAMBDA_CONCURRENCY_QUOTA_CODE} --desired-value ${Math.max(1000, demand.total + 100)}; ` +
        'or lower consumers.*.maximumPollers and ingest.maxConcurrency in cdk.json',
    };
  }
  return {
    name: CONCURRENCY,
    status: 'pass',
    detail: `needs up to ${demand.total} (${breakdown}); ${unreserved} unreserved of ${limit}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// MSK Serverless and the VPC's availability zones

const MSK_ZONES = 'MSK Serverless availability zones';

/** How many zones the VPC spans (maxAzs in infra/lib/constructs/network.ts). */
export const VPC_ZONE_COUNT = 2;

/**
 * Regions where MSK Serverless runs (https://docs.aws.amazon.com/msk/latest/developerguide/serverless.html,
 * stored copy of the Japanese page; a newer region missing here fails the check with a pointer to it).
 */
export const MSK_SERVERLESS_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'ca-central-1',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'eu-central-1',
  'eu-north-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
];

/**
 * Zone ids MSK cannot place client subnets in: "Client subnets can't occupy the Availability Zone with
 * ID use1-az3" (AWS::MSK::Cluster BrokerNodeGroupInfo.ClientSubnets,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-msk-cluster-brokernodegroupinfo.html,
 * and the CreateCluster API reference). The stored MSK Serverless pages give no list of their own, so
 * the same exclusion is applied to the serverless cluster's subnets: a refusal there would roll the
 * Stateful stack back after the VPC is built. Zone ids, not names: names are shuffled per account.
 */
export const MSK_UNSUPPORTED_ZONE_IDS: readonly string[] = ['use1-az3'];

export interface ZoneChoice {
  readonly name: string;
  readonly id: string;
}

/**
 * The zones the stack's VPC will use. The stacks are environment-agnostic, so CDK writes
 * `Fn::Select [i, Fn::GetAZs '']`: GetAZs lists the region's zones in alphabetical order, only those
 * with a default subnet unless none has one
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getavailabilityzones.html).
 */
export function zonesTheVpcUses(
  zones: readonly ZoneChoice[],
  zonesWithDefaultSubnet: ReadonlySet<string>,
): ZoneChoice[] {
  const withDefault = zones.filter((zone) => zonesWithDefaultSubnet.has(zone.name));
  const candidates = withDefault.length > 0 ? withDefault : zones;
  return [...candidates].sort((a, b) => a.name.localeCompare(b.name)).slice(0, VPC_ZONE_COUNT);
}

export async function checkMskZones(
  clients: Pick<PreflightClients, 'ec2'>,
  { region }: PreflightContext,
): Promise<CheckResult> {
  if (!MSK_SERVERLESS_REGIONS.includes(region)) {
    return {
      name: MSK_ZONES,
      status: 'fail',
      detail: `MSK Serverless is not listed for ${region}`,
      fix: `deploy to one of ${MSK_SERVERLESS_REGIONS.join(', ')} (set region in cdk.json or AWS_REGION), or check https://docs.aws.amazon.com/msk/latest/developerguide/serverless.html for a newer list`,
    };
  }
  let zones: ZoneChoice[];
  const withDefaultSubnet = new Set<string>();
  try {
    const answer = await clients.ec2.send(
      new DescribeAvailabilityZonesCommand({
        Filters: [
          { Name: 'zone-type', Values: ['availability-zone'] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
    );
    zones = (answer.AvailabilityZones ?? []).flatMap((zone) =>
      zone.ZoneName && zone.ZoneId ? [{ name: zone.ZoneName, id: zone.ZoneId }] : [],
    );
    const subnets = await clients.ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }),
    );
    for (const subnet of subnets.Subnets ?? []) {
      if (subnet.AvailabilityZone) withDefaultSubnet.add(subnet.AvailabilityZone);
    }
  } catch (error) {
    return unexpected(MSK_ZONES, error, 'ec2:DescribeAvailabilityZones and ec2:DescribeSubnets');
  }
  const chosen = zonesTheVpcUses(zones, withDefaultSubnet);
  const described = chosen.map((zone) => `${zone.name} (${zone.id})`).join(', ');
  if (chosen.length < VPC_ZONE_COUNT) {
    return {
      name: MSK_ZONES,
      status: 'fail',
      detail: `the VPC needs ${VPC_ZONE_COUNT} zones; ${region} offers ${chosen.length} (${described || 'none'})`,
      fix: 'deploy to a region with at least two availability zones',
    };
  }
  const unsupported = chosen.filter((zone) => MSK_UNSUPPORTED_ZONE_IDS.includes(zone.id));
  if (unsupported.length > 0) {
    const names = unsupported.map((zone) => `${zone.name} (${zone.id})`).join(', ');
    return {
      name: MSK_ZONES,
      status: 'fail',
      detail: `the VPC would use ${described}; MSK does not support ${names}`,
      fix:
        `the stack takes the first ${VPC_ZONE_COUNT} zones of Fn::GetAZs (alphabetical, only zones with a default subnet): ` +
        `delete the default subnet in ${unsupported.map((zone) => zone.name).join(', ')} (aws ec2 describe-subnets --filters Name=default-for-az,Values=true), ` +
        'or keep a default subnet in two other zones that sort first, or deploy to another region',
    };
  }
  return { name: MSK_ZONES, status: 'pass', detail: `the VPC will use ${described}` };
}

// ---------------------------------------------------------------------------------------------------
// IoT Core

const IOT = 'IoT Core data endpoint';

export async function checkIotEndpoint(
  clients: Pick<PreflightClients, 'iot'>,
  { region }: PreflightContext,
): Promise<CheckResult> {
  try {
    const answer = await clients.iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
    if (!answer.endpointAddress) {
      return {
        name: IOT,
        status: 'fail',
        detail: 'DescribeEndpoint answered no address',
        fix: `open the IoT Core console once in ${region}, then retry`,
      };
    }
    return { name: IOT, status: 'pass', detail: `devices connect to ${answer.endpointAddress}:8883` };
  } catch (error) {
    return unexpected(IOT, error, 'iot:DescribeEndpoint');
  }
}

// ---------------------------------------------------------------------------------------------------
// Cognito hosted UI domain

const COGNITO = 'Cognito domain prefix';

/**
 * The hosted UI's domain prefix, as infra/lib/constructs/api.ts builds it (`iot-cloud-<env>-<account>`).
 * Prefixes are unique per region across all accounts.
 */
export function cognitoDomainPrefix(environment: string, accountId: string): string {
  return `iot-cloud-${environment}-${accountId}`;
}

export async function checkCognitoDomain(
  clients: Pick<PreflightClients, 'cognito'>,
  { config, accountId, region }: PreflightContext,
): Promise<CheckResult> {
  const prefix = cognitoDomainPrefix(config.name, accountId);
  try {
    const answer = await clients.cognito.send(new DescribeUserPoolDomainCommand({ Domain: prefix }));
    const owner = answer.DomainDescription;
    // An unused prefix answers an empty DomainDescription.
    if (!owner?.UserPoolId) {
      return { name: COGNITO, status: 'pass', detail: `${prefix}.auth.${region}.amazoncognito.com is free` };
    }
    if (owner.AWSAccountId === accountId) {
      return {
        name: COGNITO,
        status: 'pass',
        detail: `${prefix} belongs to this account's pool ${owner.UserPoolId} (an earlier deploy of ${config.name})`,
      };
    }
    return {
      name: COGNITO,
      status: 'fail',
      detail: `${prefix} is taken by another account's user pool`,
      fix: 'choose another environment name or region; the prefix is iot-cloud-<env>-<account id> (infra/lib/constructs/api.ts)',
    };
  } catch (error) {
    return unexpected(COGNITO, error, 'cognito-idp:DescribeUserPoolDomain');
  }
}

export const CHECKS = [
  checkTimestream,
  checkLambdaConcurrency,
  checkMskZones,
  checkIotEndpoint,
  checkCognitoDomain,
] as const;

export async function runChecks(
  clients: PreflightClients,
  context: PreflightContext,
): Promise<CheckResult[]> {
  return Promise.all(CHECKS.map((check) => check(clients, context)));
}

export function formatResults(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.status.toUpperCase().padEnd(4)}  ${result.name}: ${result.detail}`);
    if (result.status === 'fail' && result.fix) lines.push(`      fix: ${result.fix}`);
  }
  const failed = results.filter((result) => result.status === 'fail').length;
  lines.push(failed === 0 ? 'preflight passed' : `preflight failed: ${failed} check(s)`);
  return lines.join('\n');
}
