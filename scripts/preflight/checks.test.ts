import {
  CognitoIdentityProviderClient,
  DescribeUserPoolDomainCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { DescribeAvailabilityZonesCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeEndpointCommand, IoTClient } from '@aws-sdk/client-iot';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  AccessDeniedException,
  DescribeEndpointsCommand,
  TimestreamWriteClient,
} from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type EnvironmentConfig, environmentConfigSchema } from '../../infra/lib/config.js';
import { environmentConfig } from '../../infra/test/synth.js';
import {
  checkCognitoDomain,
  checkIotEndpoint,
  checkLambdaConcurrency,
  checkMskZones,
  checkTimestream,
  concurrencyDemand,
  formatResults,
  type PreflightClients,
  type PreflightContext,
  runChecks,
  zonesTheVpcUses,
} from './checks.js';

const timestream = mockClient(TimestreamWriteClient);
const lambda = mockClient(LambdaClient);
const ec2 = mockClient(EC2Client);
const iot = mockClient(IoTClient);
const cognito = mockClient(CognitoIdentityProviderClient);

const clients: PreflightClients = {
  timestream: new TimestreamWriteClient({ region: 'us-east-1' }),
  lambda: new LambdaClient({ region: 'us-east-1' }),
  ec2: new EC2Client({ region: 'us-east-1' }),
  iot: new IoTClient({ region: 'us-east-1' }),
  cognito: new CognitoIdentityProviderClient({ region: 'us-east-1' }),
};

const dev = environmentConfig('dev');
const ACCOUNT = '123456789012';
const context = (config: EnvironmentConfig = dev, region = 'us-east-1'): PreflightContext => ({
  config,
  region,
  accountId: ACCOUNT,
});

function withTimestream(cell: string): EnvironmentConfig {
  const { name: _name, platformVersion: _version, ...input } = dev;
  const parsed = environmentConfigSchema.parse({
    ...input,
    timeseries: {
      sink: 'timestream',
      timestream: { memoryRetentionHours: 24, magneticRetentionDays: 365, ingestCell: cell },
    },
  });
  return { ...parsed, name: 'dev', platformVersion: 'test' };
}

const US_EAST_1_ZONES = [
  { ZoneName: 'us-east-1a', ZoneId: 'use1-az6' },
  { ZoneName: 'us-east-1b', ZoneId: 'use1-az1' },
  { ZoneName: 'us-east-1c', ZoneId: 'use1-az3' },
  { ZoneName: 'us-east-1d', ZoneId: 'use1-az2' },
];
const defaultSubnetsIn = (...zones: string[]) => ({
  Subnets: zones.map((zone, i) => ({ SubnetId: `subnet-${i}`, AvailabilityZone: zone, DefaultForAz: true })),
});

beforeEach(() => {
  for (const mock of [timestream, lambda, ec2, iot, cognito]) mock.reset();
});

describe('checkTimestream', () => {
  it('skips when the sink is dynamodb, without calling Timestream', async () => {
    const result = await checkTimestream(clients, context());

    expect(result.status).toBe('skip');
    expect(timestream.calls()).toHaveLength(0);
  });

  it('fails with the DynamoDB sink as the fix when the account is refused LiveAnalytics', async () => {
    timestream.on(DescribeEndpointsCommand).rejects(
      new AccessDeniedException({
        message: 'Only existing Timestream for LiveAnalytics customers can access the service',
        Message: 'Only existing Timestream for LiveAnalytics customers can access the service',
        $metadata: {},
      }),
    );

    const result = await checkTimestream(clients, context(withTimestream('cell1')));

    expect(result.status).toBe('fail');
    expect(result.detail).toContain('Only existing Timestream for LiveAnalytics customers');
    expect(result.fix).toContain('timeseries.sink to "dynamodb"');
  });

  it('fails and prints the right cell when the configured cell is not the account cell', async () => {
    timestream.on(DescribeEndpointsCommand).resolves({
      Endpoints: [{ Address: 'ingest-cell2.timestream.us-east-1.amazonaws.com', CachePeriodInMinutes: 1440 }],
    });

    const result = await checkTimestream(clients, context(withTimestream('cell1')));

    expect(result.status).toBe('fail');
    expect(result.detail).toContain('cell2');
    expect(result.fix).toContain('ingestCell to "cell2"');
  });

  it('passes when the configured cell is the account cell', async () => {
    timestream.on(DescribeEndpointsCommand).resolves({
      Endpoints: [{ Address: 'ingest-cell2.timestream.us-east-1.amazonaws.com', CachePeriodInMinutes: 1440 }],
    });

    const result = await checkTimestream(clients, context(withTimestream('cell2')));

    expect(result.status).toBe('pass');
  });

  it('fails when the endpoint names no cell', async () => {
    timestream.on(DescribeEndpointsCommand).resolves({ Endpoints: [] });

    const result = await checkTimestream(clients, context(withTimestream('cell1')));

    expect(result.status).toBe('fail');
  });
});

