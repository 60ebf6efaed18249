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
 * Exits with `code` without finishing the stop: the worker threads take no new call and the ones they
 * are running return first (at most FORCED_EXIT_WAIT_MS), so no native call is torn down mid-way.
 * Nothing acknowledged is lost: a PUBACK is sent once the message is appended and fsynced, consumers
 * resume from their committed offsets and the stores ignore what they already have.
 */
export async function forceExit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    await holdWorkers(FORCED_EXIT_WAIT_MS);
    process.exit(code);
  }
  // A further signal while the first forced exit waits: that one exits.
  return new Promise<never>(() => undefined);
}
