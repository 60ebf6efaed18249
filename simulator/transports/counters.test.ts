import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryTracker, PublishError } from './counters.js';

describe('DeliveryTracker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts a publish that is sent and acknowledged', async () => {
    const tracker = new DeliveryTracker();
    await tracker.track('dt/a/b/telemetry', 1000, async (markSent) => {
      markSent();
    });
    expect(tracker.counters).toEqual({ sent: 1, acked: 1, failed: 0 });
  });

  it('fails a publish at its deadline, aborts the wait it asked for, and ignores a late outcome', async () => {
    const tracker = new DeliveryTracker();
    let finishLate: () => void = () => {};
    let waitAborted: unknown;
    const publish = tracker.track('dt/a/b/telemetry', 1000, async (markSent, deadline) => {
      deadline.signal.addEventListener('abort', () => {
        waitAborted = deadline.signal.reason;
      });
      markSent();
      await new Promise<void>((resolve) => {
        finishLate = resolve;
      });
    });
    const outcome = publish.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1000);

    const error = await outcome;
    expect(error).toBeInstanceOf(PublishError);
    expect((error as Error).message).toBe('publish to dt/a/b/telemetry failed: no PUBACK within 1000 ms');
    expect(waitAborted).toBe(error);
    finishLate();
    await vi.advanceTimersByTimeAsync(0);
    expect(tracker.counters).toEqual({ sent: 1, acked: 0, failed: 1 });
  });

  it('gives an aborted signal to an attempt that asks for it after the deadline', async () => {
    const tracker = new DeliveryTracker();
    let askLater: () => AbortSignal = () => new AbortController().signal;
    const publish = tracker
      .track('t', 10, (_markSent, deadline) => {
        askLater = () => deadline.signal;
        return new Promise<void>(() => {});
      })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10);
    await publish;
    expect(askLater().aborted).toBe(true);
  });

  it('wraps an error thrown at once, or a rejection, in a PublishError naming the topic', async () => {
    const tracker = new DeliveryTracker();
    const thrown = tracker.track('t1', 1000, () => {
      throw new Error('no connection');
    });
    await expect(thrown).rejects.toThrow('publish to t1 failed: no connection');
    await expect(tracker.track('t2', 1000, () => Promise.reject('a plain string'))).rejects.toThrow(
      'publish to t2 failed: a plain string',
    );
    expect(tracker.counters).toEqual({ sent: 0, acked: 0, failed: 2 });
  });
});
