/**
 * A benchmark's temporary directory, removed when the benchmark ends, also when it is interrupted
 * (Ctrl+C, SIGTERM) or fails: a run's data directory reaches hundreds of MB (gigabytes for a soak), and
 * an interrupted bench used to leave it in the temp dir. On an interrupt the processes writing in it
 * (the platform as its own process) are stopped and awaited first, so the removal does not race their
 * last writes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long an interrupted bench waits for a writer's clean stop before it kills it. */
const WRITER_STOP_MS = 15_000;

const directories = new Set<string>();
const writers = new Set<ChildProcess>();
let handlersInstalled = false;

const removeAll = () => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
};

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function stopWriter(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // A Ctrl+C reached the platform too (same process group): it takes this SIGTERM as the same stop.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), WRITER_STOP_MS);
  await exited;
  clearTimeout(timer);
}

function onInterrupt(signal: NodeJS.Signals, code: number): void {
  console.error(`\n${signal}: stopping and removing ${[...directories].join(', ') || 'nothing'}`);
  void Promise.all([...writers].map(stopWriter)).finally(() => process.exit(code));
}

/** A new directory `{os temp dir}/{prefix}XXXXXX`, removed at the latest when the bench exits. */
export function makeBenchDir(prefix: string): string {
  if (!handlersInstalled) {
    handlersInstalled = true;
    // Also after an uncaught error: Node emits 'exit' then too (not on a signal, hence the handlers below).
    process.once('exit', removeAll);
    // once: a second Ctrl+C while the stop waits ends the bench at once (the default action).
    process.once('SIGINT', () => onInterrupt('SIGINT', 130));
    process.once('SIGTERM', () => onInterrupt('SIGTERM', 143));
  }
  const directory = mkdtempSync(join(tmpdir(), prefix));
  directories.add(directory);
  return directory;
}

/** A process writing in a bench directory: an interrupt stops it (and waits) before the removal. */
export function writesInBenchDir(child: ChildProcess): void {
  writers.add(child);
  child.once('exit', () => writers.delete(child));
}

export function removeBenchDir(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  directories.delete(directory);
}
