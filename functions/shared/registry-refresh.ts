/**
 * How soon a registry edit reaches enrichment: the one figure both runtimes use as their default.
 *
 * Enrichment compiles the registry and re-reads it once the compiled copy is older than
 * REGISTRY_REFRESH_SECONDS (in AWS the enrich Lambda reads ENV.registryRefreshSeconds, 1-3600, with
 * this default; locally `LocalPlatformOptions.registryRefreshMs`). The bound: a device-type or
 * application write is used by every enrich batch that starts more than REGISTRY_REFRESH_SECONDS
 * (plus the time of one registry read) after the write succeeded. A batch already running finishes
 * with the version it started with, and each enrich Lambda instance refreshes on its own clock, so
 * the bound holds per instance.
 */
export const REGISTRY_REFRESH_SECONDS = 60;
