/**
 * Delivery bookkeeping shared by the transports: the sent/acked/failed counters, the per-publish timeout,
 * and the error a failed publish rejects with (it always names the topic).
 */
import type { DeliveryCounters } from '../types.js';

/** A publish that failed (error, timeout, no connection); the message names the topic. */
export class PublishError extends Error {
  readonly topic: string;

  constructor(topic: string, reason: string, options?: { cause?: unknown }) {
    super(`publish to ${topic} failed: ${reason}`, options);
    this.name = 'PublishError';
    this.topic = topic;
  }
}

/** The readable text of anything thrown (aws-crt rejects some promises with plain strings). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** Wraps anything thrown in an Error with `context` in front of its message. */
export function contextError(context: string, error: unknown): Error {
  return new Error(`${context}: ${errorMessage(error)}`, { cause: error });
}

/** A publish's deadline: `signal` aborts once it has passed. */
export interface PublishDeadline {
  readonly signal: AbortSignal;
}

/**
 * One publish attempt. It calls `markSent()` when it hands the message to the MQTT client, resolves on
 * PUBACK and rejects on failure. `deadline.signal` aborts when the publish timed out, so a pending wait
 * (for an in-flight slot, for a pacing token) can stop; ask for it only before such a wait.
 */
export type PublishAttempt = (markSent: () => void, deadline: PublishDeadline) => Promise<void>;

export class DeliveryTracker {
  readonly counters: DeliveryCounters = { sent: 0, acked: 0, failed: 0 };

  /**
   * Runs `attempt` with a deadline of `timeoutMs` (covering any wait before the hand-over too) and
   * counts the outcome: acked on success, failed on error or timeout. Rejects with a PublishError.
   *
   * The deadline's AbortController is made only when the attempt asks for its signal: most publishes
   * never wait, and one controller per publish was about a tenth of the simulator's CPU when it
   * published as fast as it could (profiled under `npm run bench:e2e`).
   */
  track(topic: string, timeoutMs: number, attempt: PublishAttempt): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      let timedOut: PublishError | undefined;
      const deadline: PublishDeadline = {
        get signal() {
          if (!controller) {
            controller = new AbortController();
            if (timedOut) controller.abort(timedOut);
          }
          return controller.signal;
        },
      };
      const succeed = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.counters.acked += 1;
        resolve();
      };
      // A late outcome of `attempt` after the timeout is ignored (and never left unhandled).
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.counters.failed += 1;
        reject(
          error instanceof PublishError
            ? error
            : new PublishError(topic, errorMessage(error), { cause: error }),
        );
      };
      const timer = setTimeout(() => {
        timedOut = new PublishError(topic, `no PUBACK within ${timeoutMs} ms`);
        controller?.abort(timedOut);
        fail(timedOut);
      }, timeoutMs);
      let sent = false;
      const markSent = (): void => {
        if (sent) return;
        sent = true;
        this.counters.sent += 1;
      };
      try {
        attempt(markSent, deadline).then(succeed, fail);
      } catch (error) {
        fail(error);
      }
    });
  }
}
