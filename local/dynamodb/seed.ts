/**
 * Seeds the registry: device types (with their alert rules on the same item) and applications, each
 * only if absent. An existing item is never overwritten, so edits made through the API survive a
 * restart; a seed application whose name is already taken (any letter case) is skipped too.
 */

import type { IngestMappingStore } from '../../functions/ports/ingest-mappings.js';
import { ConflictError, type RegistryStore } from '../../functions/ports/registry.js';
import type { SeedRegistry } from '../../registry-data/index.js';

export interface SeedStores {
  readonly registry: RegistryStore;
  /** Ingest mappings (issue 14); left out, none are seeded. */
  readonly ingestMappings?: IngestMappingStore;
}

export interface SeedResult {
  readonly created: { readonly deviceTypes: string[]; readonly applications: string[] };
  readonly skipped: { readonly deviceTypes: string[]; readonly applications: string[] };
  /** Ingest mappings (issue 14), when their store was given. */
  readonly ingestMappings?: { readonly created: string[]; readonly skipped: string[] };
}

export async function seedRegistry(stores: SeedStores, seed: SeedRegistry): Promise<SeedResult> {
  const result: SeedResult = {
    created: { deviceTypes: [], applications: [] },
    skipped: { deviceTypes: [], applications: [] },
  };
  for (const deviceType of seed.deviceTypes) {
    const alertRules = seed.alertRules
      .filter((set) => set.deviceType === deviceType.typeId)
      .flatMap((set) => set.rules);
    const outcome = await ifAbsent(() => stores.registry.createDeviceType({ deviceType, alertRules }));
    (outcome ? result.created : result.skipped).deviceTypes.push(deviceType.typeId);
  }
  for (const application of seed.applications) {
    const outcome = await ifAbsent(() => stores.registry.createApplication(application));
    (outcome ? result.created : result.skipped).applications.push(application.applicationId);
  }
  if (stores.ingestMappings) {
    const mappings = { created: [] as string[], skipped: [] as string[] };
    const store = stores.ingestMappings;
    for (const mapping of seed.ingestMappings) {
      const outcome = await ifAbsent(() => store.createIngestMapping(mapping));
      (outcome ? mappings.created : mappings.skipped).push(mapping.mappingId);
    }
    return { ...result, ingestMappings: mappings };
  }
  return result;
}

/** True when created, false when it already existed (a `ConflictError`); anything else is thrown. */
async function ifAbsent(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}
