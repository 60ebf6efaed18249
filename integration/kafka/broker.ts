/**
 * A single-node Apache Kafka broker (KRaft: broker and controller in one JVM, no ZooKeeper) for the
 * integration tier, from the jars that integration/kafka/pom.xml pins (fetched into .cache/kafka-libs
 * by scripts/test-integration.sh). Each start gets a fresh temp dir (data, server.properties,
 * server.log) and two OS-picked ports; `stop` ends the JVM and removes the dir unless told to keep it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const KAFKA_LIBS = join(REPO_ROOT, '.cache', 'kafka-libs');
const LOG4J_CONFIG = fileURLToPath(new URL('./log4j2.properties', import.meta.url));
/** Bounded wait for the broker to answer metadata requests (cold JVM on a loaded two-core machine). */
const READY_DEADLINE_MS = 90_000;

export interface KafkaBroker {
  /** `127.0.0.1:port` of the PLAINTEXT listener. */
  readonly bootstrap: string;
  /** The temp dir: server.properties, data/, server.log. */
  readonly dir: string;
  readonly logFile: string;
  /** Milliseconds spent formatting the storage and from the JVM's spawn to the first answer. */
  readonly formatMs: number;
  readonly startMs: number;
  /** Stops the JVM; `keepFiles` leaves the temp dir (and its log) in place. */
  stop(keepFiles?: boolean): Promise<void>;
}

/** Why the broker cannot be started here, or undefined when it can. */
export function kafkaUnavailableReason(): string | undefined {
  if (!existsSync(KAFKA_LIBS) || !readdirSync(KAFKA_LIBS).some((name) => name.startsWith('kafka_2.13-')))
    return `no Kafka jars in ${KAFKA_LIBS} (npm run test:integration fetches them with mvn)`;
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function javaCommand(mainClass: string, args: readonly string[], extraJvm: readonly string[] = []) {
  return [
    '-Xms256m',
    '-Xmx768m',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${LOG4J_CONFIG}`,
    ...extraJvm,
    '-cp',
    join(KAFKA_LIBS, '*'),
    mainClass,
    ...args,
  ];
}

function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.trim()}`)),
    );
  });
}

function serverProperties(dir: string, brokerPort: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    // As MSK Serverless: topics exist only when created (the custom resource does it).
    'auto.create.topics.enable=false',
    // One node: every internal topic with one replica.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Fewer internal partitions and no join delay: the group tests rebalance in seconds, not minutes.
    'offsets.topic.num.partitions=3',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

async function waitUntilReady(bootstrap: string, jvm: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (jvm.exitCode !== null)
      throw new Error(`the Kafka broker exited with ${jvm.exitCode} while starting; its log: ${logFile}`);
    const admin = new Kafka({
      clientId: 'integration-ready-check',
      brokers: [bootstrap],
      connectionTimeout: 1000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `the Kafka broker did not answer within ${READY_DEADLINE_MS} ms (${String(lastError)}); its log: ${logFile}`,
  );
}

export async function startKafkaBroker(): Promise<KafkaBroker> {
  const reason = kafkaUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'iot-cloud-kafka-'));
  const logFile = join(dir, 'server.log');
  const brokerPort = await freePort();
  const controllerPort = await freePort();
  const bootstrap = `127.0.0.1:${brokerPort}`;
  writeFileSync(join(dir, 'server.properties'), serverProperties(dir, brokerPort, controllerPort));

  const formatStarted = performance.now();
  await run(
    'java',
    javaCommand(
      'kafka.tools.StorageTool',
      [
        'format',
        '--cluster-id',
        // Any 22-character base64url id; a fixed one keeps the command reproducible.
        'aW90LWNsb3VkLXRlc3RzAA',
        '--config',
        'server.properties',
        '--ignore-formatted',
      ],
      [`-Dkafka.logs.dir=${dir}`],
    ),
    dir,
  );
  const formatMs = performance.now() - formatStarted;

  const started = performance.now();
  const jvm = spawn('java', javaCommand('kafka.Kafka', ['server.properties'], [`-Dkafka.logs.dir=${dir}`]), {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const exited = new Promise<void>((resolve) => jvm.once('exit', () => resolve()));
  try {
    await waitUntilReady(bootstrap, jvm, logFile);
  } catch (error) {
    jvm.kill('SIGKILL');
    await exited;
    throw error;
  }
  const startMs = performance.now() - started;

  return {
    bootstrap,
    dir,
    logFile,
    formatMs,
    startMs,
    stop: async (keepFiles = false) => {
      if (jvm.exitCode === null) {
        // SIGTERM is Kafka's controlled shutdown; a broker stuck past the deadline is killed.
        jvm.kill('SIGTERM');
        const timer = setTimeout(() => jvm.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (!keepFiles) rmSync(dir, { recursive: true, force: true });
    },
  };
}
