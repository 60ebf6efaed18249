import { describe, expect, it } from 'vitest';
import type { EnrichedMessage } from '../core/contract/messages.js';
import type { TimeseriesSink } from '../ports/timeseries.js';
import { METRICS, type MetricsRecorder } from '../shared/metrics.js';
import { timedSink } from './timed-sink.js';

function recorder() {
  const observed: { name: string; labels: unknown; value: number }[] = [];
  const metrics: MetricsRecorder = {
    add: () => undefined,
    observe: (metric, labels, value) => {
      observed.push({ name: metric.name, labels, value });
    },
  };
  return { metrics, observed };
}

describe('timedSink', () => {
  it('times writes, failed ones too', async () => {
    const { metrics, observed } = recorder();
    let clock = 0;
    const sink: TimeseriesSink = {
      write: async () => {
        clock += 250;
      },
    };
    const timed = timedSink(sink, metrics, 'duckdb', () => clock);
    await timed.write([], []);
    const failing = timedSink({ write: async () => Promise.reject(new Error('down')) }, metrics, 'duckdb');
    await expect(failing.write([], [])).rejects.toThrow('down');
    expect(observed.map((o) => o.name)).toEqual([
      METRICS.storeWriteDuration.name,
      METRICS.storeWriteDuration.name,
    ]);
    expect(observed[0]?.labels).toEqual({ store: 'duckdb' });
  });

  it("keeps a sink's replay rewrite, and offers none where the sink has none", async () => {
    const { metrics, observed } = recorder();
    const rewritten: unknown[] = [];
    const withRewrite: TimeseriesSink = {
      write: async () => undefined,
      rewrite: async (points, keys, messages) => {
        rewritten.push([points, keys, messages]);
      },
    };
    const timed = timedSink(withRewrite, metrics, 'duckdb');
    expect(timed.rewrite).toBeTypeOf('function');
    const replayed = [{ device_id: 'd' }] as unknown as EnrichedMessage[];
    await timed.rewrite?.([], [], replayed);
    expect(rewritten).toEqual([[[], [], replayed]]);
    expect(observed).toHaveLength(1);
    expect(timedSink({ write: async () => undefined }, metrics, 'dynamodb').rewrite).toBeUndefined();
  });
});
