/**
 * Runs a fleet through a transport: connects every device (with its last will), publishes what falls
 * due, keeps a bounded number of publishes in flight, reports progress, and stops on a count, a
 * duration or an abort signal, waiting for every in-flight publish before it reports.
 *
 * Real-time runs follow the wall clock (simulated time = wall time). Otherwise simulated time runs as
 * fast as the machine allows: for dry runs, tests and the generation benchmark.
 */
import type { Fleet } from './fleet.js';
import type { DeliveryCounters, Transport } from './types.js';

export interface Progress {
  readonly elapsedMs: number;
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
  /** Acknowledged messages per second since the previous report. */
  readonly ratePerSecond: number;
}

export interface RunOptions {
  readonly fleet: Fleet;
  readonly transport: Transport;
  /** Follow the wall clock (default true). */
  readonly realTime?: boolean;
  /** Stop after this long (wall time when real-time, simulated time otherwise). */
  readonly durationMs?: number;
  /** Stop after this many messages (all kinds). */
  readonly count?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  readonly progressIntervalMs?: number;
  /** Publishes allowed in flight at once across the fleet (default 5,000). */
  readonly maxInFlight?: number;
  /** Wall clock, injectable for tests. */
  readonly now?: () => number;
}

export interface RunSummary {
  /** From the start of the run to the end, connecting included. */
  readonly durationMs: number;
  /** Connecting every device. */
  readonly connectMs: number;
  readonly messages: { telemetry: number; trends: number; status: number; event: number; faulty: number };
  readonly delivery: DeliveryCounters;
  /** Acknowledged messages per second while publishing (after every device connected). */
  readonly ratePerSecond: number;
  readonly stoppedBy: 'count' | 'duration' | 'signal';
}

/** Waits `ms`, or less if the signal aborts; leaves no listener behind either way. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runFleet(options: RunOptions): Promise<RunSummary> {
  const { fleet, transport } = options;
  const realTime = options.realTime ?? true;
  const now = options.now ?? Date.now;
  const maxInFlight = options.maxInFlight ?? 5000;
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  if (options.durationMs === undefined && options.count === undefined && !options.signal) {
    throw new RangeError('a run needs a duration, a count or an abort signal to end');
  }

  const startedAt = now();
  const simulatedStart = fleet.nextTickTime();
  await transport.connect(
    fleet.devices.map((d) => ({
      deviceId: d.deviceId,
      deviceType: d.deviceType,
      lastWill: d.lastWill(startedAt),
    })),
  );
  const connectedAt = now();

  // In-flight publishes are counted, not collected: waiting on a set of thousands of promises per
  // message made the run quadratic. Past the limit the run waits until half have settled.
  let pending = 0;
  let wake: (() => void) | undefined;
  let wakeBelow = 0;
  const settled = () => {
    pending--;
    if (wake && pending <= wakeBelow) {
      const resume = wake;
      wake = undefined;
      resume();
    }
  };
  const waitUntilPendingAtMost = (limit: number) =>
    pending <= limit
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wakeBelow = limit;
          wake = resolve;
        });
  const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));
  const messages = { telemetry: 0, trends: 0, status: 0, event: 0, faulty: 0 };
  let published = 0;
  let stoppedBy: RunSummary['stoppedBy'] | undefined;
  let lastReport = { at: connectedAt, acked: 0 };

  const report = (force: boolean) => {
    const at = now();
    if (!options.onProgress || (!force && at - lastReport.at < progressIntervalMs)) return;
    const { sent, acked, failed } = transport.counters;
    const seconds = Math.max(at - lastReport.at, 1) / 1000;
    options.onProgress({
      elapsedMs: at - startedAt,
      sent,
      acked,
      failed,
      ratePerSecond: (acked - lastReport.acked) / seconds,
    });
    lastReport = { at, acked };
  };

  const limitReached = (simulatedNow: number): boolean => {
    if (options.signal?.aborted) stoppedBy = 'signal';
    else if (options.count !== undefined && published >= options.count) stoppedBy = 'count';
    else if (options.durationMs !== undefined) {
      const elapsed = realTime ? now() - connectedAt : simulatedNow - simulatedStart;
      if (elapsed >= options.durationMs) stoppedBy = 'duration';
    }
    return stoppedBy !== undefined;
  };

  while (!limitReached(fleet.nextTickTime())) {
    const until = realTime ? now() : fleet.nextTickTime();
    for (const message of fleet.ticksUntil(until)) {
      if (limitReached(message.time)) break;
      messages[message.kind]++;
      if (message.fault) messages.faulty++;
      published++;
      // Failures are counted by the transport; the run goes on and reports them.
      pending++;
      transport.publish(message).then(settled, settled);
      if (pending >= maxInFlight) await waitUntilPendingAtMost(maxInFlight >> 1);
      // A simulated-time run never sleeps: let the sockets and acknowledgements in regularly.
      else if (!realTime && published % 256 === 0) await yieldToIo();
      report(false);
    }
    if (stoppedBy) break;
    if (realTime) {
      const wait = Math.min(Math.max(fleet.nextTickTime() - now(), 0), 50);
      await sleep(wait, options.signal);
    }
    report(false);
  }

  await waitUntilPendingAtMost(0);
  report(true);
  const endedAt = now();
  await transport.close();
  const delivery = { ...transport.counters };
  const publishingMs = endedAt - connectedAt;
  return {
    durationMs: endedAt - startedAt,
    connectMs: connectedAt - startedAt,
    messages,
    delivery,
    ratePerSecond: publishingMs > 0 ? (delivery.acked * 1000) / publishingMs : delivery.acked,
    stoppedBy: stoppedBy ?? 'signal',
  };
}
