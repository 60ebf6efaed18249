/**
 * Pieces of the API Lambda's composition over its own tables (wired by api-dependencies.ts): the
 * registry views it caches, health, the pipeline stats and Timestream's telemetry reads.
 */
import type { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoRegistryStore } from '../adapters/dynamodb/index.js';
import {
  DynamoPipelineStatsStore,
  devicesSeenFromDevicesTable,
} from '../adapters/dynamodb/pipeline-stats.js';
import { TimestreamTimeseriesQuery } from '../adapters/timestream/query.js';
import type { DeviceType } from '../core/contract/registry.js';
import type { ApiDependencies } from '../handlers/api.js';
import type { Observability } from './observability.js';
import { loadCompiledRegistry, Refreshing } from './support.js';

/**
 * The registry as the API caches it, re-read every `refreshMs` like enrichment's: the registered types
 * (device status needs their reporting intervals, `latest` their dimension names) and, for the dry
 * runs (issue 14), the registry compiled as the enrich Lambda compiles it.
 */
export function cachedRegistry(
  registry: DynamoRegistryStore,
  refreshMs: number,
  now: () => number,
  observability: Observability,
) {
  const types = new Refreshing<Map<string, DeviceType>>({
    load: async () =>
      new Map((await registry.listDeviceTypes()).map((r) => [r.deviceType.typeId, r.deviceType])),
    refreshMs,
    now,
    onRefreshError: (error) =>
      observability.logger.warn('registry refresh failed, keeping the previous types', {
        error: String(error),
      }),
  });
  const compiled = new Refreshing({
    load: () => loadCompiledRegistry(registry),
    refreshMs,
    now,
    onRefreshError: (error) =>
      observability.logger.warn('registry refresh failed, keeping the previous registry', {
        error: String(error),
      }),
  });
  return { types: () => types.current(), compiled: () => compiled.current() };
}

/** Health in AWS: the registry table answers a read. */
export function registryHealth(
  registry: DynamoRegistryStore,
  observability: Observability,
): ApiDependencies['health'] {
  return async () => {
    try {
      await registry.getDeviceType('health_probe');
      return { registry: 'ok' };
    } catch (error) {
      observability.logger.error('health: the registry table is not readable', error as Error);
      return { registry: 'degraded' };
    }
  };
}

/**
 * /api/stats in AWS: the measured per-minute counters written by the bridge, enrich and time-series
 * writer functions, latency percentiles at the histogram's bucket resolution. Consumer lag and stored
 * points are not measured here (MSK's and Timestream's own metrics show them), so they are left out.
 */
export function pipelineStats(
  options: { client: DynamoDBDocumentClient; statsTable: string; devicesTable: string; now: () => number },
  deviceTypes: () => Promise<string[]>,
): ApiDependencies['stats'] {
  const { client, now } = options;
  const stats = new DynamoPipelineStatsStore({ client, tableName: options.statsTable, now });
  const devicesSeen = devicesSeenFromDevicesTable({ client, tableName: options.devicesTable, deviceTypes });
  return async (windowMinutes) => {
    const [snapshot, latencyMs] = await Promise.all([
      stats.snapshot(windowMinutes, devicesSeen),
      stats.latency(windowMinutes),
    ]);
    return { ...snapshot, pipeline: { latencyMs } };
  };
}

/** Telemetry reads from Timestream, with the dimension names the registered types declare. */
export function timestreamReads(
  options: { timestream: TimestreamQueryClient; timestreamDatabase: string; timestreamTable: string },
  types: () => Promise<ReadonlyMap<string, DeviceType>>,
): TimestreamTimeseriesQuery {
  return new TimestreamTimeseriesQuery({
    client: options.timestream,
    database: options.timestreamDatabase,
    table: options.timestreamTable,
    dimensionNames: async () => [...new Set([...(await types()).values()].flatMap((t) => t.dimensions))],
  });
}
