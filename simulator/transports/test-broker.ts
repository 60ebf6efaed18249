/**
 * Throw-away MQTT brokers on 127.0.0.1 and a free port, for tests (and anyone wanting a local broker):
 * `startAedes()` embeds aedes (MQTT 3.1.1) in this process; `startMosquitto()` runs Debian's `mosquitto`
 * (MQTT 3.1.1 and 5) as a child process with a temporary config.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Aedes, type AedesOptions } from 'aedes';
import { connectAsync } from 'mqtt';

export interface TestBroker {
  /** `mqtt://127.0.0.1:{port}` */
  readonly url: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Stops the broker and drops every connection (idempotent). */
  close(): Promise<void>;
}

export interface AedesBroker extends TestBroker {
  readonly broker: Aedes;
}

/** Starts aedes on 127.0.0.1 and a free port. `options` go to aedes (e.g. an `authorizePublish` hook). */
export async function startAedes(options?: AedesOptions): Promise<AedesBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = portOf(server);
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    broker,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      })();
      return closing;
    },
  };
}

/** A port nothing listens on right now (bound to port 0, read, released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface MosquittoOptions {
  /** The mosquitto binary (default: `mosquitto` on PATH, else /usr/sbin/mosquitto). */
  readonly binary?: string;
  /** How long to wait until it accepts TCP connections (default 10 s). */
  readonly startTimeoutMs?: number;
}

export interface MosquittoBroker extends TestBroker {
  /** What mosquitto wrote to stdout/stderr so far (for failure messages). */
  readonly log: () => string;
}

/**
 * Starts Debian's mosquitto on 127.0.0.1 and a free port (anonymous, no persistence) and resolves once
 * it accepts TCP connections. Rejects with a clear message when mosquitto is not installed.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const binary = options.binary ?? findMosquitto();
  if (!binary || !isExecutable(binary)) {
    throw new Error(
      `mosquitto is not installed (looked for ${binary ?? '`mosquitto` on PATH and /usr/sbin/mosquitto'}); ` +
        'install it with `apt-get install -y mosquitto` (CI does this in .ci/run)',
    );
  }
  // The port is free when probed; another process could take it before mosquitto binds, so retry.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startMosquittoOnce(binary, await freePort(), options.startTimeoutMs ?? 10_000);
    } catch (error) {
      lastError = error;
      if (!(error instanceof MosquittoBindError)) break;
    }
  }
  throw lastError;
}

class MosquittoBindError extends Error {}

async function startMosquittoOnce(
  binary: string,
  port: number,
  startTimeoutMs: number,
): Promise<MosquittoBroker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mosquitto-'));
  const configPath = path.join(dir, 'mosquitto.conf');
  await writeFile(
    configPath,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join(
      '\n',
    ),
  );
  const child = spawn(binary, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const stop = async (): Promise<void> => {
    await killChild(child, exited);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + startTimeoutMs;
  let running = true;
  void exited.then(() => {
    running = false;
  });
  let failure: Error | undefined;
  void spawnError.then((error) => {
    failure = error;
  });
  while (!(await accepts(port))) {
    if (failure) {
      await stop();
      throw new Error(`could not run ${binary}: ${failure.message}`);
    }
    if (!running) {
      await stop();
      const message = `mosquitto exited before accepting connections on port ${port}:\n${output}`;
      throw /address already in use/i.test(output) ? new MosquittoBindError(message) : new Error(message);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `mosquitto did not accept connections on port ${port} within ${startTimeoutMs} ms:\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    log: () => output,
    close() {
      closing ??= stop();
      return closing;
    },
  };
}

async function killChild(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 3000);
  });
  await Promise.race([exited, forced]);
  await exited;
  clearTimeout(timer);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Whether the MQTT 5 tests against Mosquitto run: always in CI, where .ci/run installs it (so a missing
 * broker fails the build there), and on a developer machine when mosquitto is installed. Elsewhere
 * they are reported as skipped, so `npm test` passes right after `npm install`.
 */
export const mosquittoTestsEnabled = (): boolean =>
  process.env.CI !== undefined || findMosquitto() !== undefined;

function findMosquitto(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(dir, 'mosquitto');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: string;
}

export interface Subscriber {
  /** Every message received so far, in arrival order. */
  readonly messages: ReceivedMessage[];
  /** Publishes at QoS 1 from the subscriber's own connection (e.g. a sentinel marking "all seen"). */
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** An mqtt.js client subscribed (QoS 1) to `filter` before this resolves. */
export async function startSubscriber(
  url: string,
  filter = 'dt/#',
  protocolVersion: 4 | 5 = 4,
): Promise<Subscriber> {
  const client = await connectAsync(url, {
    clientId: `subscriber-${Math.random().toString(16).slice(2, 10)}`,
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  const messages: ReceivedMessage[] = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString('utf8') }));
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    close: async () => {
      await client.endAsync(false).catch(() => client.endAsync(true));
    },
  };
}

/** Polls `predicate` until it holds; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
