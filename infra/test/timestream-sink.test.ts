/**
 * An environment whose `timeseries.sink` is `timestream` (a test configuration: no cdk.json environment
 * uses it): the LiveAnalytics resources come back, with the cell from the required setting, and
 * magnetic-store rejections raise a metric and an alarm.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/lambda/environment.js';
import { REJECTED_RECORDS_PREFIX } from '../lib/constructs/timeseries.js';
import {
  functionVariables,
  policyStatements,
  resourcesOf,
  type SynthesizedEnvironment,
  synthesizeEnvironment,
} from './synth.js';

const TIMESTREAM = { memoryRetentionHours: 24, magneticRetentionDays: 30, ingestCell: 'cell2' };
let env: SynthesizedEnvironment;

beforeAll(() => {
  env = synthesizeEnvironment('dev', {
    settings: { timeseries: { sink: 'timestream', timestream: TIMESTREAM } },
  });
}, 240_000);

/** An alarm's single metric (alarms on labelled metrics synthesize as `Metrics`). */
const metric = (namespace: string, name: string, dimensions: unknown) =>
  Match.objectLike({
    MetricStat: Match.objectLike({
      Metric: { Namespace: namespace, MetricName: name, Dimensions: dimensions },
    }),
  });

describe('time-series sink: timestream', () => {
  it('creates the LiveAnalytics database and table with the configured retention', () => {
    env.statefulTemplate.resourceCountIs('AWS::Timestream::Database', 1);
    env.statefulTemplate.hasResourceProperties('AWS::Timestream::Table', {
      RetentionProperties: {
        MemoryStoreRetentionPeriodInHours: String(TIMESTREAM.memoryRetentionHours),
        MagneticStoreRetentionPeriodInDays: String(TIMESTREAM.magneticRetentionDays),
      },
      MagneticStoreWriteProperties: {
        EnableMagneticStoreWrites: true,
        MagneticStoreRejectedDataLocation: {
          S3Configuration: Match.objectLike({
            BucketName: { Ref: Match.stringLikeRegexp('^FailedRecords') },
            ObjectKeyPrefix: REJECTED_RECORDS_PREFIX,
          }),
        },
      },
    });
  });

  it('keeps the logical IDs the Timestream resources always had', () => {
    const resources = env.statefulTemplate.toJSON().Resources as Record<string, { Type: string }>;

    expect(resources.TimeSeriesDatabaseF775E05D?.Type).toBe('AWS::Timestream::Database');
    expect(resources.TimeSeriesTable9C5E827A?.Type).toBe('AWS::Timestream::Table');
  });

  it('creates the ingest endpoint of the configured cell, and no DynamoDB time-series table', () => {
    env.statefulTemplate.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: {
        'Fn::Join': [
          '',
          ['com.amazonaws.', { Ref: 'AWS::Region' }, `.timestream.ingest-${TIMESTREAM.ingestCell}`],
        ],
      },
    });
    expect(Object.keys(resourcesOf(env.statefulTemplate, 'AWS::DynamoDB::Table'))).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^TimeSeriesTables/)]),
    );
    expect(JSON.stringify(env.statefulTemplate.toJSON())).not.toMatch(/\.kafka"/);
  });

  it('points the writer at the cell endpoint and lets it write to the table only', () => {
    const variables = functionVariables(env.platformTemplate, /time-series sink \(timestream\)/);
    const writes = policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith('ProcessingTimeseriesWriterFunction'))
      .map(({ statement }) => statement)
      .filter((statement) => String(statement.Action) === 'timestream:WriteRecords');

    expect(variables[ENV.timeseriesSink]).toBe('timestream');
    expect(JSON.stringify(variables[ENV.timestreamIngestEndpoint])).toContain(
      `ingest-${TIMESTREAM.ingestCell}.timestream.`,
    );
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(writes[0]?.Resource)).toContain('TimeSeriesTable');
  });

  it('runs no rollup (Timestream aggregates in its queries)', () => {
    expect(
      Object.values(resourcesOf(env.platformTemplate, 'AWS::Lambda::Function')).filter((resource) =>
        String(resource.Properties?.Description).startsWith('Hourly rollups'),
      ),
    ).toEqual([]);
  });

  it('sends the failed-records bucket events to EventBridge and matches the rejection reports', () => {
    env.statefulTemplate.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: Match.objectLike({ EventBridgeConfiguration: {} }),
    });
    env.statefulTemplate.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: Match.stringLikeRegexp('^FailedRecords') }] },
          object: { key: [{ prefix: REJECTED_RECORDS_PREFIX }] },
        },
      },
    });
  });

  it('alarms on the rule matching a rejection report', () => {
    const rule = env.statefulTemplate.getResourceId('AWS::Events::Rule', {
      Properties: Match.objectLike({ EventPattern: Match.objectLike({ source: ['aws.s3'] }) }),
    });
    env.platformTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        metric('AWS/Events', 'MatchedEvents', [
          {
            Name: 'RuleName',
            Value: Match.objectLike({ 'Fn::ImportValue': Match.stringLikeRegexp(`Ref${rule}`) }),
          },
        ]),
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    });
  });

  it('alarms on records the writer saw rejected', () => {
    env.platformTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [metric('IotCloud', 'TimestreamRejectedRecords', Match.anyValue())],
    });
  });

  it('passes cdk-nag AwsSolutions without unacknowledged findings', () => {
    expect(env.nag.validateScope(env.app).violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});
