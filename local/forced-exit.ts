/**
 * The second Ctrl+C of `npm start` (local/start.ts): what counts as a second one, and the exit it forces.
 */
import { holdWorkers } from './worker-rpc.js';

/** The exit code of a forced exit: 128 + SIGINT, as a shell reports a process Ctrl+C ended. */
export const FORCED_EXIT_CODE = 130;

/**
 * Ctrl+C reaches every process of the group, and npm forwards it to this one too: a second signal
 * within this time is the same Ctrl+C, not a second one.
 */
export const SAME_SIGNAL_MS = 1000;

/** The longest a forced exit waits for the worker threads' running calls (see holdWorkers). */
export const FORCED_EXIT_WAIT_MS = 5_000;

let exiting = false;

/**
 * Exits with `code` without finishing the stop: the worker threads take no new call, interrupt what
 * they run, and the calls they were running end first (at most FORCED_EXIT_WAIT_MS), so no native call
 * is torn down mid-way. Should one still run then, process.exit would wait for it however long and
 * could then abort (see holdWorkers): the process kills itself instead (SIGKILL, exit status 137).
 * Nothing acknowledged is lost either way: a PUBACK is sent once the message is appended and fsynced,
 * consumers resume from their committed offsets and the stores ignore what they already have.
 */
export async function forceExit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    if (await holdWorkers(FORCED_EXIT_WAIT_MS)) process.exit(code);
    process.stderr.write(
      `a worker thread's native call did not end within ${FORCED_EXIT_WAIT_MS} ms: killing the process (SIGKILL)\n`,
    );
    process.kill(process.pid, 'SIGKILL');
  }
  // A further signal while the first forced exit waits: that one exits.
  return new Promise<never>(() => undefined);
}
