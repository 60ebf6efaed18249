import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// local/bench/bench-dir.ts through a bench process (the fixture): interrupted, or failing.

const FIXTURE = fileURLToPath(new URL('./bench-dir.fixture.ts', import.meta.url));

/** The fixture as a bench process, and the JSON line it prints once its directory exists. */
async function startBench(mode: 'interrupt' | 'fail') {
  const bench = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
  const printed = await new Promise<{ dir: string; writer?: number }>((resolve, reject) => {
    let output = '';
    bench.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line) resolve(JSON.parse(line));
    });
    bench.once('exit', (code) =>
      reject(new Error(`the bench exited (${code}) before printing its directory`)),
    );
  });
  return { bench, exited, ...printed };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('bench directory', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('on %s stops the process writing in it, then removes it (exit %i)', async (signal, code) => {
    const { bench, exited, dir, writer } = await startBench('interrupt');
    await waitFor(() => existsSync(join(dir, 'data')), 'the first write');

    bench.kill(signal);

    expect(await exited).toBe(code);
    expect(existsSync(dir)).toBe(false);
    expect(alive(writer ?? 0)).toBe(false);
  });

  it('is removed when the bench fails with an uncaught error', async () => {
    const { exited, dir } = await startBench('fail');

    expect(await exited).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });
});
