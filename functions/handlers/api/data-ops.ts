/**
 * Data operations (issue 16) in the HTTP API: dead-letter triage, redrive and replay. The schemas (also
 * the OpenAPI document's), the route handlers and their docs, in one file beside the API's others.
 * Every identifier is checked against its pattern before any read.
 */
import { z } from 'zod';
import { DEVICE_ID_PATTERN, TYPE_ID_PATTERN } from '../../core/contract/identifiers.js';
import { DlqRecord } from '../../core/contract/messages.js';
import { DATA_OPS_LIMITS, REDRIVE_ID_PATTERN, REPLAY_ID_PATTERN } from '../../shared/data-ops.js';
import {
  type DataOps,
  ReplayConflictError,
  type ReplayRequest,
  type TriageResult,
  UnknownDeviceError,
} from '../data-ops.js';
import { ApiError, jsonResponse } from './errors.js';

/** What the API needs of the data operations (createDataOps's result, in either runtime). */
export type DataOpsApi = Pick<DataOps, 'triage' | 'redrive' | 'startReplay' | 'operation'>;

const isoTime = z.iso
  .datetime({ offset: true })
  .transform((text) => Date.parse(text))
  .describe('ISO 8601 date-time with an offset or Z.');
const DAY_MS = 24 * 60 * 60 * 1000;
const maxDays = DATA_OPS_LIMITS.maxRangeMs / DAY_MS;

