/**
 * The CDK app. The only place that reads context: `-c env=dev|staging|prod` (or `all`, to synthesize
 * every environment), validated against the schema in lib/config.ts. cdk-nag's AwsSolutions pack runs
 * on every synth and any unacknowledged finding fails it; `-c cfnGuard=true` adds cfn-guard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addEnvironment } from '../lib/app.js';
import { ACCEPTED_GUARD_RULE_FILES } from '../lib/cfn-guard.js';
import { CONTEXT_KEYS, parseEnvironments } from '../lib/config.js';
import { PROJECT_ROOT } from '../lib/paths.js';

const app = new App();
const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
const environments = parseEnvironments(
  app.node.tryGetContext(CONTEXT_KEYS.environments),
  app.node.tryGetContext(CONTEXT_KEYS.environment),
  { platformVersion: version, alarmEmail: app.node.tryGetContext(CONTEXT_KEYS.alarmEmail) },
);
for (const config of environments) addEnvironment(app, config);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
if (app.node.tryGetContext(CONTEXT_KEYS.cfnGuard) === 'true') {
  // The accepted controls are explained in lib/cfn-guard.ts; any other finding fails the synth.
  Validations.of(app).addPlugins(new CfnGuardValidator({ disabledRules: [...ACCEPTED_GUARD_RULE_FILES] }));
}
app.synth();
