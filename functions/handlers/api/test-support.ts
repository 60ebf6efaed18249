/**
 * For the API's unit tests: a read-only registry over the seed data (writes are tested against the
 * real DynamoDB store on dynalite, see ../api-registry.test.ts), and API Gateway v2 events.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { seedRegistry } from '../../../registry-data/index.js';
import {
  type AlertStore,
  type DeviceTypeRecord,
  NotFoundError,
  type RegistryStore,
} from '../../ports/registry.js';
import type { ApiDependencies } from './index.js';

const refuse = async (): Promise<never> => {
  throw new Error('this fake registry is read-only');
};

export function seedRegistryFake(): RegistryStore {
  const record = (typeId: string): DeviceTypeRecord | undefined => {
    const deviceType = seedRegistry.deviceTypes.find((t) => t.typeId === typeId);
    if (!deviceType) return undefined;
    const rules = seedRegistry.alertRules.find((set) => set.deviceType === typeId)?.rules ?? [];
    return { deviceType, alertRules: rules, updatedAt: '2026-11-23T00:00:00.000Z' };
  };
  const summaries = (deviceType?: string) =>
    seedRegistry.applications
      .filter((a) => deviceType === undefined || a.deviceTypes.includes(deviceType))
      .map(({ contactEmail: _private, ...publicFields }) => publicFields);
  return {
    listDeviceTypes: async () => seedRegistry.deviceTypes.map((t) => record(t.typeId) as DeviceTypeRecord),
    getDeviceType: async (typeId) => record(typeId),
    listApplications: async (filter = {}) => summaries(filter.deviceType),
    getApplication: async (id) => seedRegistry.applications.find((a) => a.applicationId === id),
    activeApplicationsFor: async (typeId) => summaries(typeId).filter((a) => a.status === 'active'),
    putDeviceType: refuse,
    createDeviceType: refuse,
    deleteDeviceType: refuse,
    createApplication: refuse,
    updateApplication: refuse,
    deleteApplication: refuse,
  };
}

export interface TestRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly claims?: Record<string, string>;
}

/** The event API Gateway (HTTP API, payload 2.0) passes for a request. */
export function apiEvent(request: TestRequest): APIGatewayProxyEventV2 {
  const url = new URL(request.path, 'http://localhost');
  const headers: Record<string, string> = { host: 'localhost' };
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  const binary = Buffer.isBuffer(request.body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(request.claims ? { authorizer: { jwt: { claims: request.claims, scopes: [] } } } : {}),
    },
    ...(request.body === undefined
      ? {}
      : { body: binary ? (request.body as Buffer).toString('base64') : (request.body as string) }),
    isBase64Encoded: binary,
  } as APIGatewayProxyEventV2;
}

/** An alert store with no alerts (issue 15 lifecycle methods answer NotFoundError). */
export function emptyAlertStore(): ApiAlertStore {
  const missing = async (alertId: string): Promise<never> => {
    throw new NotFoundError('alert', alertId);
  };
  return { recent: async () => [], get: missing, acknowledge: missing, clear: missing };
}
type ApiAlertStore = Pick<AlertStore, 'recent' | 'get' | 'acknowledge' | 'clear'>;

/**
 * The read stores of an API with the seed registry and nothing stored: no devices, points, samples or
 * alerts; `stats` is not expected to be called. Tests override what they exercise.
 */
export function emptyApiStores(): Pick<
  ApiDependencies,
  'registry' | 'alerts' | 'devices' | 'timeseries' | 'messages' | 'stats'
> {
  return {
    registry: seedRegistryFake(),
    alerts: emptyAlertStore(),
    devices: { list: async () => ({ items: [] }), get: async () => undefined },
    timeseries: {
      latest: async () => [],
      series: async () => [],
      buckets: async () => [],
      seriesPage: async () => ({ points: [] }),
      count: async () => 0,
    },
    messages: { recent: async () => [] },
    stats: async () => {
      throw new Error('unused');
    },
  };
}
