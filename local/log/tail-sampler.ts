/**
 * Samples a topic of the local log without consuming it: every `intervalMs`, the newest record of each
 * partition that grew since the last look goes to the handler, as a Lambda MSK event of those records.
 *
 * For the inspector's samples of busy topics (raw, enriched), which keep a few records a second: a
 * consumer group would read, decode and base64-encode every record only to drop almost all of them
 * (profiled under `npm run bench:e2e`, two such groups were a fifth of the pipeline thread). Best
 * effort: no offsets are committed, a failed read or handler call is reported and the next look goes on.
 */
import type { KafkaHandler } from '../../functions/ports/stream.js';
import type { LogRecord } from './frame.js';
import { toKafkaEvent } from './kafka-event.js';
import type { LocalLog } from './local-log.js';

export interface TailSamplerOptions {
  readonly topic: string;
  /** Shown in the status line and error reports. */
  readonly name: string;
  readonly intervalMs: number;
  readonly handler: KafkaHandler;
  readonly onError?: (error: unknown, context: { consumer: string; stage: string }) => void;
}

export class TailSampler {
  private readonly seen: number[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private state: 'running' | 'stopped' = 'running';
  private sampled = 0;

  constructor(
    private readonly log: LocalLog,
    private readonly options: TailSamplerOptions,
  ) {
    // Records already in the log are history, not samples of what flows now.
    this.seen = log.endOffsets(options.topic);
    this.timer = setInterval(() => void this.sampleNow(), options.intervalMs);
  }

  stats(): { readonly lag: number; readonly state: string } {
    return { lag: 0, state: this.state };
  }

  statusLine(): string {
    return `${this.options.name} [${this.options.topic}]: sampled ${this.sampled} (newest record per partition every ${this.options.intervalMs} ms)`;
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Takes a sample now (after the one in progress); the timer calls this every `intervalMs`. */
  sampleNow(): Promise<void> {
    this.running = this.running.then(() => this.look());
    return this.running;
  }

  private async look(): Promise<void> {
    if (this.state !== 'running') return;
    const { topic, name } = this.options;
    try {
      const ends = this.log.endOffsets(topic);
      const newest: { topic: string; partition: number; records: LogRecord[] }[] = [];
      for (const [partition, end] of ends.entries()) {
        if (end <= (this.seen[partition] ?? 0)) continue;
        this.seen[partition] = end;
        newest.push({ topic, partition, records: await this.log.read(topic, partition, end - 1, 1) });
      }
      if (newest.length === 0) return;
      this.sampled += newest.length;
      await this.options.handler(toKafkaEvent(newest));
    } catch (error) {
      try {
        this.options.onError?.(error, { consumer: name, stage: 'sample' });
      } catch {
        // A failing error hook must not stop the sampler.
      }
    }
  }
}
