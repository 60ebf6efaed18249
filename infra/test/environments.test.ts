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
  it('retains tables, the cluster, Timestream and the failed-records bucket when the stack goes', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::MSK::ServerlessCluster', 'AWS::Timestream::Table']) {
      for (const resource of Object.values(prod.statefulTemplate.findResources(type))) {
        expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    }
    prod.statefulTemplate.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
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
        { Name: TOPICS.raw, Partitions: TOPIC_PARTITIONS['iot.raw'], RetentionMs: 72 * 3_600_000 },
      ]),
    });
  });

  it('passes cdk-nag AwsSolutions without unacknowledged findings', () => {
    expect(staging.nag.validateScope(staging.app).violations.map((violation) => violation.ruleName)).toEqual(
      [],
    );
  });
});
