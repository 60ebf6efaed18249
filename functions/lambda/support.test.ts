import { describe, expect, it } from 'vitest';
import { RecordingProducer, Refreshing } from './support.js';

describe('Refreshing', () => {
  it('loads on first use, serves the cached value, and re-reads once older than the period', async () => {
    let now = 0;
    let loads = 0;
    const value = new Refreshing({ load: async () => ++loads, refreshMs: 60_000, now: () => now });

    const first = await value.current();
    now = 59_999;
    const cached = await value.current();
    now = 60_000;
    const refreshed = await value.current();

    expect([first, cached, refreshed]).toEqual([1, 1, 2]);
  });

  it('keeps the previous value when a refresh fails, reports it, and waits a period before trying again', async () => {
    let now = 0;
    let fail = false;
    let loads = 0;
    const errors: unknown[] = [];
    const value = new Refreshing({
      load: async () => {
        loads++;
        if (fail) throw new Error('table throttled');
        return `v${loads}`;
      },
      refreshMs: 1000,
      now: () => now,
      onRefreshError: (error) => errors.push(error),
    });
    await value.current();
    fail = true;
    now = 1000;

    const kept = await value.current();
    now = 1500;
    const stillKept = await value.current();

    expect([kept, stillKept, loads, errors.length]).toEqual(['v1', 'v1', 2, 1]);
  });

  it('fails the first load (nothing to serve yet)', async () => {
    const value = new Refreshing({
      load: async () => Promise.reject(new Error('no table')),
      refreshMs: 1000,
    });

    await expect(value.current()).rejects.toThrow(/no table/);
  });
});

describe('RecordingProducer', () => {
  it('remembers what was durably sent, per topic, and the sends that failed', async () => {
    const recording = new RecordingProducer({
      send: async (topic) => {
        if (topic === 'iot.dlq') throw new Error('down');
      },
    });

    await recording.send('iot.raw', [{ key: 'a', value: Buffer.from('1') }]);
    await expect(recording.send('iot.dlq', [{ key: 'b', value: Buffer.from('2') }])).rejects.toThrow('down');

    expect(recording.sent('iot.raw').map((r) => r.key)).toEqual(['a']);
    expect(recording.sent('iot.dlq')).toEqual([]);
    expect(recording.failures.map((f) => f.topic)).toEqual(['iot.dlq']);
  });
});
