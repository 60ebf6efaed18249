/**
 * moto's AWS API server (moto from integration/aws/requirements.txt, installed into .venv-integration
 * by scripts/test-integration.sh) on an OS-picked port, for the integration tier, started through
 * serve_moto.py (moto_server's start-up with one request at a time: see there why). One server holds
 * every service; the tests point the SDK clients at it with `endpoint`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, REPO_ROOT } from '../kafka/broker.js';

const PYTHON = join(REPO_ROOT, '.venv-integration', 'bin', 'python');
const SERVE_MOTO = fileURLToPath(new URL('./serve_moto.py', import.meta.url));
const READY_DEADLINE_MS = 60_000;

export interface MotoServer {
  /** `http://127.0.0.1:port`. */
  readonly endpoint: string;
  readonly logFile: string;
  readonly startMs: number;
  stop(keepFiles?: boolean): Promise<void>;
}

export function motoUnavailableReason(): string | undefined {
  if (!existsSync(PYTHON))
    return `no ${PYTHON} (npm run test:integration installs moto into .venv-integration)`;
  return undefined;
}

export async function startMotoServer(): Promise<MotoServer> {
  const reason = motoUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'iot-cloud-moto-'));
  const logFile = join(dir, 'moto.log');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const log = openSync(logFile, 'a');
  const started = performance.now();
  const server = spawn(PYTHON, [SERVE_MOTO, String(port)], {
    stdio: ['ignore', log, log],
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const deadline = Date.now() + READY_DEADLINE_MS;
  let ready = false;
  while (!ready && Date.now() < deadline && server.exitCode === null) {
    // moto's own management API answers once the server serves requests.
    ready = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' }).then(
      (response) => response.ok,
      () => false,
    );
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!ready) {
    server.kill('SIGKILL');
    await exited;
    throw new Error(`moto_server did not answer within ${READY_DEADLINE_MS} ms; its log: ${logFile}`);
  }
  return {
    endpoint,
    logFile,
    startMs: performance.now() - started,
    stop: async (keepFiles = false) => {
      if (server.exitCode === null) {
        server.kill('SIGTERM');
        await exited;
      }
      if (!keepFiles) rmSync(dir, { recursive: true, force: true });
    },
  };
}
