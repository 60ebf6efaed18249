/**
 * The no-data evaluator (issue 15) in the synthesized platform stack: a one-minute EventBridge
 * Scheduler schedule on its function, a Scheduler role that may invoke only that function, the
 * function's DynamoDB actions exactly as its entry lists them (nothing of the time-series sink),
 * outside the VPC, and cdk-nag clean.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_NAME_ENV } from '../../functions/shared/tables.js';
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

const noDataFunction = () => {
  const found = Object.entries(resourcesOf(env.platformTemplate, 'AWS::Lambda::Function')).find(([, r]) =>
    String(r.Properties?.Description ?? '').startsWith('Raises and clears no-data alerts'),
  );
  if (!found) throw new Error('no no-data function');
  return found;
};

describe('no-data evaluator', () => {
  it('runs the function once a minute through EventBridge Scheduler', () => {
    const [logicalId] = noDataFunction();

    env.platformTemplate.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] },
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
      }),
    });
  });

  it('lets the scheduler role invoke only this function', () => {
    const [logicalId] = noDataFunction();
    const invokes = policyStatements(env.platformTemplate)
      .map(({ statement }) => statement)
      .filter((statement) => asArray(statement.Action as string[]).includes('lambda:InvokeFunction'))
      .filter((statement) => JSON.stringify(statement.Resource).includes(logicalId));

    expect(invokes.length).toBeGreaterThan(0);
    for (const statement of invokes) {
      expect(JSON.stringify(statement.Resource)).not.toContain('"*"');
    }
  });

  it('grants the alerts table exactly the actions of its entry', () => {
    const onAlerts = policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith('NoDataEvaluatorHandler'))
      .map(({ statement }) => statement)
      .filter((statement) => JSON.stringify(statement.Resource).includes('Registryalerts'));

    expect(onAlerts.flatMap((s) => asArray(s.Action as string[])).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
  });

  it('reads its tables through the shared variables and runs outside the VPC', () => {
    const [, resource] = noDataFunction();
    const variables = functionVariables(env.platformTemplate, /^Raises and clears no-data alerts/);

    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([TABLE_NAME_ENV.devices, TABLE_NAME_ENV.alerts, TABLE_NAME_ENV.deviceTypes]),
    );
    expect(resource.Properties?.VpcConfig).toBeUndefined();
  });

  it('reads nothing of the time-series sink: reading-level rules use the device records (issue 15)', () => {
    const statements = policyStatements(env.platformTemplate)
      .filter(({ policy }) => policy.startsWith('NoDataEvaluatorHandler'))
      .map(({ statement }) => statement);
    const variables = functionVariables(env.platformTemplate, /^Raises and clears no-data alerts/);

    expect(statements.length).toBeGreaterThan(0);
    expect(JSON.stringify(statements)).not.toMatch(/TimeSeries|timestream:/);
    expect(Object.keys(variables).filter((name) => /^TIMESERIES_|^TIMESTREAM_/.test(name))).toEqual([]);
  });

  it('leaves cdk-nag with nothing unacknowledged', () => {
    const report = env.nag.validateScope(env.app);

    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});