describe('checkLambdaConcurrency', () => {
  it('counts five invocations per Kafka poller, the bridge cap, the API and deploy-time functions', () => {
    // dev: 2 + 2 pollers, bridge 2, API 20 req/s x 0.25 s = 5, 2 custom resources.
    expect(concurrencyDemand(dev)).toEqual({
      enrich: 10,
      timeseriesWriter: 10,
      bridge: 2,
      api: 5,
      deployTime: 2,
      total: 29,
    });
  });

  it('fails with the quota request when a new account has 10 concurrent executions', async () => {
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });

    const result = await checkLambdaConcurrency(clients, context());

    expect(result.status).toBe('fail');
    expect(result.detail).toContain('29');
    expect(result.fix).toContain('L-B99A9384');
  });

  it('passes with the default 1,000', async () => {
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 },
    });

    const result = await checkLambdaConcurrency(clients, context());

    expect(result.status).toBe('pass');
  });

  it('fails naming the permission when access is denied', async () => {
    lambda
      .on(GetAccountSettingsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));

    const result = await checkLambdaConcurrency(clients, context());

    expect(result.status).toBe('fail');
    expect(result.fix).toContain('lambda:GetAccountSettings');
  });
});

describe('checkMskZones', () => {
  it('takes the first two zones alphabetically among those with a default subnet', () => {
    const zones = [
      { name: 'us-east-1c', id: 'use1-az3' },
      { name: 'us-east-1a', id: 'use1-az6' },
      { name: 'us-east-1b', id: 'use1-az1' },
    ];

    expect(zonesTheVpcUses(zones, new Set(['us-east-1c', 'us-east-1b'])).map((z) => z.name)).toEqual([
      'us-east-1b',
      'us-east-1c',
    ]);
    expect(zonesTheVpcUses(zones, new Set()).map((z) => z.name)).toEqual(['us-east-1a', 'us-east-1b']);
  });

  it('passes when neither chosen zone is excluded', async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: US_EAST_1_ZONES });
    ec2.on(DescribeSubnetsCommand).resolves(defaultSubnetsIn('us-east-1a', 'us-east-1b', 'us-east-1c'));

    const result = await checkMskZones(clients, context());

    expect(result.status).toBe('pass');
    expect(result.detail).toContain('us-east-1a (use1-az6), us-east-1b (use1-az1)');
  });

  it('fails when the VPC would land in use1-az3, naming the zone and the fix', async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: US_EAST_1_ZONES });
    ec2.on(DescribeSubnetsCommand).resolves(defaultSubnetsIn('us-east-1b', 'us-east-1c'));

    const result = await checkMskZones(clients, context());

    expect(result.status).toBe('fail');
    expect(result.detail).toContain('us-east-1c (use1-az3)');
    expect(result.fix).toContain('delete the default subnet in us-east-1c');
  });

  it('fails in a region without MSK Serverless, before asking EC2', async () => {
    const result = await checkMskZones(clients, context(dev, 'us-west-1'));

    expect(result.status).toBe('fail');
    expect(ec2.calls()).toHaveLength(0);
  });

  it('fails when fewer than two zones are available', async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: US_EAST_1_ZONES.slice(0, 1) });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [] });

    const result = await checkMskZones(clients, context());

    expect(result.status).toBe('fail');
  });

  it('fails naming the permissions when EC2 refuses', async () => {
    ec2
      .on(DescribeAvailabilityZonesCommand)
      .rejects(Object.assign(new Error('no'), { name: 'UnauthorizedOperation' }));

    const result = await checkMskZones(clients, context());

    expect(result.status).toBe('fail');
    expect(result.fix).toContain('ec2:DescribeAvailabilityZones');
  });
});