/** A [from, to) window: from before to, at most DATA_OPS_LIMITS.maxRangeMs long. */
function checkWindow(value: { from?: number | undefined; to?: number | undefined }, ctx: z.RefinementCtx) {
  if (value.from === undefined || value.to === undefined) return;
  if (value.from >= value.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before to' });
  else if (value.to - value.from > DATA_OPS_LIMITS.maxRangeMs)
    ctx.addIssue({ code: 'custom', path: ['from'], message: `the range must be at most ${maxDays} days` });
}

const reason = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a dead-letter reason such as UNKNOWN_DEVICE_TYPE');
const deviceType = z.string().regex(TYPE_ID_PATTERN, 'must be a device type id (lower snake case)');
const deviceId = z.string().regex(DEVICE_ID_PATTERN, 'must be a valid device id');

export const DlqGroupsQuery = z
  .strictObject({
    from: isoTime.optional().describe('Receipt time, inclusive. Default: one day before `to`.'),
    to: isoTime.optional().describe('Receipt time, exclusive. Default: now.'),
  })
  .superRefine(checkWindow);

export const RedriveBody = z
  .strictObject({
    reason: reason.optional(),
    deviceType: deviceType.optional(),
    deviceId: deviceId.optional(),
    from: isoTime.describe('Receipt time of the dead letters, inclusive.'),
    to: isoTime.describe('Receipt time, exclusive.'),
  })
  .superRefine(checkWindow)
  .describe('Dead letters matching every field given are sent back to ingest, unchanged.');

export const ReplayBody = z
  .strictObject({
    deviceType: deviceType.optional(),
    deviceId: deviceId.optional(),
    from: isoTime.describe('Receipt time of the raw messages, inclusive.'),
    to: isoTime.describe('Receipt time, exclusive.'),
  })
  .superRefine((value, ctx) => {
    if ((value.deviceType === undefined) === (value.deviceId === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['deviceType'],
        message: 'give exactly one of deviceType and deviceId',
      });
    checkWindow(value, ctx);
  })
  .describe('Re-runs enrichment with the current registry over the raw messages of a device or type.');

export const DATA_OPS_PATH_PARAMETERS: Record<string, z.ZodType> = {
  redriveId: z.string().regex(REDRIVE_ID_PATTERN),
  replayId: z.string().regex(REPLAY_ID_PATTERN),
};

export const DlqGroups = z.strictObject({
  from: z.string(),
  to: z.string(),
  total: z.number().int(),
  truncated: z.boolean(),
  groups: z.array(
    z.strictObject({
      reason: z.string(),
      deviceType: z.string(),
      deviceId: z.string(),
      count: z.number().int(),
      firstFailedAt: z.string(),
      lastFailedAt: z.string(),
      examples: z
        .array(DlqRecord)
        .describe('The newest dead letters of the group, original bytes in base64.'),
    }),
  ),
});

export const Operation = z.strictObject({
  id: z.string(),
  kind: z.enum(['redrive', 'replay']),
  state: z
    .enum(['running', 'done', 'failed', 'interrupted'])
    .describe('interrupted: its runner stopped before it finished (counts as last recorded, why in error).'),
  request: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  scanned: z.number().int(),
  matched: z.number().int(),
  sent: z.number().int(),
  skipped: z.record(z.string(), z.number().int()),
  truncated: z.boolean(),
  error: z.string().optional(),
});

export const DATA_OPS_COMPONENTS = {
  DlqGroups,
  Operation,
  RedriveBody,
  ReplayBody,
  // Shared by DlqGroups; named so it becomes its own component.
  DlqRecord,
} satisfies Record<string, z.ZodType>;

const notWired = () =>
  new ApiError(503, 'NOT_AVAILABLE', 'data operations (triage, redrive, replay) are not available here');

function pathId(field: string, pattern: RegExp, value: string | undefined): string {
  if (value === undefined || !pattern.test(value)) {
    throw new ApiError(400, 'INVALID_PATH', `invalid ${field}`, [
      { field, message: `must match ${pattern.source}` },
    ]);
  }
  return value;
}

export interface DataOpsRouteContext {
  readonly query: <T extends z.ZodType>(schema: T) => z.infer<T>;
  readonly body: <T extends z.ZodType>(schema: T) => z.infer<T>;
  readonly params: Readonly<Record<string, string | undefined>>;
}

/** The route handlers, keyed as API_ROUTES declares them. */
export function dataOpsHandlers(dataOps: DataOpsApi | undefined, now: () => number) {
  const ops = (): DataOpsApi => {
    if (!dataOps) throw notWired();
    return dataOps;
  };
  return {
    'GET /api/dlq/groups': async (ctx: DataOpsRouteContext) => {
      const query = ctx.query(DlqGroupsQuery);
      const to = query.to ?? now();
      const from = query.from ?? to - DAY_MS;
      if (from >= to) {
        throw new ApiError(400, 'INVALID_QUERY', 'from must be before to', [
          { field: 'from', message: 'must be before to' },
        ]);
      }
      const result: TriageResult = await ops().triage({ from, to });
      return jsonResponse(200, result);
    },

    'POST /api/dlq/redrive': async (ctx: DataOpsRouteContext) => {
      const body = ctx.body(RedriveBody);
      const progress = await ops().redrive(body);
      // 201 when it ran to the end here (locally); 202 when handed to the data-ops function (AWS).
      const status = progress.state === 'running' ? 202 : 201;
      return jsonResponse(status, progress, { location: `/api/dlq/redrives/${progress.id}` });
    },

    'GET /api/dlq/redrives/{redriveId}': async (ctx: DataOpsRouteContext) => {
      const id = pathId('redriveId', REDRIVE_ID_PATTERN, ctx.params.redriveId);
      const progress = await ops().operation(id);
      if (progress?.kind !== 'redrive') throw new ApiError(404, 'NOT_FOUND', `redrive "${id}" is not known`);
      return jsonResponse(200, progress);
    },

    'POST /api/replay': async (ctx: DataOpsRouteContext) => {
      const body = ctx.body(ReplayBody);
      const request: ReplayRequest = {
        target:
          body.deviceId !== undefined
            ? { deviceId: body.deviceId }
            : { deviceType: body.deviceType as string },
        from: body.from,
        to: body.to,
      };
      try {
        const progress = await ops().startReplay(request);
        return jsonResponse(202, progress, { location: `/api/replays/${progress.id}` });
      } catch (error) {
        if (error instanceof ReplayConflictError)
          throw new ApiError(409, 'REPLAY_RUNNING', error.message, [
            { field: 'deviceType', message: `wait for replay ${error.runningId}` },
          ]);
        if (error instanceof UnknownDeviceError) throw new ApiError(404, 'NOT_FOUND', error.message);
        throw error;
      }
    },

    'GET /api/replays/{replayId}': async (ctx: DataOpsRouteContext) => {
      const id = pathId('replayId', REPLAY_ID_PATTERN, ctx.params.replayId);
      const progress = await ops().operation(id);
      if (progress?.kind !== 'replay') throw new ApiError(404, 'NOT_FOUND', `replay "${id}" is not known`);
      return jsonResponse(200, progress);
    },
  };
}

/** OpenAPI descriptions of the routes (see ./openapi.ts's RouteDoc). */
export const DATA_OPS_ROUTE_DOCS = {
  'GET /api/dlq/groups': {
    summary: 'Dead letters grouped by reason, device type and device, with the newest examples',
    query: DlqGroupsQuery,
    success: { status: 200, schema: 'DlqGroups', description: 'the groups, largest first' },
  },
  'POST /api/dlq/redrive': {
    summary: 'Send matching dead letters back through ingest, unchanged',
    body: 'RedriveBody',
    // Each runtime answers one of the two (functions/handlers/data-ops.ts vs the data-ops Lambda).
    success: {
      status: 202,
      schema: 'Operation',
      description:
        'AWS: the redrive, accepted and running in the data-ops function; follow Location (GET /api/dlq/redrives/{redriveId})',
    },
    alsoSuccess: [
      {
        status: 201,
        schema: 'Operation',
        description: 'local: the redrive, run to the end in the request: how many were sent',
      },
    ],
  },
  'GET /api/dlq/redrives/{redriveId}': {
    summary: 'Progress of a redrive',
    success: { status: 200, schema: 'Operation', description: 'the redrive' },
  },
  'POST /api/replay': {
    summary: 'Re-run enrichment over past raw messages of a device or type (409 while one of the type runs)',
    body: 'ReplayBody',
    success: {
      status: 202,
      schema: 'Operation',
      description: 'the replay, started (in either runtime); follow Location (GET /api/replays/{replayId})',
    },
    conflicts: true,
  },
  'GET /api/replays/{replayId}': {
    summary: 'Progress of a replay',
    success: { status: 200, schema: 'Operation', description: 'the replay' },
  },
} as const;
