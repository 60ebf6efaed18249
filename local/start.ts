/**
 * npm start: the whole platform on this machine, with a small simulated fleet.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBrokers } from '../functions/adapters/kafka/client.js';
// Issue 18 item 2: the second Ctrl+C's forced exit.
import { FORCED_EXIT_CODE, FORCED_EXIT_WAIT_MS, forceExit, SAME_SIGNAL_MS } from './forced-exit.js';
import { DEFAULT_RETENTION_BYTES, DEFAULT_RETENTION_MS } from './log/index.js';
import { LOCAL_TIMESERIES_STORES, type LocalTimeseriesStore, startLocalPlatform } from './runtime.js';

/** The longest a stop may take before the process exits without finishing the drain. */
const STOP_TIMEOUT_SECONDS = 30;

const USAGE = `Usage: npm start -- [options]

  --data-dir DIR      where the log, registry and time series live (default .iotcloud)
  --reset             start empty (deletes the data directory first)
  --mqtt-port N       embedded MQTT broker port on 127.0.0.1 (default 1883)
  --broker URL        use this MQTT broker instead of the embedded one (e.g. mqtt://127.0.0.1:1884)
  --http-port N       API and dashboard port on 127.0.0.1 (default 3000)
  --kafka-brokers L   use this Kafka cluster (host:port,...) instead of the local log
  --timeseries STORE  time-series store: duckdb (default, embedded) or dynamodb (the AWS DynamoDB
                      sink over the local dynalite, hourly rollups on a 5-minute timer)
  --devices N         simulated devices (default 8, two of each type)
  --no-simulator      no simulated fleet: only real devices publish
  --status-every S    seconds between status lines (default 5)
  --log-retention-hours H   local log: delete a partition's segments older than this
                      (default ${DEFAULT_RETENTION_MS / 3_600_000}); 0: keep forever
  --log-retention-bytes B   local log: keep at most about this much per partition
                      (default ${DEFAULT_RETENTION_BYTES}, 1 GiB); 0: no limit. Segments a consumer
                      group has not committed past are kept either way (they grow its lag instead)
  --api-token TOKEN   API writes need "Authorization: Bearer TOKEN" (or set IOT_CLOUD_API_TOKEN);
                      without one, writes are open to anyone who can reach the port

Stopping: Ctrl+C (SIGINT) or SIGTERM refuses new publishes, stores and acknowledges the ones in flight,
drains the pipeline and commits offsets, within ${STOP_TIMEOUT_SECONDS} s, and exits with code 0. A second
Ctrl+C exits at once with code ${FORCED_EXIT_CODE}, once the worker threads have interrupted their running calls
(at most ${FORCED_EXIT_WAIT_MS / 1000} s; past that the process kills itself, status 137); a stop past ${STOP_TIMEOUT_SECONDS} s exits the same way
with code 1. Either way every acknowledged (PUBACK) message is already in the log, and the next start
resumes from the committed offsets.
`;

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new Error(`--${name} must be a port number, got "${value}"`);
  return number;
}

/** A retention option in `unit`s: undefined for the default, 0 for none (Infinity). */
function retention(name: string, value: string | undefined, unit: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(Number.isFinite(number) && number >= 0))
    throw new Error(`--${name} must be a number >= 0, got "${value}"`);
  return number === 0 ? Number.POSITIVE_INFINITY : number * unit;
}

