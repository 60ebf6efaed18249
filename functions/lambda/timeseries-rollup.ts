/**
 * PLACEHOLDER (branch infra-deploy only): the real entry is written on the time-series adapter branch
 * and replaces this file at merge. It exists so the CDK app can bundle the scheduled rollup function.
 * Env vars the real entry reads: TIMESERIES_POINTS_TABLE, TIMESERIES_ROLLUPS_TABLE, DEVICES_TABLE.
 */
export async function handler(): Promise<never> {
  throw new Error('timeseries-rollup: placeholder entry; merge the time-series adapter branch');
}
