import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimeSeriesPoint } from '../../functions/core/timeseries.js';
import { DuckDbTimeseriesStore, MEASURE_PATTERN } from './duckdb-store.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const MINUTE = 60_000;

function point(overrides: Partial<TimeSeriesPoint> = {}): TimeSeriesPoint {
  return {
    deviceId: 'breaker-001',
    deviceType: 'smart_breaker',
    measure: 'voltage.phase_a',
    kind: 'telemetry',
    time: T0,
    value: 120.1,
    valueType: 'DOUBLE',
    quality: 'GOOD',
    ...overrides,
  };
}

/** `count` numeric points of one series, one a second from `start`, valued 1, 2, ... count. */
const ramp = (count: number, start = T0, overrides: Partial<TimeSeriesPoint> = {}) =>
  Array.from({ length: count }, (_, i) => point({ time: start + i * 1000, value: i + 1, ...overrides }));

let dir: string;
const open: DuckDbTimeseriesStore[] = [];

async function openStore(path = join(dir, 'ts.duckdb')): Promise<DuckDbTimeseriesStore> {
  const store = await DuckDbTimeseriesStore.open({ path });
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-ts-'));
});

afterEach(async () => {
  try {
    vi.restoreAllMocks();
    // DuckDB holds a file lock: every instance is closed before the next test opens the same kind of file.
    await Promise.all(open.splice(0).map((store) => store.close()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('DuckDbTimeseriesStore message counts', () => {
  it('counts each message of a device once: one per kind and time, however often it was written', async () => {
    const store = await openStore();
    const message = (time: number) => [point({ time }), point({ time, measure: 'frequency', value: 60 })];
    await store.write([
      ...message(T0),
      ...message(T0 + 1000),
      point({ time: T0, kind: 'status', measure: 'status.online', value: true, valueType: 'BOOLEAN' }),
    ]);
    await store.write(message(T0 + 1000)); // a redelivered message
    await store.write([point({ deviceId: 'breaker-002', time: T0 })]);

    const counts = await store.messageCounts(['breaker-001', 'breaker-002', 'breaker-003']);

    expect(Object.fromEntries(counts)).toEqual({ 'breaker-001': 3, 'breaker-002': 1 });
  });

  it('refuses a device id that is not one before it reaches SQL', async () => {
    const store = await openStore();

    await expect(store.messageCounts(["x' OR 1=1 --"])).rejects.toThrow(RangeError);
  });
});

describe('DuckDbTimeseriesStore writes', () => {
  it('stores a batch written twice once (at-least-once delivery)', async () => {
    const store = await openStore();
    const batch = [
      ...ramp(100),
      point({ measure: 'frequency', value: 60.01 }),
      point({ measure: 'frequency', value: 60.01 }), // repeated inside the batch too
    ];

    await store.write(batch);
    await store.write(batch);
    await store.write(batch.slice(50));

    expect(await store.count()).toBe(101);
  });

  it('keeps the first stored value when a redelivery differs (the key is device, measure, time)', async () => {
    const store = await openStore();
    await store.write([point({ value: 1 })]);
    await store.write([point({ value: 2 })]);

    expect(
      await store.series({
        deviceId: 'breaker-001',
        measure: 'voltage.phase_a',
        from: T0,
        to: T0 + 1,
        limit: 10,
      }),
    ).toEqual([{ time: T0, value: 1, quality: 'GOOD' }]);
  });

  it('stores every point of concurrent writes, including writes started as others finish', async () => {
    const store = await openStore();
    const chained: Promise<void>[] = [];
    const writes = Array.from({ length: 60 }, (_, message) => {
      const points = Array.from({ length: 25 }, (_, m) =>
        point({ deviceId: `dev-${message % 6}`, measure: `m${m}`, time: T0 + message * 1000, value: m }),
      );
      // A write queued from a settled write's continuation must start a new drain, not be stranded.
      return store.write(points).then(() => {
        chained.push(store.write([point({ deviceId: `late-${message}` })]));
      });
    });
    // Duplicates racing with the originals.
    writes.push(store.write([point({ deviceId: 'dev-0', measure: 'm0', time: T0, value: 0 })]));

    await Promise.all(writes);
    await Promise.all(chained);

    expect(await store.count()).toBe(60 * 25 + 60);
  });

  it('writes nothing of a batch with an invalid point, and says which field', async () => {
    const store = await openStore();
    await expect(store.write([point(), point({ measure: 'Voltage' })])).rejects.toThrow(
      /points\[1\]\.measure/,
    );
    await expect(store.write([point({ time: 1.5 })])).rejects.toThrow(RangeError);
    await expect(store.write([point({ value: 'text' })])).rejects.toThrow(/valueType DOUBLE/);
    await expect(store.write([point({ valueType: 'BIGINT', value: 1.5 })])).rejects.toThrow(RangeError);

    expect(await store.count()).toBe(0);
  });

  it('round-trips boolean, string, integer and double values with their types', async () => {
    const store = await openStore();
    await store.write([
      point({ measure: 'protection.arc_fault_detected', valueType: 'BOOLEAN', value: false }),
      point({ measure: 'status.online', kind: 'status', valueType: 'BOOLEAN', value: true }),
      point({ measure: 'status.firmware_version', kind: 'status', valueType: 'VARCHAR', value: '2.1.0' }),
      point({ measure: 'event.message', kind: 'event', valueType: 'VARCHAR', value: 'it\'s "quoted"; --' }),
      point({ measure: 'protection.trip_count', valueType: 'BIGINT', value: 9_007_199_254_740_991 }),
      point({ measure: 'frequency', valueType: 'DOUBLE', value: 60.01 }),
    ]);

    const values = Object.fromEntries((await store.latest('breaker-001')).map((v) => [v.measure, v.value]));

    expect(values).toStrictEqual({
      'event.message': 'it\'s "quoted"; --',
      frequency: 60.01,
      'protection.arc_fault_detected': false,
      'protection.trip_count': 9_007_199_254_740_991,
      'status.firmware_version': '2.1.0',
      'status.online': true,
    });
  });
});

describe('DuckDbTimeseriesStore options', () => {
  it('refuses a thread count that is not a positive integer', async () => {
    await expect(DuckDbTimeseriesStore.open({ path: ':memory:', threads: 0 })).rejects.toThrow(/threads/);
    await expect(DuckDbTimeseriesStore.open({ path: ':memory:', threads: 1.5 })).rejects.toThrow(/threads/);
  });

  it('refuses a memory limit under 1 MiB', async () => {
    await expect(DuckDbTimeseriesStore.open({ path: ':memory:', memoryLimitBytes: 1000 })).rejects.toThrow(
      /memoryLimitBytes/,
    );
  });
});

describe('DuckDbTimeseriesStore memory', () => {
  const MB = 1024 * 1024;
  const total = (byTag: Record<string, number>) =>
    Object.values(byTag).reduce((sum, bytes) => sum + bytes, 0);
  /** `count` string points of distinct times from `first`, each value 200 random characters (little to compress). */
  const noisy = (first: number, count: number) =>
    Array.from({ length: count }, (_, i) =>
      point({
        deviceId: `meter-${String((first + i) % 50).padStart(3, '0')}`,
        measure: 'note',
        kind: 'event',
        time: T0 + first + i,
        valueType: 'VARCHAR',
        value: randomBytes(150).toString('base64'),
      }),
    );

  it('keeps its memory under the limit while the stored data outgrows it', async () => {
    // Prepare: a 24 MB ceiling; without one, this data kept 30-41 MB of table blocks in memory.
    const limit = 24 * MB;
    const store = await DuckDbTimeseriesStore.open({ path: join(dir, 'ts.duckdb'), memoryLimitBytes: limit });
    open.push(store);
    // Act: 25 batches of 5,000 points, about 40 MB once stored.
    let most = 0;
    for (let batch = 0; batch < 25; batch++) {
      await store.write(noisy(batch * 5000, 5000));
      most = Math.max(most, total(await store.memoryByTag()));
    }
    // Assess: every point is stored, and DuckDB never held more than the limit.
    expect(await store.count()).toBe(125_000);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(limit);
  }, 120_000);
});

describe('DuckDbTimeseriesStore queries', () => {
  it('returns the newest point of every measure of a device, SUSPECT ones included', async () => {
    const store = await openStore();
    await store.write([
      point({ measure: 'frequency', time: T0, value: 60 }),
      point({ measure: 'frequency', time: T0 + 5000, value: 61.5, quality: 'SUSPECT' }),
      point({ measure: 'temperature', time: T0 + 1000, value: 45 }),
      point({ measure: 'temperature', time: T0 - 1000, value: 44 }),
      point({ deviceId: 'breaker-002', measure: 'frequency', time: T0 + 9000, value: 59 }),
    ]);

    expect(await store.latest('breaker-001')).toEqual([
      { measure: 'frequency', value: 61.5, time: T0 + 5000, quality: 'SUSPECT' },
      { measure: 'temperature', value: 45, time: T0 + 1000, quality: 'GOOD' },
    ]);
    expect(await store.latest('nobody')).toEqual([]);
  });

  it('returns raw points oldest first, from inclusive and to exclusive, at most limit', async () => {
    const store = await openStore();
    await store.write(ramp(10).reverse());
    await store.write([point({ measure: 'frequency', time: T0 + 2000, value: 60 })]);
    const query = { deviceId: 'breaker-001', measure: 'voltage.phase_a', from: T0 + 2000, to: T0 + 5000 };

    const window = await store.series({ ...query, limit: 100 });
    expect(window.map((p) => p.time)).toEqual([T0 + 2000, T0 + 3000, T0 + 4000]);
    expect(window[0]).toEqual({ time: T0 + 2000, value: 3, quality: 'GOOD' });

    expect((await store.series({ ...query, limit: 2 })).map((p) => p.value)).toEqual([3, 4]);
    expect(await store.series({ ...query, to: query.from, limit: 10 })).toEqual([]);
  });

  it('aggregates numeric points into exact buckets, oldest first, at most limit', async () => {
    const store = await openStore();
    // Values 1..600, one a second over 10 minutes from a 5-minute boundary.
    await store.write(ramp(600));
    const query = {
      deviceId: 'breaker-001',
      measure: 'voltage.phase_a',
      from: T0,
      to: T0 + 10 * MINUTE,
      bucketMs: 5 * MINUTE,
    };

    expect(await store.buckets({ ...query, limit: 100 })).toEqual([
      { time: T0, avg: 150.5, min: 1, max: 300, count: 300 },
      { time: T0 + 5 * MINUTE, avg: 450.5, min: 301, max: 600, count: 300 },
    ]);
    expect(await store.buckets({ ...query, limit: 1 })).toEqual([
      { time: T0, avg: 150.5, min: 1, max: 300, count: 300 },
    ]);
    // Buckets are aligned to the epoch, not to `from`; the window still bounds the points.
    expect(await store.buckets({ ...query, from: T0 + 2.5 * MINUTE, limit: 100 })).toEqual([
      { time: T0, avg: 225.5, min: 151, max: 300, count: 150 },
      { time: T0 + 5 * MINUTE, avg: 450.5, min: 301, max: 600, count: 300 },
    ]);
  });

  it('aggregates integer measures and leaves boolean and string measures out of buckets', async () => {
    const store = await openStore();
    await store.write([
      point({ measure: 'voltage.phase_a.count', valueType: 'BIGINT', value: 60 }),
      point({ measure: 'voltage.phase_a.count', valueType: 'BIGINT', value: 59, time: T0 + 1000 }),
      point({ measure: 'status.online', valueType: 'BOOLEAN', value: true }),
      point({ measure: 'status.firmware_version', valueType: 'VARCHAR', value: '2.1.0' }),
    ]);
    const window = { deviceId: 'breaker-001', from: T0, to: T0 + MINUTE, bucketMs: MINUTE, limit: 10 };

    expect(await store.buckets({ ...window, measure: 'voltage.phase_a.count' })).toEqual([
      { time: T0, avg: 59.5, min: 59, max: 60, count: 2 },
    ]);
    expect(await store.buckets({ ...window, measure: 'status.online' })).toEqual([]);
    expect(await store.buckets({ ...window, measure: 'status.firmware_version' })).toEqual([]);
  });

  it('buckets a larger data set exactly (size check, no timing)', async () => {
    const store = await openStore();
    const hours = 6;
    const series = ramp(hours * 3600);
    const others = Array.from({ length: 4 }, (_, d) =>
      ramp(hours * 360, T0, { deviceId: `breaker-${d + 2}` }).map((p, i) => ({
        ...p,
        time: T0 + i * 10_000,
      })),
    ).flat();
    for (let i = 0; i < series.length; i += 5000) await store.write(series.slice(i, i + 5000));
    await store.write(others);
    expect(await store.count()).toBe(series.length + others.length);

    const buckets = await store.buckets({
      deviceId: 'breaker-001',
      measure: 'voltage.phase_a',
      from: T0,
      to: T0 + hours * 60 * MINUTE,
      bucketMs: 5 * MINUTE,
      limit: 10_000,
    });

    expect(buckets).toHaveLength(hours * 12);
    buckets.forEach((bucket, i) => {
      expect(bucket).toEqual({
        time: T0 + i * 5 * MINUTE,
        avg: i * 300 + 150.5,
        min: i * 300 + 1,
        max: i * 300 + 300,
        count: 300,
      });
    });
  });
});

describe('DuckDbTimeseriesStore validation', () => {
  const valid = { deviceId: 'breaker-001', measure: 'voltage.phase_a', from: T0, to: T0 + MINUTE, limit: 10 };
  const hostile = [
    "breaker-001' OR '1'='1",
    'breaker-001; DROP TABLE points; --',
    '',
    ' breaker-001',
    'x'.repeat(129),
  ];

  it('accepts measures with a trend statistic and rejects deeper or odd ones', () => {
    expect(MEASURE_PATTERN.test('voltage.phase_a.avg')).toBe(true);
    expect(MEASURE_PATTERN.test('status.online')).toBe(true);
    expect(MEASURE_PATTERN.test('a.b.c.d')).toBe(false);
    expect(MEASURE_PATTERN.test('Voltage')).toBe(false);
    expect(MEASURE_PATTERN.test("voltage' --")).toBe(false);
  });

  it('rejects bad identifiers with a RangeError naming the field, before any query', async () => {
    const store = await openStore();
    await store.write([point()]);
    const run = vi.spyOn(DuckDBConnection.prototype, 'runAndReadAll');

    for (const deviceId of hostile) {
      await expect(store.latest(deviceId)).rejects.toThrow(/^deviceId/);
      await expect(store.series({ ...valid, deviceId })).rejects.toThrow(RangeError);
      await expect(store.buckets({ ...valid, deviceId, bucketMs: 60_000 })).rejects.toThrow(/deviceId/);
    }
    for (const measure of ["voltage' OR 1=1 --", 'voltage.phase_a.avg.x', 'VOLTAGE', '']) {
      await expect(store.series({ ...valid, measure })).rejects.toThrow(/^measure/);
      await expect(store.buckets({ ...valid, measure, bucketMs: 60_000 })).rejects.toThrow(RangeError);
    }
    expect(run).not.toHaveBeenCalled();

    run.mockRestore();
    expect(await store.count()).toBe(1);
  });

  it('rejects bad limits, bucket sizes and windows with a RangeError', async () => {
    const store = await openStore();
    const run = vi.spyOn(DuckDBConnection.prototype, 'runAndReadAll');

    for (const limit of [0, 10_001, 1.5, Number.NaN]) {
      await expect(store.series({ ...valid, limit })).rejects.toThrow(/^limit/);
    }
    for (const bucketMs of [999, 0, -60_000, 1500.5, Number.POSITIVE_INFINITY]) {
      await expect(store.buckets({ ...valid, bucketMs })).rejects.toThrow(/^bucketMs/);
    }
    await expect(store.series({ ...valid, from: Number.NaN })).rejects.toThrow(/^from/);
    await expect(store.series({ ...valid, to: valid.from - 1 })).rejects.toThrow(RangeError);
    expect(run).not.toHaveBeenCalled();

    run.mockRestore();
    expect(await store.series({ ...valid, limit: 10_000 })).toEqual([]);
    expect(await store.buckets({ ...valid, bucketMs: 1000 })).toEqual([]);
  });
});

describe('DuckDbTimeseriesStore persistence', () => {
  it('has every point after a reopen, and stays idempotent against the stored points', async () => {
    const path = join(dir, 'nested', 'data', 'timeseries.duckdb');
    const first = await DuckDbTimeseriesStore.open({ path });
    const batch = [
      ...ramp(300),
      point({ measure: 'status.online', kind: 'status', valueType: 'BOOLEAN', value: true }),
    ];
    await first.write(batch);
    const latest = await first.latest('breaker-001');
    await first.close();

    const second = await openStore(path);
    expect(await second.count()).toBe(301);
    expect(await second.latest('breaker-001')).toEqual(latest);

    await second.write(batch);
    expect(await second.count()).toBe(301);
  });

  it('refuses writes and reads after close, and closes twice quietly', async () => {
    const store = await DuckDbTimeseriesStore.open({ path: ':memory:' });
    const pending = store.write(ramp(10));
    await store.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(store.write([point()])).rejects.toThrow(/closed/);
    await expect(store.count()).rejects.toThrow(/closed/);
    await store.close();
  });
});

describe('DuckDbTimeseriesStore interrupt (a forced exit)', () => {
  it('ends every queued call, starts no statement after, and keeps each write whole or absent', async () => {
    const path = join(dir, 'timeseries.duckdb');
    const store = await DuckDbTimeseriesStore.open({ path });
    await store.write(ramp(300));
    // Ten writes of 50 points each, queued behind one another, and reads among them.
    const writes = Array.from({ length: 10 }, (_, i) => store.write(ramp(50, T0 + (1 + i) * 3_600_000)));
    const reads = [store.count(), store.latest('breaker-001')];

    store.interrupt();
    const written = await Promise.allSettled(writes);
    await Promise.allSettled(reads);
    await expect(store.write([point({ time: T0 - MINUTE })])).rejects.toThrow(/closed/);
    await expect(store.count()).rejects.toThrow(/closed/);
    await store.close();

    const reopened = await openStore(path);
    const resolved = written.filter((outcome) => outcome.status === 'fulfilled').length;
    expect(resolved).toBeLessThan(writes.length);
    expect(await reopened.count()).toBe(300 + 50 * resolved);
  });
});

describe('DuckDbTimeseriesStore rewrite (a replay, issue 16)', () => {
  it("replaces a message's points: a changed verdict is updated, a point now BAD goes, others stay", async () => {
    const store = await openStore();
    await store.write([
      point({ measure: 'voltage.phase_a', value: 120 }),
      point({ measure: 'frequency', value: 60 }),
      point({ time: T0 + 1000, measure: 'frequency', value: 61 }),
    ]);
    const key = { deviceId: 'breaker-001', kind: 'telemetry' as const, time: T0 };

    // The new definition: voltage SUSPECT, frequency BAD (not stored).
    await store.rewrite([point({ measure: 'voltage.phase_a', value: 120, quality: 'SUSPECT' })], [key]);
    await store.rewrite([point({ measure: 'voltage.phase_a', value: 120, quality: 'SUSPECT' })], [key]);

    const window = { deviceId: 'breaker-001', from: T0, to: T0 + 60_000, limit: 100 };
    expect(await store.series({ ...window, measure: 'voltage.phase_a' })).toEqual([
      { time: T0, value: 120, quality: 'SUSPECT' },
    ]);
    expect((await store.series({ ...window, measure: 'frequency' })).map((p) => p.value)).toEqual([61]);
    expect(await store.count()).toBe(2);
  });
});
