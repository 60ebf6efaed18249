/**
 * Provisions simulated devices in AWS IoT Core: one thing, one X.509 certificate and one shared
 * least-privilege policy per device type, with the credentials written to a local, git-ignored folder.
 *
 * The policy binds each certificate to its own thing: a device may connect only with its thing name as
 * the client id and publish only under `dt/{deviceType}/{its thing name}/`, nothing else (no subscribe,
 * no other device's topics), which is what lets the platform trust the device id in the topic.
 *
 * Re-running is safe: a device whose folder exists is skipped. Credentials appear in a device's folder
 * only once every call for it succeeded (they are written to `<id>.partial` and renamed).
 */

import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreatePolicyCommand,
  CreateThingCommand,
  DescribeEndpointCommand,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { TYPE_ID_PATTERN } from '../functions/core/index.js';
import { defaultIdPrefix, deviceIdFor } from './device-ids.js';

export const DEFAULT_OUTPUT_DIR = '.iotcloud/credentials';
export const MAX_PROVISION_COUNT = 10_000;
export const MANIFEST_FILE = 'devices.json';
export const CERTIFICATE_FILE = 'certificate.pem.crt';
export const PRIVATE_KEY_FILE = 'private.pem.key';
const DEFAULT_CONCURRENCY = 4;

/** Thing names allow letters, digits, `_`, `-` and `:`; device ids must also start with a letter or digit. */
const THING_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_:-]{0,127}$/;
const POLICY_NAME_PATTERN = /^[\w+=,.@-]{1,128}$/;

export interface ProvisionOptions {
  readonly client: IoTClient;
  /** How many devices: ids `{idPrefix}-00001` to `{idPrefix}-{count}`. */
  readonly count: number;
  /** A registry type id; it goes into the policy's topic and the thing's `deviceType` attribute. */
  readonly deviceType: string;
  /** Default: the simulator's prefix for the type (`breaker`, `meter`, `env`, `f2`), else the type id. */
  readonly idPrefix?: string;
  /** Default: `iotcloud-device-{deviceType}`. */
  readonly policyName?: string;
  /** Default: `.iotcloud/credentials` (git-ignored). */
  readonly outputDir?: string;
  /** Used in the policy's resource ARNs and the manifest; default: the client's region. */
  readonly region?: string;
  /** Devices provisioned at once (default 4; IoT's control-plane APIs allow 10-15 calls a second). */
  readonly concurrency?: number;
  readonly onProgress?: (progress: ProvisionProgress) => void;
}

export interface ProvisionProgress {
  readonly deviceId: string;
  readonly status: 'created' | 'skipped';
  readonly done: number;
  readonly total: number;
}

/** One device in `devices.json`. Paths are relative to the manifest's folder; no key material. */
export interface ManifestDevice {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly thingName: string;
  readonly endpoint: string;
  readonly policyName: string;
  readonly certificatePath: string;
  readonly privateKeyPath: string;
  readonly certificateArn?: string;
}

export interface Manifest {
  readonly version: 1;
  /** The IoT data endpoint (ATS) of the latest run. */
  readonly endpoint: string;
  readonly region?: string;
  readonly devices: readonly ManifestDevice[];
}

export interface ProvisionResult {
  readonly endpoint: string;
  readonly region?: string;
  readonly policyName: string;
  /** False when the policy already existed (it is left unchanged). */
  readonly policyCreated: boolean;
  readonly created: readonly string[];
  readonly skipped: readonly string[];
  readonly outputDir: string;
  readonly manifestPath: string;
}

