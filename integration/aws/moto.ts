/**
 * moto's AWS API server (moto_server from integration/aws/requirements.txt, installed into
 * .venv-integration by scripts/test-integration.sh) on an OS-picked port, for the integration tier.
 * One server holds every service; the tests point the SDK clients at it with `endpoint`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '../kafka/broker.js';

export const MOTO_SERVER = join(REPO_ROOT, '.venv-integration', 'bin', 'moto_server');
const READY_DEADLINE_MS = 60_000;

export interface MotoServer {
  /** `http://127.0.0.1:port`. */
  readonly endpoint: string;
  readonly logFile: string;
  readonly startMs: number;
  stop(keepFiles?: boolean): Promise<void>;
}

export function motoUnavailableReason(): string | undefined {
  if (!existsSync(MOTO_SERVER))
    return `no ${MOTO_SERVER} (npm run test:integration installs moto into .venv-integration)`;
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
  const server = spawn(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
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
