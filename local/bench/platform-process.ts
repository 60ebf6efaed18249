/**
 * The local platform as its own process, started the way `npm start` starts it, on ports the OS picks
 * (port 0) and read from its start-up lines: a port probed free here could be taken by the platform's
 * own DynamoDB listener before the platform binds it. One place for the benchmarks (bench:e2e,
 * bench:soak, bench:stop, bench:startup) and the durability test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (the platform resolves its data and dashboard paths from it). */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The start-up lines that name the platform's listeners (local/start.ts prints them). */
const MQTT_LINE = /MQTT\s+(mqtt:\/\/\S+)/;
const API_LINE = /API\s+(http:\/\/\S+)\/api\/health/;
/** Printed once everything is up. */
export const RUNNING_LINE = 'IoT Cloud is running locally';

/**
 * What `npm start` runs after `node` (package.json): Node's flags, then the entry script last, so a
 * measurement runs what users run.
 */
export function npmStartArguments(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const [command, ...args] = manifest.scripts.start.trim().split(/\s+/);
  if (command !== 'node')
    throw new Error(`npm start runs "${command}", not node: update local/bench/platform-process.ts`);
  return args;
}

export interface PlatformProcessOptions {
  readonly dataDir: string;
  /** Node flags before the `npm start` ones (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Modules loaded before the entry script (`--import`), e.g. a memory probe. */
  readonly preload?: readonly string[];
  /** Platform options after the defaults (--no-simulator, OS-picked ports, quiet status). */
  readonly platformArguments?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Where the platform's stderr goes: `inherit` (default) or kept in `output()` with stdout. */
  readonly stderr?: 'inherit' | 'capture';
  /** How long start-up may take (default 60 s: a loaded 2-core machine took 12-17 s). */
  readonly startTimeoutMs?: number;
  /** Called once the process is spawned, before it is ready (a bench stops it if interrupted then). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

export interface PlatformProcess {
  readonly child: ChildProcess;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  /** Everything the platform printed so far. */
  output(): string;
}

/** The command line of a platform process (also for callers that time start-up themselves). */
export function platformCommand(options: PlatformProcessOptions): string[] {
  const startArguments = npmStartArguments();
  const script = startArguments.pop() ?? '';
  return [
    ...(options.nodeFlags ?? []),
    ...startArguments,
    ...(options.preload ?? []).flatMap((module) => ['--import', module]),
    script,
    '--no-simulator',
    '--data-dir',
    options.dataDir,
    '--mqtt-port',
    '0',
    '--http-port',
    '0',
    '--status-every',
    '3600',
    ...(options.platformArguments ?? []),
  ];
}

/** Starts the platform and resolves once it has printed both listeners' URLs. */
export async function startPlatformProcess(options: PlatformProcessOptions): Promise<PlatformProcess> {
  const child = spawn(process.execPath, platformCommand(options), {
    cwd: REPOSITORY_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', options.stderr === 'capture' ? 'pipe' : 'inherit'],
  });
  options.onSpawn?.(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    const mqttUrl = MQTT_LINE.exec(output)?.[1];
    const httpUrl = API_LINE.exec(output)?.[1];
    if (mqttUrl && httpUrl) return { child, mqttUrl, httpUrl, exited, output: () => output };
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the platform exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the platform did not start within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
