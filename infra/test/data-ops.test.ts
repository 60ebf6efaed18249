/**
 * The data-ops function (issue 16) in the synthesized stacks: in the VPC with reserved concurrency 2,
 * no retries of asynchronous invocations, its IAM statements exactly (operations table, the topics,
 * the throwaway groups, no `kafka-cluster:*`, the failed-records bucket under Lambda's prefix only),
 * an alarm on its errors, the API allowed to invoke only it and only read the operations table, the
 * operations table in the stateful stack, and cdk-nag clean.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/lambda/environment.js';
import { TABLE_NAME_ENV, TABLES } from '../../functions/shared/tables.js';
import { DATA_OPS_RESERVED_CONCURRENCY } from '../lib/constructs/data-ops.js';
import {
  asArray,
  functionVariables,
  policyStatements,
  resourcesOf,
  type SynthesizedEnvironment,
  synthesizeEnvironment,
} from './synth.js';

let env: SynthesizedEnvironment;

beforeAll(() => {
  env = synthesizeEnvironment('dev');
}, 240_000);

const DESCRIPTION = /^Dead-letter triage, redrive and replay/;

const dataOpsFunction = () => {
  const found = Object.entries(resourcesOf(env.platformTemplate, 'AWS::Lambda::Function')).find(([, r]) =>
    DESCRIPTION.test(String(r.Properties?.Description ?? '')),
  );
  if (!found) throw new Error('no data-ops function');
  return found;
};

/** A statement as compared here: actions sorted, resources as the template writes them. */
const statementsOf = (policyPrefix: string) =>
  policyStatements(env.platformTemplate)
    .filter(({ policy }) => policy.startsWith(policyPrefix))
    .map(({ statement }) => ({
      actions: asArray(statement.Action as string | string[]).sort(),
      resources: asArray(statement.Resource as unknown),
    }));

const text = (value: unknown) => JSON.stringify(value);

describe('data-ops function', () => {
  it('runs in the VPC with reserved concurrency and no asynchronous retries', () => {
    const [logicalId, resource] = dataOpsFunction();
    const vpcConfig = resource.Properties?.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
    expect(vpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(text(vpcConfig.SecurityGroupIds)).toContain('KafkaClientSecurityGroup');
    expect(resource.Properties?.ReservedConcurrentExecutions).toBe(DATA_OPS_RESERVED_CONCURRENCY);
    expect(resource.Properties?.Timeout).toBe(900);
    env.platformTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
    });
    expect(Object.keys(functionVariables(env.platformTemplate, DESCRIPTION))).toEqual(
      expect.arrayContaining([ENV.kafkaBootstrapBrokers, TABLE_NAME_ENV.operations, ENV.failedRecordsBucket]),
    );
  });

  it('has exactly the statements its entry lists', () => {
    const statements = statementsOf('DataOpsHandler').filter(
      (s) => !s.actions.some((action) => action.startsWith('xray:')),
    );
    const summary = statements.map((s) => ({
      actions: s.actions,
      resources: s.resources.map((resource) => {
        const json = text(resource);
        if (json.includes('Registryoperations')) return 'operations table';
        if (json.includes(':topic/')) return `topic ${/\/(iot\.[a-z]+)"/.exec(json)?.[1]}`;
        if (json.includes(':group/')) return `group ${/\/([a-z-]+-\*)"/.exec(json)?.[1]}`;
        if (json.includes('FailedRecordsBucketArn'))
          return json.includes('/aws/lambda/*') ? 'failed records aws/lambda/*' : 'failed-records bucket';
        // The cluster ARN itself, read from SSM at deploy time.
        if (/^\{"Ref":"SsmParameterValue[a-z]+streamclusterarn/.test(json)) return 'cluster';
        return json;
      }),
    }));
    expect(summary).toEqual([
      {
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: ['operations table'],
      },
      { actions: ['kafka-cluster:Connect'], resources: ['cluster'] },
      { actions: ['kafka-cluster:WriteDataIdempotently'], resources: ['cluster'] },
      {
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: ['topic iot.raw', 'topic iot.enriched'],
      },
      {
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
        resources: ['topic iot.dlq', 'topic iot.raw', 'topic iot.enriched'],
      },
      { actions: ['s3:ListBucket'], resources: ['failed-records bucket'] },
      { actions: ['s3:GetObject'], resources: ['failed records aws/lambda/*'] },
      {
        actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
        resources: ['group iot-cloud-data-ops-*'],
      },
    ]);
    expect(text(statements)).not.toContain('kafka-cluster:*');
  });

  it('lists the failed-records bucket only under the on-failure prefix', () => {
    const listing = policyStatements(env.platformTemplate).filter(
      ({ policy, statement }) => policy.startsWith('DataOpsHandler') && statement.Action === 's3:ListBucket',
    );
    expect(listing.map(({ statement }) => statement.Condition)).toEqual([
      { StringLike: { 's3:prefix': ['aws/lambda/*'] } },
    ]);
  });

  it("alarms on the data-ops function's errors, to the alarm topic", () => {
    const [logicalId] = dataOpsFunction();
    env.platformTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    });
  });

  it('lets the API invoke only the data-ops function and only read the operations table', () => {
    const [logicalId] = dataOpsFunction();
    const api = statementsOf('ApiHandler');
    const invokes = api.filter((s) => s.actions.some((action) => action.startsWith('lambda:')));
    expect(invokes).toEqual([
      { actions: ['lambda:InvokeFunction'], resources: [{ 'Fn::GetAtt': [logicalId, 'Arn'] }] },
    ]);
    const onOperations = api.filter((s) => text(s.resources).includes('Registryoperations'));
    expect(onOperations.map((s) => s.actions)).toEqual([['dynamodb:GetItem']]);
    expect(Object.keys(functionVariables(env.platformTemplate, /HTTP API/))).toEqual(
      expect.arrayContaining([ENV.dataOpsFunctionName, TABLE_NAME_ENV.operations]),
    );
  });

  it('keeps the operations table in the stateful stack, declared as functions/shared/tables.ts says', () => {
    const tables = Object.entries(resourcesOf(env.statefulTemplate, 'AWS::DynamoDB::Table')).filter(([id]) =>
      id.includes('Registryoperations'),
    );
    expect(tables).toHaveLength(1);
    const properties = tables[0]?.[1].Properties ?? {};
    expect(properties.KeySchema).toEqual([
      { AttributeName: TABLES.operations.partitionKey.name, KeyType: 'HASH' },
    ]);
    expect(properties.TimeToLiveSpecification).toEqual({
      AttributeName: TABLES.operations.timeToLiveAttribute,
      Enabled: true,
    });
  });

  it('leaves cdk-nag with nothing unacknowledged', () => {
    const report = env.nag.validateScope(env.app);

    expect(
      report.violations.map((violation) =>
        `${violation.ruleName} ${JSON.stringify(violation)}`.slice(0, 600),
      ),
    ).toEqual([]);
  });
});
