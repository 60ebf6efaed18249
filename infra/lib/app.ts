/**
 * Builds one environment's stacks into an app: `bin/` calls this after validating the configuration,
 * and the tests call it with the same configuration, so both synthesize the same thing.
 */
import { type App, Tags } from 'aws-cdk-lib';
import type { EnvironmentConfig } from './config.js';
import { PlatformStack } from './platform-stack.js';
import { StatefulStack } from './stateful-stack.js';

export interface EnvironmentStacks {
  readonly stateful: StatefulStack;
  readonly platform: PlatformStack;
}

export function addEnvironment(app: App, config: EnvironmentConfig): EnvironmentStacks {
  const env =
    config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const prefix = `IotCloud-${config.name}`;
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    config,
    env,
    description: `IoT Cloud (${config.name}): network, MSK Serverless, DynamoDB, Timestream, buckets`,
    terminationProtection: config.removalPolicy === 'retain',
  });
  const platform = new PlatformStack(app, `${prefix}-Platform`, {
    config,
    stateful,
    env,
    description: `IoT Cloud (${config.name}): ingest, processing, API, dashboard, devices, observability`,
  });
  platform.addStackDependency(stateful);
  for (const stack of [stateful, platform]) {
    Tags.of(stack).add('project', 'iot-cloud');
    Tags.of(stack).add('environment', config.name);
  }
  return { stateful, platform };
}
