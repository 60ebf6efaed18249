/**
 * The HTTP API (API Gateway HTTP API v2 events), routed with Powertools' event-handler Router. Read
 * routes of ../shared/design/API.md for the local mode; each route validates its query with zod and
 * answers the contract's error shape: 400 naming the fields, 404 for unknown resources and routes, 405
 * for wrong methods. A 5xx only ever means a bug or an outage.
 */
import { Router } from '@aws-lambda-powertools/event-handler/http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import {
  DEVICE_ID_PATTERN,
  TIMESERIES_MEASURE_PATTERN,
  TYPE_ID_PATTERN,
} from '../core/contract/identifiers.js';
import type { Application, DeviceType } from '../core/contract/registry.js';
import type { TimeseriesQuery } from '../ports/timeseries.js';

export interface DeviceSummary {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly messageCount: number;
  readonly status: 'online' | 'offline' | 'unknown';
}

export type MessageStage = 'raw' | 'enriched' | 'dlq';

export interface StatsSnapshot {
  readonly windowMinutes: number;
  readonly totals: { raw: number; enriched: number; dlq: number; alerts: number };
  readonly byDeviceType: Record<string, number>;
  readonly quality: { GOOD: number; SUSPECT: number; BAD: number };
  readonly perMinute: readonly {
    minute: string;
    raw: number;
    enriched: number;
    dlq: number;
    alerts: number;
  }[];
  readonly devicesSeen: number;
  readonly lastMessageTime: string | null;
  readonly dlqReasons: Record<string, number>;
  /** Measured by the runtime: where the pipeline stands now. */
  readonly pipeline?: {
    /** Records consumers have yet to process, over all consumers. */
    readonly consumerLag: number;
    /** Points in the time-series store. */
    readonly storedPoints: number;
    /** Device timestamp to points committed in the store, for telemetry in the window. */
    readonly latencyMs: {
      readonly p50: number | null;
      readonly p99: number | null;
      readonly samples: number;
    };
  };
}

/** What the API reads; each runtime's composition root maps its stores onto it. */
export interface ApiDependencies {
  readonly version: string;
  readonly deviceTypes: {
    list(): Promise<DeviceType[]>;
    get(typeId: string): Promise<DeviceType | undefined>;
  };
  readonly applications: {
    /** Public fields only: never contact e-mails or keys. */
    list(filter: { deviceType?: string; status?: string }): Promise<Omit<Application, 'contactEmail'>[]>;
  };
  readonly devices: {
    list(query: {
      deviceType?: string;
      limit: number;
      cursor?: string;
    }): Promise<{ items: DeviceSummary[]; cursor?: string }>;
    get(deviceId: string): Promise<DeviceSummary | undefined>;
  };
  readonly timeseries: TimeseriesQuery;
  readonly messages: {
    recent(stage: MessageStage, query: { deviceId?: string; limit: number }): Promise<unknown[]>;
  };
  readonly stats: (windowMinutes: number) => Promise<StatsSnapshot>;
  /** Component name -> 'ok' | 'degraded'. */
  readonly health: () => Promise<Record<string, 'ok' | 'degraded'>>;
  readonly now?: () => number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });

const errorResponse = (error: ApiError) =>
  json(error.status, { error: { code: error.code, message: error.message, details: error.details } });

/** Parses a query string against a schema; a 400 names every bad field. */
function parseQuery<T extends z.ZodType>(schema: T, request: Request): z.infer<T> {
  const query = Object.fromEntries(new URL(request.url).searchParams);
  const result = schema.safeParse(query);
  if (!result.success) {
    throw new ApiError(
      400,
      'INVALID_QUERY',
      'the query string is invalid',
      result.error.issues.map((issue) => ({
        field: issue.path.join('.') || '(query)',
        message: issue.message,
      })),
    );
  }
  return result.data;
}

const deviceIdParam = (value: string | undefined): string => {
  if (value === undefined || !DEVICE_ID_PATTERN.test(value)) {
    throw new ApiError(400, 'INVALID_PATH', 'invalid device id', [
      { field: 'deviceId', message: `must match ${DEVICE_ID_PATTERN.source}` },
    ]);
  }
  return value;
};

const typeIdParam = (value: string | undefined): string => {
  if (value === undefined || !TYPE_ID_PATTERN.test(value)) {
    throw new ApiError(400, 'INVALID_PATH', 'invalid device type id', [
      { field: 'typeId', message: `must match ${TYPE_ID_PATTERN.source}` },
    ]);
  }
  return value;
};

const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const typeId = z.string().regex(TYPE_ID_PATTERN, 'must be a registered device type id');

const BUCKETS: Record<string, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};
const isoTime = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));

const TelemetryQuery = z
  .object({
    measure: z
      .string()
      .regex(TIMESERIES_MEASURE_PATTERN, 'must be a measurement path such as voltage.phase_a'),
    from: isoTime.optional(),
    to: isoTime.optional(),
    bucket: z.enum(Object.keys(BUCKETS) as [string, ...string[]]).optional(),
    limit: limit(10_000, 1000),
  })
  .strict();

/** Every path the API serves (GET only, for now), to tell a wrong method from an unknown route. */
const ROUTE_PATHS: readonly RegExp[] = [
  /^\/api\/health$/,
  /^\/api\/device-types$/,
  /^\/api\/device-types\/[^/]+$/,
  /^\/api\/applications$/,
  /^\/api\/devices$/,
  /^\/api\/devices\/[^/]+$/,
  /^\/api\/devices\/[^/]+\/telemetry$/,
  /^\/api\/messages$/,
  /^\/api\/stats$/,
];

