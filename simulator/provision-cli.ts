/**
 * `npm run provision -- --count N --type T`: creates N things of one registry type in AWS IoT Core,
 * each with its own certificate, and writes the credentials to `.iotcloud/credentials` (git-ignored).
 * AWS credentials and region come from the usual places (environment, profile, SSO) or --region.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { IoTClient } from '@aws-sdk/client-iot';
import { seedRegistry } from '../registry-data/index.js';
import {
  DEFAULT_OUTPUT_DIR,
  defaultIdPrefix,
  defaultPolicyName,
  MAX_PROVISION_COUNT,
  type ProvisionOptions,
  type ProvisionResult,
  provisionDevices,
} from './provision.js';

const TYPE_IDS = seedRegistry.deviceTypes.map((type) => type.typeId);

export const USAGE = `Usage: npm run provision -- --count N --type T [options]

  --count N        devices to provision, 1 to ${MAX_PROVISION_COUNT.toLocaleString('en-US')}
  --type T         device type: ${TYPE_IDS.join(', ')}
  --prefix P       device id prefix (default: the simulator's, e.g. breaker -> breaker-00001)
  --out DIR        credentials folder (default ${DEFAULT_OUTPUT_DIR})
  --region R       AWS region (default: from the environment or profile)
  --policy NAME    IoT policy name (default ${defaultPolicyName('{type}')})
  --help           this text

Re-running is safe: devices whose folder exists are skipped.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ProvisionArgs {
  readonly count: number;
  readonly deviceType: string;
  readonly idPrefix?: string;
  readonly outputDir: string;
  readonly region?: string;
  readonly policyName?: string;
}

/** Reads and checks the command line; undefined means --help. Throws UsageError with a clear message. */
export function parseProvisionArgs(
  argv: readonly string[],
  typeIds: readonly string[] = TYPE_IDS,
): ProvisionArgs | undefined {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return undefined;

  if (values.count === undefined) throw new UsageError('--count is required');
  const count = /^\d+$/.test(values.count) ? Number(values.count) : Number.NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_PROVISION_COUNT) {
    throw new UsageError(
      `--count must be a whole number from 1 to ${MAX_PROVISION_COUNT}, got "${values.count}"`,
    );
  }
  if (values.type === undefined) throw new UsageError(`--type is required: one of ${typeIds.join(', ')}`);
  if (!typeIds.includes(values.type)) {
    throw new UsageError(`unknown device type "${values.type}": use one of ${typeIds.join(', ')}`);
  }
  for (const [name, value] of [
    ['prefix', values.prefix],
    ['out', values.out],
    ['region', values.region],
    ['policy', values.policy],
  ] as const) {
    if (value !== undefined && value.trim() === '') throw new UsageError(`--${name} must not be empty`);
  }
  return {
    count,
    deviceType: values.type,
    outputDir: values.out ?? DEFAULT_OUTPUT_DIR,
    ...(values.prefix === undefined ? {} : { idPrefix: values.prefix }),
    ...(values.region === undefined ? {} : { region: values.region }),
    ...(values.policy === undefined ? {} : { policyName: values.policy }),
  };
}

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      count: { type: 'string' },
      type: { type: 'string' },
      prefix: { type: 'string' },
      out: { type: 'string' },
      region: { type: 'string' },
      policy: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });

export function summarize(args: ProvisionArgs, result: ProvisionResult): string {
  const first = result.created[0] ?? result.skipped[0];
  const lines = [
    `endpoint:  ${result.endpoint}${result.region ? ` (${result.region})` : ''}`,
    `policy:    ${result.policyName} (${result.policyCreated ? 'created' : 'already existed, left unchanged'})`,
    `devices:   ${result.created.length} created, ${result.skipped.length} skipped (already provisioned) of ${args.count} ${args.deviceType}`,
    `manifest:  ${result.manifestPath}`,
  ];
  if (first) {
    lines.push(
      '',
      `e.g. npm run simulate -- --types ${args.deviceType} --device-ids ${first} --endpoint ${result.endpoint} \\`,
      `       --cert ${result.outputDir}/${first}/certificate.pem.crt --key ${result.outputDir}/${first}/private.pem.key`,
    );
  }
  return lines.join('\n');
}

export interface CliDependencies {
  readonly createClient?: (region: string | undefined) => IoTClient;
  readonly log?: (line: string) => void;
  readonly error?: (line: string) => void;
}

/** Runs the command; resolves to the exit code. */
export async function main(argv: readonly string[], dependencies: CliDependencies = {}): Promise<number> {
  const log = dependencies.log ?? ((line: string) => console.log(line));
  const error = dependencies.error ?? ((line: string) => console.error(line));
  let args: ProvisionArgs | undefined;
  try {
    args = parseProvisionArgs(argv);
  } catch (caught) {
    if (!(caught instanceof UsageError)) throw caught;
    error(`error: ${caught.message}\n\n${USAGE}`);
    return 2;
  }
  if (!args) {
    log(USAGE);
    return 0;
  }
  const client =
    dependencies.createClient?.(args.region) ??
    new IoTClient({ ...(args.region ? { region: args.region } : {}), maxAttempts: 8, retryMode: 'adaptive' });
  const prefix = args.idPrefix ?? defaultIdPrefix(args.deviceType);
  log(`provisioning ${args.count} ${args.deviceType} device(s) as ${prefix}-00001... into ${args.outputDir}`);
  const options: ProvisionOptions = {
    client,
    count: args.count,
    deviceType: args.deviceType,
    outputDir: args.outputDir,
    ...(args.idPrefix ? { idPrefix: args.idPrefix } : {}),
    ...(args.region ? { region: args.region } : {}),
    ...(args.policyName ? { policyName: args.policyName } : {}),
    onProgress: ({ done, total }) => {
      if (done % 100 === 0 && done < total) log(`  ${done}/${total}`);
    },
  };
  try {
    const result = await provisionDevices(options);
    log(summarize(args, result));
    return 0;
  } catch (caught) {
    error(`provisioning failed: ${caught instanceof Error ? caught.message : String(caught)}`);
    error('devices provisioned before the failure are kept; re-run to continue.');
    return 1;
  } finally {
    client.destroy();
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (caught: unknown) => {
      console.error(caught);
      process.exitCode = 1;
    },
  );
}
