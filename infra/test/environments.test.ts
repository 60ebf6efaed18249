/**
 * Staging and prod synthesize offline too, and differ from dev where their configuration says so.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOPIC_PARTITIONS, TOPICS } from '../../functions/shared/stream.js';
import { resourcesOf, type SynthesizedEnvironment, synthesizeEnvironment } from './synth.js';

let staging: SynthesizedEnvironment;
let prod: SynthesizedEnvironment;

beforeAll(() => {
  staging = synthesizeEnvironment('staging');
  prod = synthesizeEnvironment('prod', { alarmEmail: 'ops@example.org' });
}, 480_000);

describe('prod', () => {
  it('retains every table (registry and time series) and the failed-records bucket when the stack goes', () => {
    const tables = Object.values(prod.statefulTemplate.findResources('AWS::DynamoDB::Table'));

    // Six registry tables, ingest mappings (issue 14), notifications (issue 15), operations (issue 16),
    // three time-series tables.
    expect(tables).toHaveLength(12);
    for (const resource of tables) {
      expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    prod.statefulTemplate.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('deletes the cluster with its network, so destroying the stack cannot end in DELETE_FAILED', () => {
    // A retained cluster would keep its interfaces in the subnets and security groups, and CloudFormation
    // could delete neither them nor the VPC: retention is all of them or none (constructs/stream.ts).
    for (const type of [
      'AWS::MSK::ServerlessCluster',
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::EC2::SecurityGroup',
    ]) {
      const resources = Object.values(prod.statefulTemplate.findResources(type)) as {
        DeletionPolicy?: string;
      }[];
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.DeletionPolicy ?? 'Delete').toBe('Delete');
    }
  });

  it('protects the stateful stack from deletion', () => {
    expect(prod.stateful.terminationProtection).toBe(true);
    expect(prod.platform.terminationProtection).toBe(false);
  });

  it('subscribes the alarm e-mail to the alarm topic', () => {
    prod.platformTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
    });
  });

  it('sends every alarm to the alarm topic', () => {
    const alarms = Object.values(resourcesOf(prod.platformTemplate, 'AWS::CloudWatch::Alarm'));

    expect(alarms.length).toBeGreaterThanOrEqual(8);
    for (const alarm of alarms) {
      expect(alarm.Properties?.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^ObservabilityAlarmTopic/) },
      ]);
    }
  });

  it('alarms on the offset lag of both consumers', () => {
    prod.platformTemplate.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'OffsetLag', Namespace: 'AWS/Lambda' },
      2,
    );
  });

  it('gives each mapping its own pollers (no shared poller group)', () => {
    for (const mapping of Object.values(
      resourcesOf(prod.platformTemplate, 'AWS::Lambda::EventSourceMapping'),
    )) {
      expect(JSON.stringify(mapping.Properties?.ProvisionedPollerConfig ?? {})).not.toContain(
        'PollerGroupName',
      );
    }
  });

  it('uses the shared partition counts', () => {
    const topics = Object.values(resourcesOf(prod.statefulTemplate, 'Custom::KafkaTopics'))[0]?.Properties
      ?.Topics as { Name: string; Partitions: number }[];

    expect(Object.fromEntries(topics.map((topic) => [topic.Name, topic.Partitions]))).toEqual(
      TOPIC_PARTITIONS,
    );
  });

  it('passes cdk-nag AwsSolutions without unacknowledged findings', () => {
    expect(prod.nag.validateScope(prod.app).violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe.each([
  ['staging', () => staging],
  ['prod', () => prod],
] as const)('%s on the default DynamoDB sink', (_name, environment) => {
  it('has no Timestream resource and no MSK API endpoint', () => {
    const stateful = JSON.stringify(environment().statefulTemplate.toJSON());

    expect(Object.keys(environment().statefulTemplate.findResources('AWS::Timestream::Database'))).toEqual(
      [],
    );
    expect(stateful).not.toMatch(/\.kafka"|\.timestream\./);
    environment().statefulTemplate.resourcePropertiesCountIs(
      'AWS::EC2::VPCEndpoint',
      { VpcEndpointType: 'Interface' },
      0,
    );
  });

  it('gives the DynamoDB time-series tables their TTL', () => {
    expect(
      Object.entries(environment().statefulTemplate.findResources('AWS::DynamoDB::Table'))
        .filter(([id]) => /^TimeSeriesTablestimeseries(Points|Rollups)/.test(id))
        .map(
          ([, table]) =>
            (table as { Properties: { TimeToLiveSpecification?: unknown } }).Properties
              .TimeToLiveSpecification,
        ),
    ).toEqual([
      { AttributeName: 'expiresAt', Enabled: true },
      { AttributeName: 'expiresAt', Enabled: true },
    ]);
  });
});

describe('staging', () => {
  it('destroys its data with the stack', () => {
    staging.statefulTemplate.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    staging.statefulTemplate.hasResource('AWS::MSK::ServerlessCluster', { DeletionPolicy: 'Delete' });
  });

  it('has no e-mail subscription when no alarm e-mail is configured', () => {
    staging.platformTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('keeps the raw topic retention of its configuration', () => {
    staging.statefulTemplate.hasResourceProperties('Custom::KafkaTopics', {
      Topics: Match.arrayWith([
        {
          Name: TOPICS.raw,
          Partitions: TOPIC_PARTITIONS['iot.raw'],
          ReplicationFactor: 3,
          RetentionMs: 72 * 3_600_000,
        },
      ]),
    });
  });

  it('passes cdk-nag AwsSolutions without unacknowledged findings', () => {
    expect(staging.nag.validateScope(staging.app).violations.map((violation) => violation.ruleName)).toEqual(
      [],
    );
  });
});
