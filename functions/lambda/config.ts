/**
 * Reading the Lambda entries' configuration: once, at cold start, each missing or malformed value
 * reported by its variable name (the function's init fails with that message, not a later invocation
 * with an obscure one).
 */
import { parseBrokers } from '../adapters/kafka/client.js';
import { TABLE_NAME_ENV, type TableKey } from '../shared/tables.js';
import { ENV, requireEnv } from './environment.js';

/** The region Lambda runs in (set by the Lambda runtime itself). */
export const AWS_REGION_ENV = 'AWS_REGION';

export function readTableNames<K extends TableKey>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const names = {} as Record<K, string>;
  for (const key of keys) names[key] = requireEnv(TABLE_NAME_ENV[key], env);
  return names;
}

export function readBrokers(env: NodeJS.ProcessEnv = process.env): string[] {
  const value = requireEnv(ENV.kafkaBootstrapBrokers, env);
  try {
    return parseBrokers(value);
  } catch (error) {
    throw new Error(`environment variable ${ENV.kafkaBootstrapBrokers}: ${(error as Error).message}`);
  }
}

/** A whole number of seconds in [min, max]; `fallback` when the variable is not set. */
export function readSeconds(
  name: string,
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
  range: { min: number; max: number } = { min: 0, max: 86_400 },
): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < range.min || seconds > range.max) {
    throw new Error(
      `environment variable ${name} must be a whole number of seconds from ${range.min} to ${range.max}, got "${value}"`,
    );
  }
  return seconds;
}

/** Registry refresh period: how long an edit made through the API may take to apply. Default 60 s. */
export const readRegistryRefreshMs = (env: NodeJS.ProcessEnv = process.env): number =>
  readSeconds(ENV.registryRefreshSeconds, 60, env, { min: 1, max: 3600 }) * 1000;