export function createApiHandler(dependencies: ApiDependencies) {
  const now = dependencies.now ?? Date.now;
  const app = new Router();

  app.get('/api/health', async () => {
    const components = await dependencies.health();
    const degraded = Object.values(components).some((status) => status !== 'ok');
    return json(degraded ? 503 : 200, {
      status: degraded ? 'degraded' : 'ok',
      version: dependencies.version,
      components,
    });
  });

  app.get('/api/device-types', async () => {
    const types = await dependencies.deviceTypes.list();
    return json(200, {
      items: types.map((t) => ({
        typeId: t.typeId,
        name: t.name,
        category: t.category,
        version: t.version,
        measurementCount: Object.keys(t.measurements).length,
      })),
    });
  });

  app.get('/api/device-types/:typeId', async ({ params }) => {
    const id = typeIdParam(params.typeId);
    const type = await dependencies.deviceTypes.get(id);
    if (!type) throw new ApiError(404, 'NOT_FOUND', `device type "${id}" is not registered`);
    return json(200, type);
  });

  app.get('/api/applications', async ({ req }) => {
    const query = parseQuery(
      z
        .object({
          deviceType: typeId.optional(),
          status: z.enum(['active', 'inactive', 'pending']).optional(),
        })
        .strict(),
      req,
    );
    return json(200, { items: await dependencies.applications.list(query) });
  });

  app.get('/api/devices', async ({ req }) => {
    const query = parseQuery(
      z
        .object({
          deviceType: typeId.optional(),
          limit: limit(500, 100),
          cursor: z.string().max(2048).optional(),
        })
        .strict(),
      req,
    );
    return json(200, await dependencies.devices.list(query));
  });

  app.get('/api/devices/:deviceId', async ({ params }) => {
    const id = deviceIdParam(params.deviceId);
    const device = await dependencies.devices.get(id);
    if (!device) throw new ApiError(404, 'NOT_FOUND', `device "${id}" has not been seen`);
    const type = await dependencies.deviceTypes.get(device.deviceType);
    const latest = await dependencies.timeseries.latest(id);
    return json(200, {
      ...device,
      latest: latest.map((point) => ({
        measure: point.measure,
        value: point.value,
        unit: unitOf(type, point.measure),
        time: new Date(point.time).toISOString(),
        quality: point.quality,
      })),
    });
  });

  app.get('/api/devices/:deviceId/telemetry', async ({ params, req }) => {
    const id = deviceIdParam(params.deviceId);
    const query = parseQuery(TelemetryQuery, req);
    const to = query.to ?? now();
    const from = query.from ?? to - 3_600_000;
    if (from >= to)
      throw new ApiError(400, 'INVALID_QUERY', 'from must be before to', [
        { field: 'from', message: 'must be before to' },
      ]);
    const base = { deviceId: id, measure: query.measure, from, to, limit: query.limit };
    if (query.bucket) {
      const points = await dependencies.timeseries.buckets({
        ...base,
        bucketMs: BUCKETS[query.bucket] as number,
      });
      const bucketed = points.map((p) => ({ ...p, time: new Date(p.time).toISOString() }));
      return json(200, { deviceId: id, measure: query.measure, bucket: query.bucket, points: bucketed });
    }
    const points = await dependencies.timeseries.series(base);
    const raw = points.map((p) => ({ ...p, time: new Date(p.time).toISOString() }));
    return json(200, { deviceId: id, measure: query.measure, points: raw });
  });

  app.get('/api/messages', async ({ req }) => {
    const query = parseQuery(
      z
        .object({
          stage: z.enum(['raw', 'enriched', 'dlq']).default('enriched'),
          deviceId: z.string().regex(DEVICE_ID_PATTERN, 'must be a valid device id').optional(),
          limit: limit(200, 50),
        })
        .strict(),
      req,
    );
    const items = await dependencies.messages.recent(query.stage, {
      limit: query.limit,
      ...(query.deviceId ? { deviceId: query.deviceId } : {}),
    });
    return json(200, { stage: query.stage, items });
  });

  app.get('/api/stats', async ({ req }) => {
    const query = parseQuery(
      z
        .object({
          window: z
            .string()
            .regex(/^\d{1,4}m$/, 'must be minutes, e.g. 15m')
            .default('15m'),
        })
        .strict(),
      req,
    );
    const minutes = Number(query.window.slice(0, -1));
    if (minutes < 1 || minutes > 1440) {
      throw new ApiError(400, 'INVALID_QUERY', 'the query string is invalid', [
        { field: 'window', message: 'must be 1m to 1440m' },
      ]);
    }
    return json(200, await dependencies.stats(minutes));
  });

  app.errorHandler(ApiError, async (error) => errorResponse(error));
  // The router reports a known path with another method as not found; the contract says 405.
  app.notFound(async (_error, { req }) =>
    errorResponse(
      ROUTE_PATHS.some((route) => route.test(new URL(req.url).pathname))
        ? new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on this route`)
        : new ApiError(404, 'NOT_FOUND', 'no such route'),
    ),
  );
  app.methodNotAllowed(async () =>
    errorResponse(new ApiError(405, 'METHOD_NOT_ALLOWED', 'method not allowed on this route')),
  );

  return (event: APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyStructuredResultV2> =>
    app.resolve(event, context ?? ({} as Context));
}

function unitOf(type: DeviceType | undefined, measure: string): string | undefined {
  if (!type) return undefined;
  const [key, component] = measure.split('.') as [string, string | undefined];
  const definition = type.measurements[key];
  if (!definition) return undefined;
  if ('components' in definition) return component ? definition.components[component]?.unit : undefined;
  return definition.unit;
}
