/**
 * The ingest-mapping routes (issue 14): list, read, create or replace (versioned, If-Match), delete.
 * A mapping is stored only once it compiles and names a registered device type, so a registry refresh
 * never meets one that would stop enrichment.
 */
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { SLUG_PATTERN } from '../../core/contract/identifiers.js';
import type { IngestMappingRecord, IngestMappingStore } from '../../ports/ingest-mappings.js';
import type { RegistryStore } from '../../ports/registry.js';
import { ApiError, jsonResponse } from './errors.js';
import { ifMatchVersion, parseBody, versionEtag } from './request.js';
import { IngestMappingBody } from './schemas.js';

type Handler = (reqCtx: RequestContext) => Promise<Response>;

const mappingIdParam = (value: string | undefined): string => {
  if (value === undefined || !SLUG_PATTERN.test(value)) {
    throw new ApiError(400, 'INVALID_PATH', 'invalid ingest mapping id', [
      { field: 'mappingId', message: `must match ${SLUG_PATTERN.source}` },
    ]);
  }
  return value;
};

const full = (record: IngestMappingRecord) => ({ ...record.mapping, updatedAt: record.updatedAt });

export function ingestMappingHandlers(
  store: IngestMappingStore | undefined,
  registry: Pick<RegistryStore, 'getDeviceType'>,
): Record<
  | 'GET /api/ingest-mappings'
  | 'GET /api/ingest-mappings/{mappingId}'
  | 'PUT /api/ingest-mappings/{mappingId}'
  | 'DELETE /api/ingest-mappings/{mappingId}',
  Handler
> {
  // A runtime without a mapping store (unit tests of other routes) reads as one that holds none.
  const mappings = (): IngestMappingStore => {
    if (!store) throw new ApiError(503, 'UNAVAILABLE', 'this runtime keeps no ingest mappings');
    return store;
  };
  const event = (reqCtx: RequestContext) => reqCtx.event as APIGatewayProxyEventV2;
  return {
    'GET /api/ingest-mappings': async () => {
      const records = store ? await store.listIngestMappings() : [];
      return jsonResponse(200, {
        items: records.map(({ mapping }) => ({
          mappingId: mapping.mappingId,
          name: mapping.name,
          version: mapping.version,
          topic: mapping.match.topic,
          ...(mapping.deviceType ? { deviceType: mapping.deviceType } : {}),
        })),
      });
    },

    'GET /api/ingest-mappings/{mappingId}': async ({ params }) => {
      const id = mappingIdParam(params.mappingId);
      const record = await store?.getIngestMapping(id);
      if (!record) throw new ApiError(404, 'NOT_FOUND', `ingest mapping "${id}" does not exist`);
      return jsonResponse(200, full(record), { etag: versionEtag(record.mapping.version) });
    },

    'PUT /api/ingest-mappings/{mappingId}': async (reqCtx) => {
      const id = mappingIdParam(reqCtx.params.mappingId);
      const {
        mappingId,
        version,
        updatedAt: _readOnly,
        ...definition
      } = parseBody(IngestMappingBody, event(reqCtx));
      if (mappingId !== undefined && mappingId !== id) {
        throw new ApiError(400, 'INVALID_BODY', 'the body names another mapping than the path', [
          { field: 'mappingId', message: `must be "${id}" (the path's mapping id) or left out` },
        ]);
      }
      const headerVersion = ifMatchVersion(event(reqCtx));
      if (headerVersion !== undefined && version !== undefined && headerVersion !== version) {
        throw new ApiError(400, 'INVALID_BODY', 'If-Match and the body name different versions', [
          { field: 'version', message: `If-Match says ${headerVersion}` },
        ]);
      }
      if (definition.deviceType !== undefined && !(await registry.getDeviceType(definition.deviceType))) {
        throw new ApiError(400, 'INVALID_DEFINITION', 'the mapping names an unregistered device type', [
          { field: 'deviceType', message: `"${definition.deviceType}" is not registered` },
        ]);
      }
      const expectedVersion = headerVersion ?? version;
      const record = await mappings().putIngestMapping(
        { ...definition, mappingId: id, version: expectedVersion ?? 1 },
        expectedVersion === undefined ? {} : { expectedVersion },
      );
      return jsonResponse(record.mapping.version === 1 ? 201 : 200, full(record), {
        etag: versionEtag(record.mapping.version),
      });
    },

    'DELETE /api/ingest-mappings/{mappingId}': async ({ params }) => {
      const id = mappingIdParam(params.mappingId);
      if (!store) throw new ApiError(404, 'NOT_FOUND', `ingest mapping "${id}" does not exist`);
      await store.deleteIngestMapping(id);
      return new Response(null, { status: 204 });
    },
  };
}
