/**
 * npm run simulate -- [options]: drives a simulated fleet over real MQTT (a local broker or AWS IoT
 * Core), or prints its messages with --dry-run. Progress and the summary go to stderr, so a dry run's
 * stdout is only messages.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { seedRegistry } from '../registry-data/index.js';
import {
  createSimulatedFleet,
  createTransport,
  DryRunTransport,
  FleetConfigError,
  type Progress,
  parseFaultSpec,
  type RunSummary,
  runFleet,
  type Schedule,
  type Transport,
} from './index.js';
import { MANIFEST_FILE, readManifest } from './provision.js';

const USAGE = `Usage: npm run simulate -- [options]

Fleet
  --devices N            number of devices (default 10)
  --types a,b            device types, assigned round-robin (default: all: ${seedRegistry.deviceTypes.map((t) => t.typeId).join(', ')})
  --device-ids a,b       explicit device ids (overrides --devices)
  --rate R               fixed total rate in messages per second
  --interval S           per-device telemetry interval in seconds (default: the type's update frequency)
  --seed N               seed for values and faults (default 1)
  --faults SPEC          e.g. overload=0.01,malformed=0.001 or all=0.01
  --trend-window S       trend window in seconds (default 300)
  --status-interval S    status message interval in seconds (default 300)

Run
  --duration D           stop after D (e.g. 90s, 5m, 1h; a bare number is seconds)
  --count N              stop after N messages
  --dry-run              no network: print messages as JSON lines, in simulated time (default --count 100)

Local broker
  --broker URL           MQTT broker (default mqtt://127.0.0.1:1883)
  --mqtt-version V       3.1.1 or 5 (default 3.1.1; the embedded aedes broker speaks 3.1.1 only)
  --connection MODE      per-device (each device its own connection and last will) or shared
                         (default: per-device up to 200 devices, shared above)

AWS IoT Core
  --credentials DIR      devices provisioned by npm run provision (default folder .iotcloud/credentials):
                         simulates exactly those devices, each on its own certificate and connection
  --endpoint HOST        your account's IoT data endpoint (ATS; read from the credentials when given)
  --cert FILE --key FILE one X.509 certificate and key for every device (only works with a policy that
                         lets one certificate act for all of them; the provisioned policy does not)
  --ca FILE              root CA, if your trust store lacks Amazon Root CA 1
  --protocol P           mqtt5 or mqtt311 (default mqtt5)
`;

class UsageError extends Error {}

const positiveNumber = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive number, got "${value}"`);
  return number;
};

const positiveInteger = (name: string, value: string | undefined): number | undefined => {
  const number = positiveNumber(name, value);
  if (number !== undefined && !Number.isInteger(number))
    throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  return number;
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new UsageError(`--duration must look like 90s, 5m or 1h, got "${value}"`);
  return Math.round(Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] as number));
}

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);

export function parseCli(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      devices: { type: 'string' },
      types: { type: 'string' },
      'device-ids': { type: 'string' },
      rate: { type: 'string' },
      interval: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      'trend-window': { type: 'string' },
      'status-interval': { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      broker: { type: 'string' },
      'mqtt-version': { type: 'string' },
      connection: { type: 'string' },
      endpoint: { type: 'string' },
      credentials: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      ca: { type: 'string' },
      protocol: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const rate = positiveNumber('rate', values.rate);
  const interval = positiveNumber('interval', values.interval);
  if (rate !== undefined && interval !== undefined)
    throw new UsageError('give --rate or --interval, not both');
  const schedule: Schedule =
    rate !== undefined
      ? { mode: 'rate', messagesPerSecond: rate }
      : interval !== undefined
        ? { mode: 'interval', seconds: interval }
        : { mode: 'interval' };
  const deviceIds = list(values['device-ids']);
  const devices = deviceIds?.length ?? positiveInteger('devices', values.devices) ?? 10;
  const dryRun = values['dry-run'] === true;
  let count = positiveInteger('count', values.count);
  const durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
  if (dryRun && count === undefined && durationMs === undefined) count = 100;

  const mqttVersion = values['mqtt-version'] ?? '3.1.1';
  if (mqttVersion !== '3.1.1' && mqttVersion !== '5')
    throw new UsageError(`--mqtt-version must be 3.1.1 or 5, got "${mqttVersion}"`);
  const connection = values.connection ?? (devices <= 200 ? 'per-device' : 'shared');
  if (connection !== 'per-device' && connection !== 'shared') {
    throw new UsageError(`--connection must be per-device or shared, got "${connection}"`);
  }
  const protocol = values.protocol ?? 'mqtt5';
  if (protocol !== 'mqtt5' && protocol !== 'mqtt311')
    throw new UsageError(`--protocol must be mqtt5 or mqtt311, got "${protocol}"`);
  const credentials = values.credentials;
  if (
    values.endpoint !== undefined &&
    credentials === undefined &&
    (values.cert === undefined || values.key === undefined)
  ) {
    throw new UsageError('--endpoint needs --credentials DIR (from npm run provision), or --cert and --key');
  }
  if ((values.endpoint !== undefined || credentials !== undefined) && values.broker !== undefined) {
    throw new UsageError('give AWS IoT Core options (--credentials, --endpoint) or --broker, not both');
  }

  return {
    help: values.help === true,
    dryRun,
    count,
    durationMs,
    seed: positiveInteger('seed', values.seed) ?? 1,
    devices,
    deviceIds,
    types: list(values.types),
    schedule,
    faults: values.faults === undefined ? undefined : parseFaultSpec(values.faults),
    trendWindowMs: (positiveNumber('trend-window', values['trend-window']) ?? 300) * 1000,
    statusIntervalMs: (positiveNumber('status-interval', values['status-interval']) ?? 300) * 1000,
    broker: values.broker ?? 'mqtt://127.0.0.1:1883',
    mqttVersion: mqttVersion === '5' ? (5 as const) : (4 as const),
    connection: connection as 'per-device' | 'shared',
    credentials,
    iotCore:
      values.endpoint === undefined && credentials === undefined
        ? undefined
        : {
            endpoint: values.endpoint,
            certPath: values.cert,
            keyPath: values.key,
            ...(values.ca ? { caPath: values.ca } : {}),
            protocol: protocol as 'mqtt5' | 'mqtt311',
          },
  };
}

interface ProvisionedFleet {
  readonly endpoint: string;
  readonly deviceIds: string[];
  readonly deviceTypes: string[];
  readonly certificates: Map<string, { certPath: string; keyPath: string }>;
}

/** Reads the manifest `npm run provision` wrote: which devices exist, their types and certificates. */
async function loadProvisionedFleet(directory: string): Promise<ProvisionedFleet> {
  const path = join(directory, MANIFEST_FILE);
  const manifest = await readManifest(path);
  if (!manifest || manifest.devices.length === 0) {
    throw new UsageError(
      `no provisioned devices in ${path}: run npm run provision -- --count N --type T first`,
    );
  }
  const folder = resolve(directory);
  return {
    endpoint: manifest.endpoint,
    deviceIds: manifest.devices.map((d) => d.deviceId),
    deviceTypes: manifest.devices.map((d) => d.deviceType),
    certificates: new Map(
      manifest.devices.map((d) => [
        d.deviceId,
        { certPath: resolve(folder, d.certificatePath), keyPath: resolve(folder, d.privateKeyPath) },
      ]),
    ),
  };
}

