/**
 * The environment of `npm run preflight` and `npm run cost`, chosen the way cdk chooses it
 * (`-c env=dev`, `--context env=dev`) and validated by the CDK app's own schema (parseEnvironments in
 * infra/lib/config.ts) from cdk.json's context, so the scripts see exactly what `cdk deploy` would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONTEXT_KEYS,
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  parseEnvironments,
} from '../infra/lib/config.js';
import { PROJECT_ROOT } from '../infra/lib/paths.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface SplitArgs {
  /** `-c key=value` / `--context key=value` pairs. */
  readonly context: Readonly<Record<string, string>>;
  /** Everything else, in order. */
  readonly rest: readonly string[];
}

/** Takes the cdk-style context pairs out of argv; the rest is left to the script's own parser. */
export function splitContextArgs(argv: readonly string[]): SplitArgs {
  const context: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    let pair: string | undefined;
    if (arg === '-c' || arg === '--context') {
      pair = argv[++i];
      if (pair === undefined) throw new UsageError(`${arg} needs key=value, e.g. ${arg} env=dev`);
    } else if (arg.startsWith('--context=')) {
      pair = arg.slice('--context='.length);
    } else {
      rest.push(arg);
      continue;
    }
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`context must be key=value (e.g. -c env=dev), got "${pair}"`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { context, rest };
}

/** Reads cdk.json and returns the one environment named by `-c env=<name>`. */
export function loadEnvironment(
  context: Readonly<Record<string, string>>,
  cdkJsonPath = join(PROJECT_ROOT, 'cdk.json'),
): EnvironmentConfig {
  const name = context[CONTEXT_KEYS.environment];
  if (name === undefined || name === 'all') {
    throw new UsageError(`choose one environment with -c env=${ENVIRONMENT_NAMES.join('|')}`);
  }
  const cdkJson = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const { version } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const [config] = parseEnvironments(cdkJson.context?.[CONTEXT_KEYS.environments], name, {
    platformVersion: version,
  });
  if (!config) throw new UsageError(`no environment "${name}" in cdk.json`);
  return config;
}
