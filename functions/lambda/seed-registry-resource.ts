/**
 * Lambda entry: the registry seed custom resource. Contract: CDK custom resource Provider framework,
 * onEvent handler (see ./custom-resource.ts): returns `{ PhysicalResourceId, Data }`.
 *
 * Create and Update write the device types (with their alert rules) and applications of
 * `registry-data/` (bundled into the function) that are ABSENT: every write is conditional
 * (`attribute_not_exists` on the type id; the application's case-insensitive name claim), so a type or
 * application edited through the API after the deploy is never overwritten, and running it again is a
 * no-op. The same code seeds local mode (local/dynamodb/seed.ts). Delete keeps the data.
 * ResourceProperties: any (e.g. a hash of registry-data) only to make CloudFormation send an Update.
 * Data (Fn::GetAtt): CreatedDeviceTypes, CreatedApplications, SkippedDeviceTypes,
 * SkippedApplications (comma-separated ids). PhysicalResourceId: `iot-cloud-registry-seed`.
 *
 * Env vars read: DEVICE_TYPES_TABLE, APPLICATIONS_TABLE, AWS_REGION (set by Lambda), all required.
 * AWS resources and actions used:
 *   DynamoDB device types table: dynamodb:PutItem (conditional)
 *   DynamoDB applications table: dynamodb:PutItem (conditional), dynamodb:GetItem,
 *     dynamodb:BatchWriteItem (the type-index items), dynamodb:DeleteItem (releasing the name claim of
 *     a create that failed)
 *   X-Ray: xray:PutTraceSegments, xray:PutTelemetryRecords
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { type SeedResult, seedRegistry } from '../../local/dynamodb/seed.js';
import { seedRegistry as bundledSeed, type SeedRegistry } from '../../registry-data/index.js';
import { DynamoIngestMappingStore, DynamoRegistryStore, documentClient } from '../adapters/dynamodb/index.js';
import type { IngestMappingStore } from '../ports/ingest-mappings.js';
import type { RegistryStore } from '../ports/registry.js';
import { AWS_REGION_ENV, readTableNames } from './config.js';
import type { CustomResourceEvent, CustomResourceResponse } from './custom-resource.js';
import { requireEnv } from './environment.js';
import { createObservability, instrument, type Observability, traceClient } from './observability.js';

export const SEED_PHYSICAL_ID = 'iot-cloud-registry-seed';

export interface SeedRegistryDependencies {
  readonly registry: RegistryStore;
  /** Ingest mappings (issue 14); left out, none are seeded. */
  readonly ingestMappings?: IngestMappingStore;
  readonly seed: SeedRegistry;
  readonly observability: Observability;
}

export function createSeedRegistryResource(dependencies: SeedRegistryDependencies) {
  const { logger } = dependencies.observability;
  return async (event: CustomResourceEvent): Promise<CustomResourceResponse> => {
    if (event.RequestType === 'Delete') {
      logger.info('keeping the registry data');
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const result: SeedResult = await seedRegistry(
      {
        registry: dependencies.registry,
        ...(dependencies.ingestMappings ? { ingestMappings: dependencies.ingestMappings } : {}),
      },
      dependencies.seed,
    );
    logger.info('registry seeded', { ...result });
    return {
      PhysicalResourceId: SEED_PHYSICAL_ID,
      Data: {
        CreatedDeviceTypes: result.created.deviceTypes.join(','),
        CreatedApplications: result.created.applications.join(','),
        SkippedDeviceTypes: result.skipped.deviceTypes.join(','),
        SkippedApplications: result.skipped.applications.join(','),
        ...(result.ingestMappings
          ? {
              CreatedIngestMappings: result.ingestMappings.created.join(','),
              SkippedIngestMappings: result.ingestMappings.skipped.join(','),
            }
          : {}),
      },
    };
  };
}

// Composition root: read at cold start (a missing variable fails the init, naming it).
const observability = createObservability('iot-cloud-registry-seed');
const region = requireEnv(AWS_REGION_ENV);
const tables = readTableNames(['deviceTypes', 'applications', 'ingestMappings']);
const client = documentClient(traceClient(observability, new DynamoDBClient({ region })));

export const handler: (event: CustomResourceEvent, context?: Context) => Promise<CustomResourceResponse> =
  instrument(
    observability,
    createSeedRegistryResource({
      registry: new DynamoRegistryStore({ client, tables }),
      ingestMappings: new DynamoIngestMappingStore({ client, tableName: tables.ingestMappings }),
      seed: bundledSeed,
      observability,
    }),
  );