const OPTIONS = {
  'data-dir': { type: 'string', default: '.iotcloud' },
  reset: { type: 'boolean', default: false },
  'mqtt-port': { type: 'string' },
  broker: { type: 'string' },
  'kafka-brokers': { type: 'string' },
  timeseries: { type: 'string', default: 'duckdb' },
  'http-port': { type: 'string' },
  devices: { type: 'string' },
  'no-simulator': { type: 'boolean', default: false },
  'status-every': { type: 'string' },
  'api-token': { type: 'string' },
  'log-retention-hours': { type: 'string' },
  'log-retention-bytes': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

async function main(): Promise<number> {
  // The AWS SDK warns, once per thread, that its releases after January 2027 need Node 22. Locally it
  // only talks to the embedded dynalite, so that notice is not the user's business here (issue 17).
  // Set before any client exists; worker threads inherit it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({
      options: OPTIONS,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let platform: Awaited<ReturnType<typeof startLocalPlatform>>;
  try {
    const apiToken = values['api-token'] ?? process.env.IOT_CLOUD_API_TOKEN;
    const devices = values['no-simulator'] ? 0 : Number(values.devices ?? 8);
    if (!Number.isInteger(devices) || devices < 0 || devices > 10_000)
      throw new Error(`--devices must be 0 to 10000, got "${values.devices}"`);
    const timeseries = values.timeseries as LocalTimeseriesStore;
    if (!LOCAL_TIMESERIES_STORES.includes(timeseries))
      throw new Error(
        `--timeseries must be one of ${LOCAL_TIMESERIES_STORES.join(', ')}, got "${values.timeseries}"`,
      );
    platform = await startLocalPlatform({
      timeseries,
      dataDir: resolve(values['data-dir']),
      reset: values.reset,
      mqttPort: port('mqtt-port', values['mqtt-port'], 1883),
      httpPort: port('http-port', values['http-port'], 3000),
      // Built by `npm run build:dashboard` (npm start runs it first).
      ...(values.broker ? { externalBroker: values.broker } : {}),
      ...(values['kafka-brokers'] === undefined
        ? {}
        : { kafkaBrokers: parseBrokers(values['kafka-brokers']) }),
      simulatedDevices: devices,
      logRetention: {
        retentionMs: retention('log-retention-hours', values['log-retention-hours'], 3_600_000),
        retentionBytes: retention('log-retention-bytes', values['log-retention-bytes'], 1),
      },
      ...(apiToken ? { apiToken } : {}),
      log: (line) => print(`  ${line}`),
    });
  } catch (error) {
    process.stderr.write(`could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  print('IoT Cloud is running locally');
  print(`  dashboard   ${platform.httpUrl}/`);
  print(`  API         ${platform.httpUrl}/api/health`);
  print(`  MQTT        ${platform.mqttUrl}  (publish to dt/{deviceType}/{deviceId}/{kind})`);
  print(`  data        ${platform.dataDir}`);
  print('  Ctrl+C stops it cleanly.');

  const everyMs = Number(values['status-every'] ?? 5) * 1000;
  let previous = platform.status();
  const status = setInterval(() => {
    const now = platform.status();
    const rate = ((now.raw - previous.raw) * 1000) / everyMs;
    previous = now;
    print(
      `in ${now.received} | raw ${now.raw} (${rate.toFixed(1)}/s) | enriched ${now.enriched} | dlq ${now.dlq} | alerts ${now.alerts} (${now.suppressedAlerts} repeats suppressed) | consumer lag ${now.lag}`,
    );
  }, everyMs);

  // The first signal starts the drain; a second one (not the echo of the first, see SAME_SIGNAL_MS)
  // exits at once. Acknowledged messages are durable before their PUBACK, so that loses none of them:
  // consumers resume from their committed offsets and the store ignores what it already has.
  let stoppingSince: number | undefined;
  await new Promise<void>((resolveStop) => {
    const onSignal = () => {
      if (stoppingSince === undefined) {
        stoppingSince = Date.now();
        return resolveStop();
      }
      if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
      print('second signal: exiting now; every acknowledged message is in the log');
      void forceExit(FORCED_EXIT_CODE);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  clearInterval(status);
  print(
    `stopping (at most ${STOP_TIMEOUT_SECONDS} s): storing in-flight publishes, draining, committing offsets...`,
  );
  const overdue = setTimeout(() => {
    print(
      `the stop took longer than ${STOP_TIMEOUT_SECONDS} s (still closing: ${platform.closing() ?? 'nothing'}): exiting now; every acknowledged message is in the log`,
    );
    void forceExit(1);
  }, STOP_TIMEOUT_SECONDS * 1000);
  overdue.unref();
  const stopStarted = Date.now();
  await platform.stop();
  clearTimeout(overdue);
  const final = platform.status();
  print(
    `stopped cleanly in ${Date.now() - stopStarted} ms: raw ${final.raw}, enriched ${final.enriched}, dlq ${final.dlq}, alerts ${final.alerts}`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
