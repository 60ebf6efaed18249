/**
 * Reading the Lambda entries' configuration: once, at cold start, each missing or malformed value
 * reported by its variable name (the function's init fails with that message, not a later invocation
 * with an obscure one).
 */
import { parseBrokers } from '../adapters/kafka/client.js';
import { REGISTRY_REFRESH_SECONDS } from '../shared/registry-refresh.js';
import {
  TABLE_NAME_ENV,
  type TableKey,
  TIMESERIES_TABLE_NAME_ENV,
  type TimeseriesTableKey,
  type TimeseriesTableNames,
} from '../shared/tables.js';
import {
  isTimeseriesSinkName,
  TIMESERIES_SINKS,
  type TimeseriesSinkName,
} from '../shared/timeseries-sink.js';
import { ENV, requireEnv } from './environment.js';

/** The region Lambda runs in (set by the Lambda runtime itself). */
export const AWS_REGION_ENV = 'AWS_REGION';

/** Each key's physical name, read from its variable in `variables`; a missing one fails by name. */
function readNames<K extends string>(
  keys: readonly K[],
  variables: Readonly<Record<K, string>>,
  env: NodeJS.ProcessEnv,
): Record<K, string> {
  const names = {} as Record<K, string>;
  for (const key of keys) names[key] = requireEnv(variables[key], env);
  return names;
}

export const readTableNames = <K extends TableKey>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> => readNames(keys, TABLE_NAME_ENV, env);

/** The environment's time-series sink (TIMESERIES_SINK): required, one of TIMESERIES_SINKS. */
export function readTimeseriesSink(env: NodeJS.ProcessEnv = process.env): TimeseriesSinkName {
  const value = requireEnv(ENV.timeseriesSink, env);
  if (!isTimeseriesSinkName(value)) {
    throw new Error(
      `environment variable ${ENV.timeseriesSink} must be one of ${TIMESERIES_SINKS.join(', ')}, got "${value}"`,
    );
  }
  return value;
}

/** The DynamoDB time-series sink's table names (TIMESERIES_POINTS_TABLE, ...), each required. */
export const readTimeseriesTableNames = <K extends TimeseriesTableKey>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Pick<TimeseriesTableNames, K> => readNames(keys, TIMESERIES_TABLE_NAME_ENV, env);

/** The DynamoDB sink's three tables (TIMESERIES_POINTS_TABLE, ...), as its adapters take them. */
export function readTimeseriesSinkTables(env: NodeJS.ProcessEnv = process.env) {
  const names = readTimeseriesTableNames(['timeseriesPoints', 'timeseriesLatest', 'timeseriesRollups'], env);
  return { points: names.timeseriesPoints, latest: names.timeseriesLatest, rollups: names.timeseriesRollups };
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

/** Registry refresh period: how long an edit made through the API may take to apply. */
export const readRegistryRefreshMs = (env: NodeJS.ProcessEnv = process.env): number =>
  readSeconds(ENV.registryRefreshSeconds, REGISTRY_REFRESH_SECONDS, env, { min: 1, max: 3600 }) * 1000;

/** An optional https endpoint override (the Timestream ingest cell); a malformed one fails naming the variable. */
export function readOptionalHttpsEndpoint(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an https URL, got "${value}"`);
  }
  if (url.protocol !== 'https:' || url.pathname !== '/' || url.search !== '') {
    throw new Error(`${name} must be an https URL with no path, got "${value}"`);
  }
  return url.origin;
}