type CliOptions = ReturnType<typeof parseCli>;

function buildTransport(options: CliOptions, provisioned: ProvisionedFleet | undefined): Transport {
  if (options.dryRun) return new DryRunTransport();
  if (options.iotCore) {
    const rate = options.schedule.mode === 'rate' ? options.schedule.messagesPerSecond : undefined;
    const endpoint = options.iotCore.endpoint ?? provisioned?.endpoint;
    const fallback = provisioned?.certificates.values().next().value;
    const certPath = options.iotCore.certPath ?? fallback?.certPath;
    const keyPath = options.iotCore.keyPath ?? fallback?.keyPath;
    if (!endpoint || !certPath || !keyPath) {
      throw new UsageError('AWS IoT Core needs an endpoint and certificates: use --credentials DIR');
    }
    return createTransport({
      kind: 'iot-core',
      endpoint,
      certPath,
      keyPath,
      ...(options.iotCore.caPath ? { caPath: options.iotCore.caPath } : {}),
      protocol: options.iotCore.protocol,
      // A provisioned certificate may only act for its own thing: one connection per device.
      connectionMode: provisioned ? 'per-device' : options.connection,
      ...(provisioned ? { deviceCredentials: provisioned.certificates } : {}),
      ...(rate !== undefined ? { messagesPerSecond: rate } : {}),
    });
  }
  return createTransport({
    kind: 'mqtt',
    url: options.broker,
    protocolVersion: options.mqttVersion,
    connectionMode: options.connection,
  });
}

