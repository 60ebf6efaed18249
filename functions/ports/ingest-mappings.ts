/**
 * Persistence port of the ingest mappings (issue 14), versioned like device types: every write bumps
 * the stored version, which each mapped message records in `enrichment_info.mapping`. Errors are the
 * registry port's domain classes (`ValidationError`, `ConflictError`, `NotFoundError`).
 */
import type { IngestMapping, IngestMappingInput } from '../core/contract/ingest-mapping.js';
import type { VersionCheck } from './registry.js';

export interface IngestMappingRecord {
  /** The definition; `mapping.version` is the stored version. */
  readonly mapping: IngestMapping;
  /** ISO 8601 UTC, set on every write. */
  readonly updatedAt: string;
}

export interface IngestMappingStore {
  listIngestMappings(): Promise<IngestMappingRecord[]>;
  getIngestMapping(mappingId: string): Promise<IngestMappingRecord | undefined>;
  /** Creates or replaces; the input's `version` is ignored and the stored one bumped. */
  putIngestMapping(input: IngestMappingInput, check?: VersionCheck): Promise<IngestMappingRecord>;
  /** Creates only: a `ConflictError` ('already_exists') when the id is taken (seeding). */
  createIngestMapping(input: IngestMappingInput): Promise<IngestMappingRecord>;
  deleteIngestMapping(mappingId: string): Promise<void>;
}
