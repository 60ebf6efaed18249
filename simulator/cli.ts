/**
 * npm run simulate -- [options]: drives a simulated fleet over real MQTT (a local broker or AWS IoT
 * Core), or prints its messages with --dry-run. Progress and the summary go to stderr, so a dry run's
 * stdout is only messages.
 */
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
  --endpoint HOST        your account's IoT data endpoint (ATS)
  --cert FILE --key FILE X.509 certificate and private key (npm run provision writes them)
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
  if (values.endpoint !== undefined && (values.cert === undefined || values.key === undefined)) {
    throw new UsageError('--endpoint needs --cert and --key (npm run provision writes them)');
  }
  if (values.endpoint !== undefined && values.broker !== undefined)
    throw new UsageError('give --endpoint or --broker, not both');

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
    iotCore:
      values.endpoint === undefined
        ? undefined
        : {
            endpoint: values.endpoint,
            certPath: values.cert as string,
            keyPath: values.key as string,
            ...(values.ca ? { caPath: values.ca } : {}),
            protocol: protocol as 'mqtt5' | 'mqtt311',
          },
  };
}

type CliOptions = ReturnType<typeof parseCli>;

function buildTransport(options: CliOptions): Transport {
  if (options.dryRun) return new DryRunTransport();
  if (options.iotCore) {
    const rate = options.schedule.mode === 'rate' ? options.schedule.messagesPerSecond : undefined;
    return createTransport({
      kind: 'iot-core',
      ...options.iotCore,
      connectionMode: options.connection,
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
  try {
    fleet = createSimulatedFleet({
      devices: options.devices,
      ...(options.deviceIds ? { deviceIds: options.deviceIds } : {}),
      ...(options.types ? { types: options.types } : {}),
      seed: options.seed,
      startTime: Date.now(),
      schedule: options.schedule,
      ...(options.faults ? { faults: options.faults } : {}),
      deviceSettings: { trendWindowMs: options.trendWindowMs, statusIntervalMs: options.statusIntervalMs },
    });
  } catch (error) {
    if (error instanceof FleetConfigError) {
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
      transport: buildTransport(options),
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
