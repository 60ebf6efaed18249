/**
 * The registry routes: device types (versioned, If-Match, refused unless they compile as enrichment
 * will compile them) and applications (public reads without the contact e-mail).
 */
import type { AlertRule, DeviceType } from '../../core/contract/registry.js';
import { RegistryError } from '../../core/errors.js';
import { compileRegistry } from '../../core/registry.js';
import type { RegistryStore } from '../../ports/registry.js';
import { ApiError, jsonResponse } from './errors.js';
import {
  applicationIdParam,
  deviceTypeParam,
  ifMatchVersion,
  parseBody,
  parseQuery,
  typeIdParam,
  versionEtag,
} from './request.js';
import { eventOf, type RouteTable } from './route-table.js';
import { ApplicationCreateBody, ApplicationPatchBody, ApplicationsQuery, DeviceTypeBody } from './schemas.js';

export function deviceTypeRoutes(registry: RegistryStore): RouteTable {
  return {
    'GET /api/device-types': async () => {
      const records = await registry.listDeviceTypes();
      return jsonResponse(200, {
        items: records.map(({ deviceType: t }) => ({
          typeId: t.typeId,
          name: t.name,
          category: t.category,
          version: t.version,
          measurementCount: Object.keys(t.measurements).length,
        })),
      });
    },

    'GET /api/device-types/{typeId}': async ({ params }) => {
      const id = typeIdParam(params.typeId);
      const record = await registry.getDeviceType(id);
      if (!record) throw new ApiError(404, 'NOT_FOUND', `device type "${id}" is not registered`);
      return jsonResponse(
        200,
        { ...record.deviceType, alertRules: record.alertRules, updatedAt: record.updatedAt },
        { etag: versionEtag(record.deviceType.version) },
      );
    },

    'PUT /api/device-types/{typeId}': async (reqCtx) => {
      const event = eventOf(reqCtx);
      const id = typeIdParam(reqCtx.params.typeId);
      const {
        typeId,
        version,
        alertRules,
        updatedAt: _readOnly,
        ...definition
      } = parseBody(DeviceTypeBody, event);
      checkBodyNamesPathType(typeId, id);
      const headerVersion = ifMatchVersion(event);
      if (headerVersion !== undefined && version !== undefined && headerVersion !== version) {
        throw new ApiError(400, 'INVALID_BODY', 'If-Match and the body name different versions', [
          { field: 'version', message: `If-Match says ${headerVersion}` },
        ]);
      }
      const expectedVersion = headerVersion ?? version;
      // The version the store will write is its own (stored + 1); this one only satisfies the schema.
      const deviceType: DeviceType = { ...definition, typeId: id, version: expectedVersion ?? 1 };
      // Enrichment compiles the whole registry: a definition that cannot compile (a rule naming no
      // reading, a reserved dimension) is refused here, or it would stop every later refresh.
      const rules = alertRules ?? (await registry.getDeviceType(id))?.alertRules ?? [];
      checkCompiles(deviceType, rules);
      const record = await registry.putDeviceType(
        { deviceType, ...(alertRules === undefined ? {} : { alertRules }) },
        expectedVersion === undefined ? {} : { expectedVersion },
      );
      return jsonResponse(
        record.deviceType.version === 1 ? 201 : 200,
        { ...record.deviceType, alertRules: record.alertRules, updatedAt: record.updatedAt },
        { etag: versionEtag(record.deviceType.version) },
      );
    },

    'DELETE /api/device-types/{typeId}': async (reqCtx) => {
      const id = typeIdParam(reqCtx.params.typeId);
      const expectedVersion = ifMatchVersion(eventOf(reqCtx));
      await registry.deleteDeviceType(id, expectedVersion === undefined ? {} : { expectedVersion });
      return new Response(null, { status: 204 });
    },
  };
}

export function applicationRoutes(registry: RegistryStore): RouteTable {
  return {
    'GET /api/applications': async (reqCtx) => {
      const query = parseQuery(ApplicationsQuery, eventOf(reqCtx));
      return jsonResponse(200, { items: await registry.listApplications(query) });
    },

    'POST /api/applications': async (reqCtx) => {
      const body = parseBody(ApplicationCreateBody, eventOf(reqCtx));
      const application = await registry.createApplication(body);
      // The full record (contact included) goes only to the authenticated writer.
      return jsonResponse(201, application, {
        location: `/api/applications/${application.applicationId}`,
      });
    },

    'GET /api/applications/{id}': async ({ params }) => {
      const id = applicationIdParam(params.id);
      const application = await registry.getApplication(id);
      if (!application) throw new ApiError(404, 'NOT_FOUND', `application "${id}" does not exist`);
      // Reads are public: the private contact e-mail stays out.
      const { contactEmail: _private, ...publicFields } = application;
      return jsonResponse(200, publicFields);
    },

    'PATCH /api/applications/{id}': async (reqCtx) => {
      const id = applicationIdParam(reqCtx.params.id);
      const patch = parseBody(ApplicationPatchBody, eventOf(reqCtx));
      if (Object.keys(patch).length === 0) {
        throw new ApiError(400, 'INVALID_BODY', 'the patch changes nothing', [
          { field: '(body)', message: 'name at least one field to change' },
        ]);
      }
      return jsonResponse(200, await registry.updateApplication(id, patch));
    },

    'DELETE /api/applications/{id}': async ({ params }) => {
      await registry.deleteApplication(applicationIdParam(params.id));
      return new Response(null, { status: 204 });
    },

    // Issue 14: the applications of one device type, by path.
    'GET /api/applications/by-device-type/{type}': async (reqCtx) => {
      const deviceType = deviceTypeParam(reqCtx.params.type);
      const query = parseQuery(ApplicationsQuery.omit({ deviceType: true }), eventOf(reqCtx));
      return jsonResponse(200, { items: await registry.listApplications({ ...query, deviceType }) });
    },
  };
}

/** A device-type body may leave its type id out; if it names one, it is the path's. */
export function checkBodyNamesPathType(bodyTypeId: string | undefined, pathTypeId: string): void {
  if (bodyTypeId !== undefined && bodyTypeId !== pathTypeId) {
    throw new ApiError(400, 'INVALID_BODY', 'the body names another device type than the path', [
      { field: 'typeId', message: `must be "${pathTypeId}" (the path's type id) or left out` },
    ]);
  }
}

/** Compiles one type with its rules as enrichment will; a failure is a 400 naming the part. */
export function checkCompiles(deviceType: DeviceType, rules: readonly AlertRule[]): void {
  try {
    compileRegistry({
      deviceTypes: [deviceType],
      alertRules: [{ deviceType: deviceType.typeId, rules: [...rules] }],
      applications: [],
    });
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    const field = /alert rule/.test(error.message)
      ? 'alertRules'
      : /dimension/.test(error.message)
        ? 'dimensions'
        : 'measurements';
    throw new ApiError(400, 'INVALID_DEFINITION', 'the definition does not compile', [
      { field, message: error.message },
    ]);
  }
}
