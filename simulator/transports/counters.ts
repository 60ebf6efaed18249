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

/**
 * One publish attempt. It calls `markSent()` when it hands the message to the MQTT client, resolves on
 * PUBACK and rejects on failure. `signal` aborts when the publish timed out, so a pending wait (for an
 * in-flight slot, for a pacing token) can stop.
 */
export type PublishAttempt = (markSent: () => void, signal: AbortSignal) => Promise<void>;

export class DeliveryTracker {
  readonly counters: DeliveryCounters = { sent: 0, acked: 0, failed: 0 };

  /**
   * Runs `attempt` with a deadline of `timeoutMs` (covering any wait before the hand-over too) and
   * counts the outcome: acked on success, failed on error or timeout. Rejects with a PublishError.
   */
  async track(topic: string, timeoutMs: number, attempt: PublishAttempt): Promise<void> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const error = new PublishError(topic, `no PUBACK within ${timeoutMs} ms`);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    let sent = false;
    const markSent = (): void => {
      if (sent) return;
      sent = true;
      this.counters.sent += 1;
    };
    try {
      // A late rejection of `attempt` after the timeout won is handled by the race, not unhandled.
      await Promise.race([attempt(markSent, controller.signal), timeout]);
      this.counters.acked += 1;
    } catch (error) {
      this.counters.failed += 1;
      if (error instanceof PublishError) throw error;
      throw new PublishError(topic, errorMessage(error), { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