/** A failed provisioning call, naming the device (when there is one) and the API call. */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';

  constructor(
    message: string,
    readonly call: string,
    readonly deviceId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export { defaultIdPrefix, deviceIdFor };
export const defaultPolicyName = (deviceType: string): string => `iotcloud-device-${deviceType}`;

const partitionOf = (region: string | undefined): string =>
  region?.startsWith('cn-') ? 'aws-cn' : region?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/**
 * The least-privilege device policy: connect only as your own thing, publish only to your own topics
 * under `dt/{deviceType}/`. IoT substitutes the policy variable with the thing attached to the
 * connecting certificate, so one policy serves every device of the type.
 */
export function buildPolicyDocument(deviceType: string, region?: string): string {
  if (!TYPE_ID_PATTERN.test(deviceType)) throw new RangeError(`invalid device type "${deviceType}"`);
  const prefix = `arn:${partitionOf(region)}:iot:${region ?? '*'}:*:`;
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'iot:Connect',
        Resource: `${prefix}client/\${iot:Connection.Thing.ThingName}`,
      },
      {
        Effect: 'Allow',
        Action: 'iot:Publish',
        Resource: `${prefix}topic/dt/${deviceType}/\${iot:Connection.Thing.ThingName}/*`,
      },
    ],
  });
}

const errorText = (error: unknown): string => {
  if (error instanceof Error)
    return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
};

const exists = async (path: string): Promise<boolean> => {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
};

async function resolveRegion(client: IoTClient, region: string | undefined): Promise<string | undefined> {
  if (region !== undefined) return region;
  try {
    const configured = client.config.region;
    return typeof configured === 'function' ? await configured() : configured;
  } catch {
    return undefined;
  }
}

function validate(options: ProvisionOptions, prefix: string, policyName: string): void {
  const { count, deviceType } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_PROVISION_COUNT) {
    throw new RangeError(`count must be an integer from 1 to ${MAX_PROVISION_COUNT}, got ${count}`);
  }
  if (!TYPE_ID_PATTERN.test(deviceType)) {
    throw new RangeError(`device type "${deviceType}" is not a type id (${TYPE_ID_PATTERN.source})`);
  }
  if (!THING_NAME_PATTERN.test(deviceIdFor(prefix, count))) {
    throw new RangeError(
      `id prefix "${prefix}" does not make valid thing names (letters, digits, _ - :, at most 128)`,
    );
  }
  if (!POLICY_NAME_PATTERN.test(policyName)) throw new RangeError(`invalid policy name "${policyName}"`);
}

export async function readManifest(path: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const manifest = JSON.parse(text) as Manifest;
    return Array.isArray(manifest.devices) ? manifest : undefined;
  } catch {
    throw new Error(`${path} is not valid JSON: fix or remove it (the device folders are kept either way)`);
  }
}