describe('checkIotEndpoint', () => {
  it('passes with the ATS data endpoint', async () => {
    iot
      .on(DescribeEndpointCommand, { endpointType: 'iot:Data-ATS' })
      .resolves({ endpointAddress: 'abc123-ats.iot.us-east-1.amazonaws.com' });

    const result = await checkIotEndpoint(clients, context());

    expect(result.status).toBe('pass');
    expect(result.detail).toContain('abc123-ats.iot.us-east-1.amazonaws.com');
  });

  it('fails when no address comes back', async () => {
    iot.on(DescribeEndpointCommand).resolves({});

    expect((await checkIotEndpoint(clients, context())).status).toBe('fail');
  });

  it('fails when the call is refused', async () => {
    iot
      .on(DescribeEndpointCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

    const result = await checkIotEndpoint(clients, context());

    expect(result.status).toBe('fail');
    expect(result.fix).toContain('iot:DescribeEndpoint');
  });
});

describe('checkCognitoDomain', () => {
  it('asks for the prefix the stack uses and passes when it is free', async () => {
    cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: {} });

    const result = await checkCognitoDomain(clients, context());

    expect(result.status).toBe('pass');
    expect(cognito.commandCalls(DescribeUserPoolDomainCommand)[0]?.args[0].input).toEqual({
      Domain: `iot-cloud-dev-${ACCOUNT}`,
    });
  });

  it("passes when the prefix is this account's own pool", async () => {
    cognito
      .on(DescribeUserPoolDomainCommand)
      .resolves({ DomainDescription: { UserPoolId: 'us-east-1_abc', AWSAccountId: ACCOUNT } });

    expect((await checkCognitoDomain(clients, context())).status).toBe('pass');
  });

  it('fails when another account holds the prefix', async () => {
    cognito
      .on(DescribeUserPoolDomainCommand)
      .resolves({ DomainDescription: { UserPoolId: 'us-east-1_xyz', AWSAccountId: '999999999999' } });

    expect((await checkCognitoDomain(clients, context())).status).toBe('fail');
  });

  it('fails when the call is refused', async () => {
    cognito
      .on(DescribeUserPoolDomainCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

    expect((await checkCognitoDomain(clients, context())).status).toBe('fail');
  });
});

describe('runChecks', () => {
  it('reports every check and a failure summary', async () => {
    lambda.on(GetAccountSettingsCommand).resolves({
      AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 },
    });
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: US_EAST_1_ZONES });
    ec2.on(DescribeSubnetsCommand).resolves(defaultSubnetsIn('us-east-1a', 'us-east-1b'));
    iot.on(DescribeEndpointCommand).resolves({ endpointAddress: 'abc-ats.iot.us-east-1.amazonaws.com' });
    cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: {} });

    const results = await runChecks(clients, context());
    const output = formatResults(results);

    expect(results.map((r) => r.status)).toEqual(['skip', 'fail', 'pass', 'pass', 'pass']);
    expect(output).toContain('fix: request a higher "Concurrent executions" quota');
    expect(output).toMatch(/preflight failed: 1 check\(s\)$/);
  });
});
