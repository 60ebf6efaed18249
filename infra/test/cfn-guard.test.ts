/**
 * cfn-guard over the synthesized prod templates (the strictest environment): every finding of the
 * Control Tower proactive controls is either one of ACCEPTED_GUARD_FINDINGS (each with its reason) or
 * a failure. The list cannot go stale: an accepted rule that no longer fires fails too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { addEnvironment } from '../lib/app.js';
import { ACCEPTED_GUARD_FINDINGS } from '../lib/cfn-guard.js';
import { assemblyOutdir, environmentConfig } from './synth.js';

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

let findings: Map<string, string[]>;

beforeAll(() => {
  const outdir = assemblyOutdir('guard');
  const app = new App({
    outdir,
    context: { '@aws-cdk/core:defaultCrossStackReferences': 'strong' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator());
  addEnvironment(app, environmentConfig('prod'));
  try {
    app.synth();
  } catch {
    // A failed validation still writes its report; the assertions below read it.
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  const guard = report.pluginReports.find((plugin) => plugin.pluginName === 'cdk-validator-cfnguard');
  findings = new Map(
    (guard?.violations ?? []).map((violation) => [
      violation.ruleName,
      violation.violatingConstructs.map((construct) => construct.constructPath),
    ]),
  );
}, 480_000);

describe('cfn-guard (Control Tower proactive controls)', () => {
  it('finds nothing beyond the accepted, explained controls', () => {
    const unexpected = [...findings.keys()].filter((rule) => !(rule in ACCEPTED_GUARD_FINDINGS));

    expect(Object.fromEntries(unexpected.map((rule) => [rule, findings.get(rule)]))).toEqual({});
  });

  it('accepts no control that no longer fires', () => {
    const stale = Object.keys(ACCEPTED_GUARD_FINDINGS).filter((rule) => !findings.has(rule));

    expect(stale).toEqual([]);
  });
});
