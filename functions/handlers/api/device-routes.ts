/**
 * The device routes: devices as summaries, one device with its latest readings, its telemetry (raw
 * or bucketed), and its export (issue 16: buffered here, as API Gateway's HTTP API invokes Lambda;
 * see ./export.ts).
 */
import type { DeviceType } from '../../core/contract/registry.js';
import type { ApiDependencies } from './dependencies.js';
import { ApiError, jsonResponse } from './errors.js';
import { collectExport, type ExportDependencies, fileHeaders, prepareExport } from './export.js';
import { deviceIdParam, parseQuery } from './request.js';
import { eventOf, type RouteTable } from './route-table.js';
import { BUCKETS, DevicesQuery, TelemetryQuery } from './schemas.js';

export function deviceRoutes(
  dependencies: Pick<ApiDependencies, 'registry' | 'devices' | 'timeseries'>,
  exportDependencies: ExportDependencies,
  now: () => number,
): RouteTable {
  const { registry, devices, timeseries } = dependencies;
  return {
    'GET /api/devices': async (reqCtx) => {
      const query = parseQuery(DevicesQuery, eventOf(reqCtx));
      return jsonResponse(200, await devices.list(query));
    },

    'GET /api/devices/{deviceId}': async ({ params }) => {
      const id = deviceIdParam(params.deviceId);
      const device = await devices.get(id);
      if (!device) throw new ApiError(404, 'NOT_FOUND', `device "${id}" has not been seen`);
      const [type, latest] = await Promise.all([
        registry.getDeviceType(device.deviceType).catch(() => undefined),
        timeseries.latest(id),
      ]);
      return jsonResponse(200, {
        ...device,
        latest: latest.map((point) => ({
          measure: point.measure,
          value: point.value,
          unit: unitOf(type?.deviceType, point.measure),
          time: new Date(point.time).toISOString(),
          quality: point.quality,
        })),
      });
    },

    'GET /api/devices/{deviceId}/telemetry': async (reqCtx) => {
      const id = deviceIdParam(reqCtx.params.deviceId);
      const query = parseQuery(TelemetryQuery, eventOf(reqCtx));
      const to = query.to ?? now();
      const from = query.from ?? to - 3_600_000;
      if (from >= to) {
        throw new ApiError(400, 'INVALID_QUERY', 'from must be before to', [
          { field: 'from', message: 'must be before to' },
        ]);
      }
      const base = { deviceId: id, measure: query.measure, from, to, limit: query.limit };
      if (query.bucket) {
        const points = await timeseries.buckets({ ...base, bucketMs: BUCKETS[query.bucket] });
        return jsonResponse(200, {
          deviceId: id,
          measure: query.measure,
          bucket: query.bucket,
          points: points.slice(0, query.limit).map((p) => ({ ...p, time: new Date(p.time).toISOString() })),
        });
      }
      const points = await timeseries.series(base);
      return jsonResponse(200, {
        deviceId: id,
        measure: query.measure,
        points: points.slice(0, query.limit).map((p) => ({ ...p, time: new Date(p.time).toISOString() })),
      });
    },

    'GET /api/devices/{deviceId}/export': async (reqCtx) => {
      const file = await prepareExport(exportDependencies, reqCtx.params.deviceId, eventOf(reqCtx));
      const bytes = await collectExport(file);
      // Base64 in the proxy result for either format: Parquet is binary, and one size rule is simpler.
      reqCtx.isBase64Encoded = true;
      return new Response(bytes, { status: 200, headers: fileHeaders(file) });
    },
  };
}

function unitOf(type: DeviceType | undefined, measure: string): string | undefined {
  if (!type) return undefined;
  const [key, component] = measure.split('.') as [string, string | undefined];
  const definition = type.measurements[key];
  if (!definition) return undefined;
  if ('components' in definition) return component ? definition.components[component]?.unit : undefined;
  return definition.unit;
}