/** Runs `task` over `items`, `limit` at a time; stops starting new ones after the first failure. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

export async function provisionDevices(options: ProvisionOptions): Promise<ProvisionResult> {
  const { client, count, deviceType } = options;
  const prefix = options.idPrefix ?? defaultIdPrefix(deviceType);
  const policyName = options.policyName ?? defaultPolicyName(deviceType);
  validate(options, prefix, policyName);
  const outputDir = resolve(options.outputDir ?? DEFAULT_OUTPUT_DIR);
  const manifestPath = join(outputDir, MANIFEST_FILE);
  const region = await resolveRegion(client, options.region);

  // The policy, once per type: an existing one (from an earlier run) is fine and left as it is.
  let policyCreated = true;
  try {
    await client.send(
      new CreatePolicyCommand({ policyName, policyDocument: buildPolicyDocument(deviceType, region) }),
    );
  } catch (error) {
    if ((error as { name?: unknown }).name !== 'ResourceAlreadyExistsException') {
      throw new ProvisionError(
        `CreatePolicy "${policyName}" failed: ${errorText(error)}`,
        'CreatePolicy',
        undefined,
        { cause: error },
      );
    }
    policyCreated = false;
  }

  let endpoint: string | undefined;
  try {
    const response = await client.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
    endpoint = response.endpointAddress;
  } catch (error) {
    throw new ProvisionError(`DescribeEndpoint failed: ${errorText(error)}`, 'DescribeEndpoint', undefined, {
      cause: error,
    });
  }
  if (!endpoint)
    throw new ProvisionError('DescribeEndpoint returned no endpoint address', 'DescribeEndpoint');

  await mkdir(outputDir, { recursive: true, mode: 0o700 });
  const previous = await readManifest(manifestPath);
  const entries = new Map<string, ManifestDevice>();
  for (const device of previous?.devices ?? []) entries.set(device.deviceId, device);

  const ids = Array.from({ length: count }, (_, i) => deviceIdFor(prefix, i + 1));
  const created: string[] = [];
  const skipped: string[] = [];
  const entryFor = (deviceId: string, certificateArn?: string): ManifestDevice => ({
    deviceId,
    deviceType,
    thingName: deviceId,
    endpoint: endpoint as string,
    policyName,
    certificatePath: join(deviceId, CERTIFICATE_FILE),
    privateKeyPath: join(deviceId, PRIVATE_KEY_FILE),
    ...(certificateArn ? { certificateArn } : {}),
  });
  const progress = (deviceId: string, status: ProvisionProgress['status']) =>
    options.onProgress?.({ deviceId, status, done: created.length + skipped.length, total: count });

  const provisionOne = async (deviceId: string): Promise<void> => {
    const folder = join(outputDir, deviceId);
    if (await exists(folder)) {
      skipped.push(deviceId);
      const known = entries.get(deviceId);
      entries.set(deviceId, known ?? entryFor(deviceId));
      progress(deviceId, 'skipped');
      return;
    }
    let certificateId: string | undefined;
    const call = async <T>(name: string, send: () => Promise<T>): Promise<T> => {
      try {
        return await send();
      } catch (error) {
        const orphan = certificateId
          ? ` (certificate ${certificateId} was created but not fully attached: deactivate and delete it)`
          : '';
        throw new ProvisionError(
          `device "${deviceId}": ${name} failed: ${errorText(error)}${orphan}`,
          name,
          deviceId,
          { cause: error },
        );
      }
    };

    await call('CreateThing', () =>
      client.send(
        new CreateThingCommand({ thingName: deviceId, attributePayload: { attributes: { deviceType } } }),
      ),
    );
    const keys = await call('CreateKeysAndCertificate', () =>
      client.send(new CreateKeysAndCertificateCommand({ setAsActive: true })),
    );
    const { certificateArn, certificatePem } = keys;
    const privateKey = keys.keyPair?.PrivateKey;
    certificateId = keys.certificateId;
    if (!certificateArn || !certificatePem || !privateKey) {
      throw new ProvisionError(
        `device "${deviceId}": CreateKeysAndCertificate returned no certificate or private key`,
        'CreateKeysAndCertificate',
        deviceId,
      );
    }
    await call('AttachPolicy', () =>
      client.send(new AttachPolicyCommand({ policyName, target: certificateArn })),
    );
    await call('AttachThingPrincipal', () =>
      client.send(new AttachThingPrincipalCommand({ thingName: deviceId, principal: certificateArn })),
    );

    // Written next to the final folder and renamed, so a folder only ever holds complete credentials.
    const partial = `${folder}.partial`;
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { mode: 0o700 });
    await writeFile(join(partial, CERTIFICATE_FILE), certificatePem, { mode: 0o644 });
    const keyPath = join(partial, PRIVATE_KEY_FILE);
    await writeFile(keyPath, privateKey, { mode: 0o600 });
    await chmod(keyPath, 0o600);
    await rename(partial, folder);

    created.push(deviceId);
    entries.set(deviceId, entryFor(deviceId, certificateArn));
    progress(deviceId, 'created');
  };

  try {
    await forEachLimited(ids, options.concurrency ?? DEFAULT_CONCURRENCY, provisionOne);
  } finally {
    // Whatever was provisioned is recorded, also when a later device failed.
    const manifest: Manifest = {
      version: 1,
      endpoint,
      ...(region ? { region } : {}),
      devices: [...entries.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId)),
    };
    const temporary = `${manifestPath}.tmp`;
    await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
    await rename(temporary, manifestPath);
  }

  return {
    endpoint,
    ...(region ? { region } : {}),
    policyName,
    policyCreated,
    created: [...created].sort(),
    skipped: [...skipped].sort(),
    outputDir,
    manifestPath,
  };
}
