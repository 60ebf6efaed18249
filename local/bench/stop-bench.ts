/**
 * How long a stop takes under a burst (npm run bench:stop): the platform runs as `npm start` runs it
 * (no simulator, empty temporary data directory, OS-picked ports); devices publish QoS 1 as fast as the
 * acknowledgements allow; once `--after` PUBACKs arrived the platform gets SIGINT, and the time from the
 * signal to its exit is printed, with its exit code and its own "stopped cleanly" line.
 * Usage: npm run bench:stop [-- --devices 20 --in-flight 40 --after 5000 --runs 3]
 */
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { makeBenchDir, removeBenchDir, writesInBenchDir } from './bench-dir.js';
import { startPlatformProcess } from './platform-process.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '20' },
    'in-flight': { type: 'string', default: '40' },
    after: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '3' },
  },
});
const DEVICES = Number(values.devices);
const IN_FLIGHT = Number(values['in-flight']);
const AFTER = Number(values.after);
const RUNS = Number(values.runs);

async function run(): Promise<string> {
  const dataDir = makeBenchDir('iotcloud-stop-bench-');
  const platform = await startPlatformProcess({ dataDir, onSpawn: writesInBenchDir }).catch(
    (error: unknown) => {
      removeBenchDir(dataDir);
      throw error;
    },
  );
  const { child, mqttUrl: url } = platform;
  const exited = platform.exited.then(({ code }) => code);
  let acked = 0;
  let signalledAt = 0;
  const clients = Array.from({ length: DEVICES }, (_, d) => {
    const deviceId = `stop-bench-${d}`;
    const client = mqtt.connect(url, { clientId: deviceId, reconnectPeriod: 0 });
    let seq = 0;
    const next = () => {
      if (!client.connected) return;
      const payload = JSON.stringify({
        device_id: deviceId,
        timestamp: new Date(Date.now() - 60_000 + seq).toISOString(),
        event_type: 'telemetry',
        measurements: { energy: seq++, demand: 12.5, power_factor: 0.95 },
      });
      client.publishAsync(`dt/smart_meter/${deviceId}/telemetry`, payload, { qos: 1 }).then(
        () => {
          acked++;
          if (acked === AFTER) {
            signalledAt = Date.now();
            child.kill('SIGINT');
          }
          next();
        },
        () => undefined,
      );
    };
    client.on('connect', () => {
      for (let i = 0; i < IN_FLIGHT; i++) next();
    });
    client.on('error', () => undefined);
    return client;
  });
  const code = await exited;
  const stopMs = Date.now() - signalledAt;
  for (const client of clients) client.end(true);
  removeBenchDir(dataDir);
  const stopped = /stopped cleanly[^\n]*/.exec(platform.output())?.[0] ?? '(no "stopped cleanly" line)';
  return `SIGINT after ${AFTER} PUBACKs (${acked} in all): exit ${code} ${stopMs} ms after the signal; ${stopped}`;
}

for (let i = 0; i < RUNS; i++) process.stdout.write(`${await run()}\n`);
