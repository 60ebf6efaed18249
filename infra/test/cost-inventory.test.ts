/**
 * `npm run cost` prices the stacks from the environment's settings and the shared declarations
 * (scripts/cost/inventory.ts, LAMBDA_SIZING), not from a synthesized template: these tests pin those
 * figures to the templates the two sinks synthesize, so the estimate cannot price a different stack
 * from the one deployed (a new alarm, table or function changes a count here first).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_SIZING } from '../../functions/shared/lambda-sizing.js';
import { stackInventory } from '../../scripts/cost/inventory.js';
import { resourcesOf, type SynthesizedEnvironment, synthesizeEnvironment } from './synth.js';

const TIMESTREAM = { memoryRetentionHours: 24, magneticRetentionDays: 365, ingestCell: 'cell1' };

/** The description each sized function's construct gives it. */
const DESCRIPTIONS: Readonly<Record<keyof typeof LAMBDA_SIZING, RegExp>> = {
  ingestBridge: /^SQS buffer to the iot\.raw/,
  enrich: /^iot\.raw to iot\.enriched/,
  timeseriesWriter: /^iot\.enriched to the time-series sink/,
  api: /^HTTP API/,
  notifier: /^Sends alert raises and clears/,
  noData: /^Raises and clears no-data alerts/,
  timeseriesRollup: /^Hourly rollups/,
  dataOps: /^Dead-letter triage/,
};

let dynamo: SynthesizedEnvironment;
let timestream: SynthesizedEnvironment;

beforeAll(() => {
  dynamo = synthesizeEnvironment('dev');
  timestream = synthesizeEnvironment('dev', {
    settings: { timeseries: { sink: 'timestream', timestream: TIMESTREAM } },
  });
}, 480_000);

const both = () =>
  [
    ['dynamodb', dynamo],
    ['timestream', timestream],
  ] as const;

const count = (env: SynthesizedEnvironment, type: string) =>
  Object.keys(resourcesOf(env.statefulTemplate, type)).length +
  Object.keys(resourcesOf(env.platformTemplate, type)).length;

const tables = (env: SynthesizedEnvironment) => [
  ...Object.values(resourcesOf(env.statefulTemplate, 'AWS::DynamoDB::Table')),
  ...Object.values(resourcesOf(env.platformTemplate, 'AWS::DynamoDB::Table')),
];

describe('the cost inventory matches the synthesized stacks', () => {
  it('counts the alarms, dashboards and customer-managed keys the stacks create', () => {
    for (const [sink, env] of both()) {
      const inventory = stackInventory(env.config);

      expect(count(env, 'AWS::CloudWatch::Alarm'), sink).toBe(inventory.alarms);
      expect(count(env, 'AWS::CloudWatch::Dashboard'), sink).toBe(inventory.dashboards);
      expect(count(env, 'AWS::KMS::Key'), sink).toBe(inventory.kmsKeys);
    }
  });

  it('prices every table on demand with point-in-time recovery, and the one stream', () => {
    for (const [sink, env] of both()) {
      const inventory = stackInventory(env.config);
      const synthesized = tables(env);

      expect(synthesized, sink).toHaveLength(Object.keys(inventory.tables).length);
      for (const table of synthesized) {
        expect(table.Properties?.BillingMode, sink).toBe('PAY_PER_REQUEST');
        expect(table.Properties?.PointInTimeRecoverySpecification, sink).toEqual({
          PointInTimeRecoveryEnabled: true,
        });
      }
      expect(synthesized.filter((table) => table.Properties?.StreamSpecification).length, sink).toBe(
        inventory.streamTables.length,
      );
    }
  });

  it('runs one schedule each minute and, with the dynamodb sink, one hourly rule', () => {
    for (const [sink, env] of both()) {
      const inventory = stackInventory(env.config);
      const schedules = Object.values(resourcesOf(env.platformTemplate, 'AWS::Scheduler::Schedule'));
      const rules = Object.values(resourcesOf(env.platformTemplate, 'AWS::Events::Rule')).filter(
        (rule) => rule.Properties?.ScheduleExpression !== undefined,
      );

      expect(
        schedules.filter((schedule) => schedule.Properties?.ScheduleExpression === 'rate(1 minute)'),
        sink,
      ).toHaveLength(inventory.minuteSchedules);
      expect(
        rules.map((rule) => rule.Properties?.ScheduleExpression),
        sink,
      ).toEqual(Array(inventory.hourlyRules).fill('cron(5 * * * ? *)'));
    }
  });

  it('sizes each function as LAMBDA_SIZING says, and alarms on the errors of those the model lists', () => {
    const functions = Object.values(resourcesOf(dynamo.platformTemplate, 'AWS::Lambda::Function'));
    for (const [name, description] of Object.entries(DESCRIPTIONS) as [
      keyof typeof LAMBDA_SIZING,
      RegExp,
    ][]) {
      const matches = functions.filter((fn) => description.test(String(fn.Properties?.Description)));

      expect(matches, name).toHaveLength(1);
      expect(matches[0]?.Properties?.MemorySize, name).toBe(LAMBDA_SIZING[name].memoryMb);
      expect(matches[0]?.Properties?.Timeout, name).toBe(LAMBDA_SIZING[name].timeoutSeconds);
    }
    const errorAlarms = Object.values(resourcesOf(dynamo.platformTemplate, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties?.MetricName === 'Errors',
    );
    expect(errorAlarms).toHaveLength(stackInventory(dynamo.config).alarmedFunctions.length);
  });
});
