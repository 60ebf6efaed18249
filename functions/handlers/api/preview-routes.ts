/**
 * The dry-run routes (issue 14, ./preview.ts): one payload through the current registry, and a draft
 * device type against the recent messages of its type.
 */
import type { Application, DeviceType } from '../../core/contract/registry.js';
import { IOT_CORE_MAX_PAYLOAD_BYTES } from '../../shared/aws-limits.js';
import type { ApiDependencies } from './dependencies.js';
import { ApiError, jsonResponse } from './errors.js';
import { currentRegistry, previewDraftType, previewPayload, withDraftType } from './preview.js';
import { checkBodyNamesPathType, checkCompiles } from './registry-routes.js';
import { parseBody, typeIdParam } from './request.js';
import { eventOf, type RouteTable } from './route-table.js';
import { DeviceTypeBody, PreviewBody } from './schemas.js';

export function previewRoutes(
  dependencies: Pick<ApiDependencies, 'registry' | 'messages' | 'preview' | 'version'>,
  now: () => number,
): RouteTable {
  const { registry } = dependencies;
  return {
    'POST /api/preview': async (reqCtx) => {
      const body = parseBody(PreviewBody, eventOf(reqCtx));
      // A string is the raw bytes (as text); any other JSON value is sent as its JSON text.
      const bytes = Buffer.from(
        typeof body.payload === 'string' ? body.payload : JSON.stringify(body.payload),
      );
      if (bytes.length > IOT_CORE_MAX_PAYLOAD_BYTES) {
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', 'IoT Core refuses MQTT payloads over 128 KB', [
          { field: 'payload', message: `${bytes.length} bytes, at most ${IOT_CORE_MAX_PAYLOAD_BYTES}` },
        ]);
      }
      const preview = dependencies.preview ?? {};
      return jsonResponse(
        200,
        await previewPayload({
          registry: await currentRegistry(preview, registry),
          ...(preview.alertState ? { alertState: preview.alertState } : {}),
          bytes,
          ...(body.topic === undefined ? {} : { topic: body.topic }),
          now: now(),
          serviceVersion: dependencies.version,
        }),
      );
    },

    'POST /api/device-types/{typeId}/preview': async (reqCtx) => {
      const id = typeIdParam(reqCtx.params.typeId);
      // Validated like a PUT: the same body schema, path/body agreement and compile check.
      const {
        typeId,
        version: _version,
        alertRules,
        updatedAt: _readOnly,
        ...definition
      } = parseBody(DeviceTypeBody, eventOf(reqCtx));
      checkBodyNamesPathType(typeId, id);
      const stored = await registry.getDeviceType(id);
      const draft: DeviceType = { ...definition, typeId: id, version: (stored?.deviceType.version ?? 0) + 1 };
      const rules = alertRules ?? stored?.alertRules ?? [];
      checkCompiles(draft, rules);
      const [current, applications] = await Promise.all([
        currentRegistry(dependencies.preview ?? {}, registry),
        registry.listApplications(),
      ]);
      return jsonResponse(
        200,
        await previewDraftType({
          typeId: id,
          current,
          // List results carry no contact e-mail; the compiled registry copies only public fields.
          draft: withDraftType(current, draft, rules, applications as unknown as Application[]),
          recent: (stage, query) => dependencies.messages.recent(stage, query),
          now: now(),
          serviceVersion: dependencies.version,
        }),
      );
    },
  };
}
