/**
 * Test support: builds an environment exactly as bin/ does (the configuration of cdk.json, validated by
 * the same schema), with cdk-nag registered, and synthesizes it once per test file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type IPolicyValidationPluginBeta1, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll } from 'vitest';
import { addEnvironment, type EnvironmentStacks } from '../lib/app.js';
import {
  CONTEXT_KEYS,
  type EnvironmentConfig,
  type EnvironmentConfigInput,
  type EnvironmentName,
  parseEnvironments,
} from '../lib/config.js';
import { PROJECT_ROOT } from '../lib/paths.js';

/** The cloud assemblies this test file synthesized (about 90 MB each with their bundled assets). */
const outdirs: string[] = [];
// Registered when a test file imports this module (vitest gives each file its own module instance), so
// the assemblies stay while the file's tests read them (assets included) and go when they end.
afterAll(() => {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
});

/** A new temp directory for a cloud assembly (`iot-cloud-{name}-*`), removed after this file's tests. */
export function assemblyOutdir(name: string): string {
  const outdir = mkdtempSync(join(tmpdir(), `iot-cloud-${name}-`));
  outdirs.push(outdir);
  return outdir;
}

export function environmentConfig(
  name: EnvironmentName,
  overrides: { alarmEmail?: string; settings?: Partial<EnvironmentConfigInput> } = {},
): EnvironmentConfig {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, Record<string, object>>;
  };
  const environments = cdkJson.context[CONTEXT_KEYS.environments] ?? {};
  // Top-level settings replace cdk.json's (a test configuration, e.g. another time-series sink).
  const raw = { ...environments, [name]: { ...environments[name], ...overrides.settings } };
  const [config] = parseEnvironments(raw, name, {
    platformVersion: '0.0.0-test',
    alarmEmail: overrides.alarmEmail,
  });
  if (!config) throw new Error(`no configuration for ${name}`);
  return config;
}

export interface SynthesizedEnvironment extends EnvironmentStacks {
  readonly app: App;
  readonly config: EnvironmentConfig;
  readonly nag: AwsSolutionsChecks;
  readonly statefulTemplate: Template;
  readonly platformTemplate: Template;
}

export function synthesizeEnvironment(
  name: EnvironmentName,
  options: {
    alarmEmail?: string;
    settings?: Partial<EnvironmentConfigInput>;
    policyValidation?: IPolicyValidationPluginBeta1[];
    outdir?: string;
  } = {},
): SynthesizedEnvironment {
  const config = environmentConfig(name, { alarmEmail: options.alarmEmail, settings: options.settings });
  const app = new App({
    outdir: options.outdir ?? assemblyOutdir(name),
    policyValidationBeta1: options.policyValidation,
    context: { '@aws-cdk/core:defaultCrossStackReferences': 'strong' },
  });
  const nag = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  const stacks = addEnvironment(app, config);
  return {
    ...stacks,
    app,
    config,
    nag,
    statefulTemplate: Template.fromStack(stacks.stateful),
    platformTemplate: Template.fromStack(stacks.platform),
  };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The resources of a type, by logical ID. */
export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Every IAM policy statement of a template, with the logical ID of its policy. */
export function policyStatements(
  template: Template,
): { policy: string; statement: Record<string, unknown> }[] {
  return Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(([policy, resource]) => {
    const document = resource.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] };
    return document.Statement.map((statement) => ({ policy, statement }));
  });
}

export const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Logical IDs of the resources of a type whose properties contain `fragment` (JSON text). */
export function logicalIdsWith(template: Template, type: string, fragment: string): string[] {
  return Object.entries(resourcesOf(template, type))
    .filter(([, resource]) => JSON.stringify(resource.Properties ?? {}).includes(fragment))
    .map(([logicalId]) => logicalId);
}

/** The environment variables of the one function whose description matches `description`. */
export function functionVariables(template: Template, description: RegExp): Record<string, unknown> {
  const matches = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter((resource) =>
    description.test(String(resource.Properties?.Description)),
  );
  if (matches.length !== 1) throw new Error(`${matches.length} functions match ${description}`);
  const environment = matches[0]?.Properties?.Environment as
    | { Variables?: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}
