/**
 * A forced exit while a worker thread runs a native call: process.exit would wait for that call however
 * long it runs, then DuckDB's binding aborts the process from the call's completion
 * (`terminate called after throwing an instance of 'Napi::Error'`, seen after a 30-minute bench:soak).
 * The forced exit interrupts the call first (worker-rpc.ts holdWorkers), and a call that cannot be
 * interrupted ends in a SIGKILL after FORCED_EXIT_WAIT_MS rather than an exit held open.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FORCED_EXIT_CODE, FORCED_EXIT_WAIT_MS } from './forced-exit.js';

const FIXTURE = new URL('./forced-exit-native.fixture.ts', import.meta.url).pathname;
/** Past this the process did neither: the test kills it and fails. */
const GIVE_UP_MS = FORCED_EXIT_WAIT_MS + 25_000;

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

function runFixture(interrupt: boolean): Promise<Ended> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, ...(interrupt ? { FIXTURE_INTERRUPT: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const giveUp = setTimeout(() => child.kill('SIGKILL'), GIVE_UP_MS);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(giveUp);
      resolve({ code, signal, output });
    }),
  );
}

describe('a forced exit while a worker thread runs a DuckDB statement', () => {
  it('interrupts the statement and exits with the forced-exit code, printing no native error', {
    timeout: GIVE_UP_MS + 30_000,
  }, async () => {
    const ended = await runFixture(true);

    expect(ended.output).toContain('forcing the exit');
    expect({ code: ended.code, signal: ended.signal }, ended.output).toEqual({
      code: FORCED_EXIT_CODE,
      signal: null,
    });
    expect(ended.output).not.toMatch(/Napi|terminate called|Abort/i);
  });

  it('kills the process when the call cannot be interrupted, instead of waiting for it', {
    timeout: GIVE_UP_MS + 30_000,
  }, async () => {
    const ended = await runFixture(false);

    expect(ended.output).toContain('forcing the exit');
    expect(ended.signal, ended.output).toBe('SIGKILL');
    // Killed by itself (it says so), not by the test's give-up timer.
    expect(ended.output).toContain(`did not end within ${FORCED_EXIT_WAIT_MS} ms`);
  });
});
