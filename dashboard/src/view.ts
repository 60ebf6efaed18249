/**
 * A view's lifetime: what it polls and fetches belongs to it and ends with it. The shell disposes the
 * current view before it shows the next one, so no timer or request outlives its view.
 */
import type { Api } from './api.js';
import { isAbort } from './api.js';
import type { DashboardConfig } from './config.js';

export interface ViewContext {
  readonly api: Api;
  readonly config: DashboardConfig;
  /** Aborted when the view is left. */
  readonly signal: AbortSignal;
  /** The hash query (`#/alerts?severity=high`). */
  readonly params: URLSearchParams;
  /**
   * Runs `task` now and then `every` ms after each run has finished (never two at once), until the
   * view is left. Returns a function that runs it again at once (after a filter changed).
   */
  poll(task: (signal: AbortSignal) => Promise<void>, every?: number): () => void;
  /** Replaces the hash query without re-rendering the view (filters survive a reload). */
  setParams(params: Record<string, string | undefined>): void;
}

export type View = (root: HTMLElement, context: ViewContext) => void;

export class ViewScope {
  private readonly controller = new AbortController();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** How many timers are pending (the end-to-end test reads it through the shell to prove none leak). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  poll(
    task: (signal: AbortSignal) => Promise<void>,
    every: number,
    onError: (error: unknown) => void,
  ): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;
    const run = async () => {
      if (timer !== undefined) {
        clearTimeout(timer);
        this.timers.delete(timer);
        timer = undefined;
      }
      if (this.signal.aborted) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        await task(this.signal);
      } catch (error) {
        if (!isAbort(error) && !this.signal.aborted) onError(error);
      } finally {
        running = false;
      }
      if (this.signal.aborted) return;
      if (again) {
        again = false;
        void run();
        return;
      }
      timer = setTimeout(() => {
        if (timer !== undefined) this.timers.delete(timer);
        timer = undefined;
        void run();
      }, every);
      this.timers.add(timer);
    };
    void run();
    return () => void run();
  }

  dispose(): void {
    this.controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
