/**
 * Flow control shared by the transports: AWS IoT Core connection sizing, a token bucket that paces a
 * connection, an in-flight limiter (back-pressure on unacknowledged publishes), and bounded concurrency.
 * Everything here is pure or driven by an injected clock, so it is unit-tested without a network.
 */

/** AWS IoT Core's limit: publish requests per second per connection. */
export const IOT_CORE_PUBLISHES_PER_SECOND_PER_CONNECTION = 100;

/**
 * How many connections a shared pool needs so none exceeds `perConnection` publishes per second:
 * ceil(rate / perConnection), at least 1.
 */
export function connectionsFor(
  messagesPerSecond: number,
  perConnection: number = IOT_CORE_PUBLISHES_PER_SECOND_PER_CONNECTION,
): number {
  if (!Number.isFinite(messagesPerSecond) || messagesPerSecond < 0) {
    throw new RangeError(`messagesPerSecond must be a finite number >= 0, got ${messagesPerSecond}`);
  }
  if (!Number.isFinite(perConnection) || perConnection <= 0) {
    throw new RangeError(`perConnection must be a finite number > 0, got ${perConnection}`);
  }
  return Math.max(1, Math.ceil(messagesPerSecond / perConnection));
}

/**
 * A token bucket that hands out reservations: `reserve()` takes one token and returns how many
 * milliseconds the caller must wait before using it (0 when a token is available now). Tokens refill at
 * `ratePerSecond` up to `capacity`; reservations beyond the available tokens queue up in time, so callers
 * that each wait their returned delay never exceed the rate, however late their timers fire.
 *
 * Kept in the equivalent "theoretical arrival time" form (GCRA): with rate 100/s every reservation is an
 * exact multiple of 10 ms after the previous one, free of fractional-token rounding.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  /** When the bucket would be empty again if nothing more were taken (epoch ms). */
  private theoreticalArrival: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity = 1,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new RangeError(`ratePerSecond must be a finite number > 0, got ${ratePerSecond}`);
    }
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
    }
    this.intervalMs = 1000 / ratePerSecond;
    this.toleranceMs = (capacity - 1) * this.intervalMs;
    this.theoreticalArrival = Number.NEGATIVE_INFINITY;
  }

  /** Takes a token only if one is available now (for sampling: what finds none is skipped). */
  tryTake(): boolean {
    const now = this.now();
    const arrival = Math.max(this.theoreticalArrival, now);
    if (arrival - this.toleranceMs > now) return false;
    this.theoreticalArrival = arrival + this.intervalMs;
    return true;
  }

  /** Takes a token; returns the delay in ms until it may be used. */
  reserve(): number {
    const now = this.now();
    const arrival = Math.max(this.theoreticalArrival, now);
    const sendAt = Math.max(now, arrival - this.toleranceMs);
    this.theoreticalArrival = arrival + this.intervalMs;
    return sendAt - now;
  }
}

/** Resolves after `ms` (at once for 0); rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Counts unacknowledged publishes on one connection: `acquire()` waits while `limit` are in flight,
 * `release()` frees a slot (on PUBACK or failure). The limit may be lowered after connecting (an MQTT 5
 * broker's Receive Maximum).
 */
export class InFlightLimiter {
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];

  constructor(private limitValue: number) {
    this.setLimit(limitValue);
  }

  get inFlight(): number {
    return this.active;
  }

  get limit(): number {
    return this.limitValue;
  }

  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`in-flight limit must be an integer >= 1, got ${limit}`);
    this.limitValue = limit;
    this.drain();
  }

  /** Takes a slot if one is free and nobody waits for one; false otherwise (then `acquire`). */
  tryAcquire(): boolean {
    if (this.active >= this.limitValue || this.waiters.length > 0) return false;
    this.active += 1;
    return true;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    if (this.active > 0) this.active -= 1;
    this.drain();
    if (this.active === 0 && this.waiters.length === 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const done of idle) done();
    }
  }

  /** Rejects every publish still waiting for a slot (the connection is closing). */
  rejectWaiting(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Resolves once nothing is in flight. */
  whenIdle(): Promise<void> {
    if (this.active === 0 && this.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private drain(): void {
    while (this.active < this.limitValue) {
      const next = this.waiters.shift();
      if (!next) return;
      this.active += 1;
      next.resolve();
    }
  }
}

/**
 * Runs `task` for every item with at most `concurrency` running at once and returns the results in
 * order. After the first failure no new task starts; the running ones finish, then it rejects with that
 * first error and `onPartialFailure` receives the results that did succeed (to clean them up).
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
  onPartialFailure?: (succeeded: R[]) => Promise<void>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const succeeded: R[] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next;
      next += 1;
      try {
        const result = await task(items[index] as T, index);
        results[index] = result;
        succeeded.push(result);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) {
    if (onPartialFailure) await onPartialFailure(succeeded);
    throw failure.error;
  }
  return results;
}