const formatRate = (value: number) => value.toFixed(1).padStart(8);

function progressLine(progress: Progress): string {
  return `rate ${formatRate(progress.ratePerSecond)} msg/s | sent ${progress.sent} | acked ${progress.acked} | failed ${progress.failed}`;
}

function summaryText(summary: RunSummary): string {
  const m = summary.messages;
  return [
    `simulated run stopped by ${summary.stoppedBy} after ${(summary.durationMs / 1000).toFixed(1)} s`,
    `messages: ${m.telemetry} telemetry, ${m.trends} trends, ${m.status} status, ${m.event} events (${m.faulty} deliberately faulty)`,
    `delivery: sent ${summary.delivery.sent}, acknowledged ${summary.delivery.acked}, failed ${summary.delivery.failed}`,
    `rate: ${summary.ratePerSecond.toFixed(1)} acknowledged msg/s`,
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let fleet: ReturnType<typeof createSimulatedFleet>;
  let provisioned: ProvisionedFleet | undefined;
  let transport: Transport;
  try {
    provisioned =
      options.credentials === undefined ? undefined : await loadProvisionedFleet(options.credentials);
    if (
      options.iotCore &&
      options.faults &&
      (options.faults['malformed.unknown_type'] ?? options.faults.malformed ?? 0) > 0
    ) {
      process.stderr.write(
        'note: against AWS IoT Core a device may publish only on its own topics; unknown_type faults use another topic and IoT Core will close that connection\n',
      );
    }
    fleet = createSimulatedFleet({
      devices: options.devices,
      ...(provisioned ? { deviceIds: provisioned.deviceIds, deviceTypes: provisioned.deviceTypes } : {}),
      ...(!provisioned && options.deviceIds ? { deviceIds: options.deviceIds } : {}),
      ...(options.types ? { types: options.types } : {}),
      seed: options.seed,
      startTime: Date.now(),
      schedule: options.schedule,
      ...(options.faults ? { faults: options.faults } : {}),
      deviceSettings: { trendWindowMs: options.trendWindowMs, statusIntervalMs: options.statusIntervalMs },
    });
    transport = buildTransport(options, provisioned);
  } catch (error) {
    if (error instanceof FleetConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const interactive = process.stderr.isTTY === true;
  try {
    const summary = await runFleet({
      fleet,
      transport,
      realTime: !options.dryRun,
      ...(options.count !== undefined ? { count: options.count } : {}),
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
      signal: abort.signal,
      progressIntervalMs: interactive ? 1000 : 5000,
      onProgress: options.dryRun
        ? undefined
        : (progress) =>
            process.stderr.write(interactive ? `\r${progressLine(progress)}` : `${progressLine(progress)}\n`),
    });
    process.stderr.write(`${interactive ? '\n' : ''}${summaryText(summary)}\n`);
    return summary.delivery.failed > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`\nsimulation failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
