/**
 * How soon a registry edit reaches enrichment. Enrichment compiles the registry once and re-reads it
 * every REGISTRY_REFRESH_SECONDS (ENV.registryRefreshSeconds overrides it in AWS, the local runtime's
 * `registryRefreshMs` locally). The bound: a device-type or application write is used by every batch
 * enrichment starts more than REGISTRY_REFRESH_SECONDS (plus one registry read) after the write
 * succeeded; batches already running finish with the version they started with. Each enrich Lambda
 * instance refreshes on its own clock, so the bound holds per instance.
 */
export const REGISTRY_REFRESH_SECONDS = 30;

/** Accepted range for the override: often enough to matter, rarely enough not to hammer the table. */
export const REGISTRY_REFRESH_LIMITS = { minSeconds: 1, maxSeconds: 3600 } as const;

/** The refresh interval from an environment value (seconds); the default when unset or invalid. */
export function registryRefreshMs(value: string | undefined): number {
  const seconds = value === undefined || value === '' ? Number.NaN : Number(value);
  if (
    !Number.isFinite(seconds) ||
    seconds < REGISTRY_REFRESH_LIMITS.minSeconds ||
    seconds > REGISTRY_REFRESH_LIMITS.maxSeconds
  ) {
    return REGISTRY_REFRESH_SECONDS * 1000;
  }
  return seconds * 1000;
}
