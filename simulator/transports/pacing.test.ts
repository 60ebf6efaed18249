import { describe, expect, it } from 'vitest';
import { InFlightLimiter, mapWithConcurrency } from './pacing.js';

describe('InFlightLimiter', () => {
  it('lets `limit` through, queues the rest in order, and wakes them on release', async () => {
    const limiter = new InFlightLimiter(2);
    const order: number[] = [];
    const acquired = [1, 2, 3, 4].map((n) => limiter.acquire().then(() => order.push(n)));
    await Promise.all(acquired.slice(0, 2));
    expect(order).toEqual([1, 2]);
    expect(limiter.inFlight).toBe(2);
    limiter.release();
    await acquired[2];
    expect(order).toEqual([1, 2, 3]);
    limiter.release();
    await acquired[3];
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('takes a free slot at once with tryAcquire, and never jumps a queue', async () => {
    const limiter = new InFlightLimiter(1);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const waiting = limiter.acquire();
    limiter.release();
    // The slot went to the waiter, not to a later tryAcquire.
    expect(limiter.tryAcquire()).toBe(false);
    await waiting;
    limiter.release();
    expect(limiter.tryAcquire()).toBe(true);
  });

  it('drops a waiter whose signal aborts, and resolves whenIdle once all are released', async () => {
    const limiter = new InFlightLimiter(1);
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    const idle = limiter.whenIdle();
    limiter.release();
    await idle;
    expect(limiter.inFlight).toBe(0);
  });

  it('rejects waiters when the connection closes and honours a lowered limit', async () => {
    const limiter = new InFlightLimiter(3);
    limiter.setLimit(1);
    await limiter.acquire();
    const waiting = limiter.acquire();
    limiter.rejectWaiting(new Error('closing'));
    await expect(waiting).rejects.toThrow('closing');
  });
});

describe('mapWithConcurrency', () => {
  it('never runs more than `concurrency` tasks at once and keeps the order of results', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapWithConcurrency([...Array(20).keys()], 4, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running -= 1;
      return n * 2;
    });
    expect(peak).toBe(4);
    expect(results).toEqual([...Array(20).keys()].map((n) => n * 2));
  });

  it('stops starting tasks after a failure and hands the successes to the cleanup', async () => {
    const started: number[] = [];
    let cleaned: number[] = [];
    const run = mapWithConcurrency(
      [...Array(10).keys()],
      2,
      async (n) => {
        started.push(n);
        await new Promise((resolve) => setImmediate(resolve));
        if (n === 3) throw new Error('boom');
        return n;
      },
      async (succeeded) => {
        cleaned = succeeded;
      },
    );
    await expect(run).rejects.toThrow('boom');
    expect(started.length).toBeLessThan(10);
    expect(cleaned.sort()).toEqual(started.filter((n) => n !== 3).sort());
  });
});
