import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RetainedRecord } from '../../functions/ports/data-ops.js';
import { LocalLog } from '../log/index.js';
import { makeTempDir, record, removeDir } from '../log/test-helpers.js';
import { localLogRangeReader } from './log-range-reader.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const TOPIC = 'test.topic';
let dataDir: string;
let log: LocalLog;

beforeEach(async () => {
  dataDir = await makeTempDir();
  // Small segments: the lookup skips whole segments by their first record's time.
  log = new LocalLog({ dataDir, topics: { [TOPIC]: 2 }, segmentBytes: 1024, onWarning: () => {} });
  await log.open();
  for (let i = 0; i < 100; i++) {
    await log.send(TOPIC, [
      record(`device-${i % 2}`, `value-${i}`, { timestamp: T0 + i * 1000, headers: { n: String(i) } }),
    ]);
  }
});

afterEach(async () => {
  try {
    await log.close();
  } finally {
    await removeDir(dataDir);
  }
});

describe('LocalLog.offsetForTimestamp', () => {
  it('finds the earliest offset at or after a time, across segments, or the end', async () => {
    const partition = log.partitionFor(TOPIC, 'device-0');
    const all = await log.read(TOPIC, partition, 0, 1000);
    const target = all[30];
    if (!target) throw new Error('too few records');

    expect(await log.offsetForTimestamp(TOPIC, partition, target.timestamp)).toBe(target.offset);
    expect(await log.offsetForTimestamp(TOPIC, partition, target.timestamp - 1)).toBe(target.offset);
    expect(await log.offsetForTimestamp(TOPIC, partition, T0 - 1)).toBe(0);
    expect(await log.offsetForTimestamp(TOPIC, partition, T0 + 1_000_000)).toBe(
      log.endOffset(TOPIC, partition),
    );
  });
});

describe('localLogRangeReader', () => {
  it('visits exactly the records of [from, to) with their headers', async () => {
    const seen: RetainedRecord[] = [];

    await localLogRangeReader(log).readByTime(TOPIC, { from: T0 + 10_000, to: T0 + 20_000 }, (records) => {
      seen.push(...records);
      return true;
    });

    expect(seen.map((r) => Number(r.headers.n)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => 10 + i),
    );
    expect(Buffer.from(seen[0]?.value ?? []).toString()).toMatch(/^value-1\d$/);
  });

  it('stops when the visitor answers false', async () => {
    let batches = 0;
    await localLogRangeReader(log).readByTime(TOPIC, { from: T0, to: T0 + 100_000 }, () => {
      batches += 1;
      return false;
    });
    expect(batches).toBe(1);
  });
});
