/**
 * Simulator benchmark (npm run bench:sim):
 *  1. generation: messages built per second by a 1,000-device mixed fleet in simulated time, no
 *     network (physics, faults off, trends, status, JSON);
 *  2. publishing: acknowledged QoS-1 messages per second from 1,000 devices, each on its own MQTT
 *     connection, to an aedes broker on 127.0.0.1 in a child process (so broker and simulator do not
 *     share a core), and the simulator's own CPU per message (what it takes from a platform on the
 *     same machine, as in bench:e2e).
 * Usage: npm run bench:sim [-- --messages 200000 --publish 30000 --devices 1000]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { createSimulatedFleet, createTransport, runFleet } from '../index.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    publish: { type: 'string', default: '30000' },
    devices: { type: 'string', default: '1000' },
  },
});
const generateCount = Number(values.messages);
const publishCount = Number(values.publish);
const devices = Number(values.devices);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const START = Date.parse('2026-11-23T00:00:00.000Z');

function generationRate(): { rate: number; bytes: number } {
  const fleet = createSimulatedFleet({
    devices,
    seed: 42,
    startTime: START,
    schedule: { mode: 'rate', messagesPerSecond: 10_000 },
  });
  // Warm-up, then time a fixed number of messages.
  let produced = 0;
  for (const _ of fleet.ticksUntil(START + 2_000)) produced++;
  let bytes = 0;
  produced = 0;
  const started = process.hrtime.bigint();
  let until = START + 2_000;
  while (produced < generateCount) {
    until += 1000;
    for (const message of fleet.ticksUntil(until)) {
      bytes += message.payload.length;
      if (++produced >= generateCount) break;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rate: produced / seconds, bytes: bytes / produced };
}

/** Starts aedes in a child process on a free port of 127.0.0.1 and returns the port. */
async function startBrokerProcess(): Promise<{ port: number; child: ChildProcess }> {
  const code = `
    import net from 'node:net';
    import { Aedes } from 'aedes';
    const broker = await Aedes.createBroker();
    const server = net.createServer(broker.handle);
    server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await Promise.race([
    once(child.stdout as NonNullable<typeof child.stdout>, 'data'),
    once(child, 'exit').then(() => {
      throw new Error('the aedes broker process exited before listening');
    }),
  ])) as [Buffer];
  const match = /PORT (\d+)/.exec(line.toString());
  if (!match) throw new Error(`unexpected broker output: ${line.toString()}`);
  return { port: Number(match[1]), child };
}

async function publishRate() {
  const { port, child } = await startBrokerProcess();
  try {
    const fleet = createSimulatedFleet({
      devices,
      seed: 42,
      startTime: START,
      schedule: { mode: 'rate', messagesPerSecond: 10_000 },
    });
    const transport = createTransport({
      kind: 'mqtt',
      url: `mqtt://127.0.0.1:${port}`,
      protocolVersion: 4,
      connectionMode: 'per-device',
    });
    const cpuBefore = process.cpuUsage();
    const summary = await runFleet({ fleet, transport, realTime: false, count: publishCount });
    const cpu = process.cpuUsage(cpuBefore);
    return { ...summary, cpuMicrosPerMessage: (cpu.user + cpu.system) / Math.max(summary.delivery.acked, 1) };
  } finally {
    child.kill();
  }
}

const generation = generationRate();
console.log(
  `generation: ${fmt(generation.rate)} msg/s (${fmt(generateCount)} messages, ${devices} devices, avg ${fmt(generation.bytes)} B, no network, target >= 50,000)`,
);
const publishing = await publishRate();
console.log(
  `publish to local aedes (child process), ${devices} devices on their own MQTT 3.1.1 connections, QoS 1: ` +
    `${fmt(publishing.ratePerSecond)} acknowledged msg/s (${fmt(publishing.delivery.acked)} acked, ${publishing.delivery.failed} failed; ` +
    `connecting the ${devices} devices took ${fmt(publishing.connectMs)} ms); ` +
    `the simulator's own CPU: ${publishing.cpuMicrosPerMessage.toFixed(1)} µs per message`,
);
