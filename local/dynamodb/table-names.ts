/** Physical table names of the local runtime (in AWS, CDK generates them). */
import type { TableKey, TableNames, TimeseriesTableNames } from '../../functions/shared/tables.js';

const SUFFIXES: Readonly<Record<TableKey, string>> = {
  deviceTypes: 'device-types',
  applications: 'applications',
  devices: 'devices',
  messages: 'messages',
  alerts: 'alerts',
  pipelineStats: 'pipeline-stats',
  notifications: 'notifications',
  ingestMappings: 'ingest-mappings',
  operations: 'operations',
};

/** `{prefix}-device-types`, `{prefix}-applications`, ...; tests pass a unique prefix each. */
export function localTableNames(prefix = 'iotcloud'): TableNames {
  return {
    deviceTypes: `${prefix}-${SUFFIXES.deviceTypes}`,
    applications: `${prefix}-${SUFFIXES.applications}`,
    devices: `${prefix}-${SUFFIXES.devices}`,
    messages: `${prefix}-${SUFFIXES.messages}`,
    alerts: `${prefix}-${SUFFIXES.alerts}`,
    pipelineStats: `${prefix}-${SUFFIXES.pipelineStats}`,
    notifications: `${prefix}-${SUFFIXES.notifications}`,
    ingestMappings: `${prefix}-${SUFFIXES.ingestMappings}`,
    operations: `${prefix}-${SUFFIXES.operations}`,
  };
}

/** `{prefix}-timeseries-points`, `-latest`, `-rollups`: the DynamoDB time-series sink's tables. */
export function localTimeseriesTableNames(prefix = 'iotcloud'): TimeseriesTableNames {
  return {
    timeseriesPoints: `${prefix}-timeseries-points`,
    timeseriesLatest: `${prefix}-timeseries-latest`,
    timeseriesRollups: `${prefix}-timeseries-rollups`,
  };
}
