import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOPICS } from '../../functions/shared/stream.js';
import type { ConsumerErrorContext, LogConsumer } from './consumer.js';
import { LocalLog, type LocalLogOptions, OffsetBeforeLogStartError } from './local-log.js';
import { makeTempDir, record, removeDir, waitFor } from './test-helpers.js';

const HOUR = 3_600_000;
/** One partition per topic, so every record of a test lands on the same partition. */
const TOPICS_ONE_PARTITION = { [TOPICS.raw]: 1, [TOPICS.dlq]: 1 };
/** About 270 bytes a frame: four records fill a 1,000-byte segment, the fifth starts a new one. */
const VALUE = 'v'.repeat(230);

let dataDir: string;
let clock: number;
const opened: LocalLog[] = [];

async function openLog(options: Partial<LocalLogOptions> = {}): Promise<LocalLog> {
  const log = new LocalLog({
    dataDir,
    topics: TOPICS_ONE_PARTITION,
    segmentBytes: 1000,
    retentionCheckMs: 0,
    now: () => clock,
    onWarning: () => {},
    ...options,
  });
  await log.open();
  opened.push(log);
  return log;
}

async function sendRecords(log: LocalLog, count: number, from = 0): Promise<void> {
  for (let i = from; i < from + count; i++) await log.send(TOPICS.raw, [record('k', `${i}:${VALUE}`)]);
}

const partitionDir = () => path.join(dataDir, 'topics', TOPICS.raw, '0');
const segmentNames = async () =>
  (await readdir(partitionDir())).filter((name) => name.endsWith('.log')).sort();
const firstNumbers = async (log: LocalLog, from: number, count = 1_000_000) =>
  (await log.read(TOPICS.raw, 0, from, count)).map((r) =>
    Number(Buffer.from(r.value).toString().split(':')[0]),
  );

beforeEach(async () => {
  dataDir = await makeTempDir();
  // The log's clock, moved by the tests; it starts at the wall-clock time because a segment rolled
  // before a reopen is aged by its file's modification time.
  clock = Date.now();
});

afterEach(async () => {
  try {
    for (const log of opened.splice(0)) await log.close();
  } finally {
    await removeDir(dataDir);
  }
});

describe('LocalLog retention: deleting whole segments', () => {
  it('deletes rolled segments whose last append is older than retentionMs, never the active one', async () => {
    // Prepare: 3 full segments written an hour apart, then an active segment now
    const log = await openLog({ retentionMs: 2 * HOUR, retentionBytes: Number.POSITIVE_INFINITY });
    for (let segment = 0; segment < 3; segment++) {
      await sendRecords(log, 4, segment * 4);
      clock += HOUR;
    }
    await sendRecords(log, 2, 12);
    expect(await segmentNames()).toHaveLength(4);

    // Act: the first segment's last append is 3 h old, the second's 2 h (not older than 2 h)
    const result = await log.enforceRetention();

    // Assess
    expect(result.deleted.map((s) => [s.baseOffset, s.endOffset, s.reason])).toEqual([[0, 4, 'time']]);
    expect(log.startOffset(TOPICS.raw, 0)).toBe(4);
    expect(await segmentNames()).toEqual([
      '00000000000000000004.log',
      '00000000000000000008.log',
      '00000000000000000012.log',
    ]);
    expect(await firstNumbers(log, 4)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);

    // Act: much later, everything is past retention, but the active segment stays
    clock += 10 * HOUR;
    await log.enforceRetention();
    expect(await segmentNames()).toEqual(['00000000000000000012.log']);
  });

  it('deletes the oldest segments while the partition is larger than retentionBytes', async () => {
    // Prepare: 6 segments of about 1 KB
    const log = await openLog({ retentionBytes: 2500, retentionMs: Number.POSITIVE_INFINITY });
    await sendRecords(log, 22);
    expect(await segmentNames()).toHaveLength(6);

    // Act
    const result = await log.enforceRetention();

    // Assess: as Kafka, a segment goes while the partition without it is still at least the limit
    const status = log.status().find((p) => p.topic === TOPICS.raw);
    expect(result.deleted.every((s) => s.reason === 'size')).toBe(true);
    expect(status?.bytes).toBeLessThan(2500 + 1000);
    expect(status?.bytes).toBeGreaterThanOrEqual(2500);
    expect(status?.startOffset).toBe(result.deleted.at(-1)?.endOffset);
    expect(await firstNumbers(log, status?.startOffset ?? 0)).toEqual(
      Array.from({ length: 22 - (status?.startOffset ?? 0) }, (_, i) => (status?.startOffset ?? 0) + i),
    );
  });

  it('keeps offsets monotonic: appends after deletion continue from the old end', async () => {
    // Prepare
    const log = await openLog({ retentionMs: HOUR });
    await sendRecords(log, 9);
    clock += 2 * HOUR;
    await log.enforceRetention();

    // Act
    await sendRecords(log, 3, 9);

    // Assess
    expect(log.startOffset(TOPICS.raw, 0)).toBe(8);
    expect(log.endOffset(TOPICS.raw, 0)).toBe(12);
    expect((await log.read(TOPICS.raw, 0, 8, 100)).map((r) => r.offset)).toEqual([8, 9, 10, 11]);
  });

  it('refuses a read before the log start with OffsetBeforeLogStartError', async () => {
    const log = await openLog({ retentionMs: HOUR });
    await sendRecords(log, 9);
    clock += 2 * HOUR;
    await log.enforceRetention();

    await expect(log.read(TOPICS.raw, 0, 3, 1)).rejects.toBeInstanceOf(OffsetBeforeLogStartError);
  });

  it('keeps start and end offsets across a restart after deletion, and deletes by file age after it', async () => {
    // Prepare
    const first = await openLog({ retentionMs: HOUR });
    await sendRecords(first, 13);
    clock += 2 * HOUR;
    await first.enforceRetention();
    await first.close();

    // Act
    const reopened = await openLog({ retentionMs: HOUR });

    // Assess: same offsets, readable, appendable
    expect(reopened.startOffset(TOPICS.raw, 0)).toBe(12);
    expect(reopened.endOffset(TOPICS.raw, 0)).toBe(13);
    await sendRecords(reopened, 8, 13);
    expect(await firstNumbers(reopened, 12)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(await segmentNames()).toHaveLength(3);
    await reopened.close();

    // Act: a segment rolled before a restart is aged by its file's modification time (now, 2 h ago)
    const later = await openLog({ retentionMs: HOUR });
    await later.enforceRetention();
    expect(later.startOffset(TOPICS.raw, 0)).toBe(20);
    expect(later.endOffset(TOPICS.raw, 0)).toBe(21);
  });
});

describe('LocalLog retention and consumer groups', () => {
  it('keeps segments a consumer group has not committed past, until it commits', async () => {
    // Prepare: the group has committed up to offset 5 (in the second segment)
    const log = await openLog({ retentionMs: HOUR });
    await sendRecords(log, 13);
    clock += 2 * HOUR;
    await log.commitOffsets('slow-stage', TOPICS.raw, new Map([[0, 5]]));

    // Act
    const held = await log.enforceRetention();

    // Assess: only the segment entirely before offset 5 goes
    expect(held.deleted.map((s) => s.baseOffset)).toEqual([0]);
    expect(held.heldForConsumers).toEqual([`${TOPICS.raw}-0`]);
    expect(log.startOffset(TOPICS.raw, 0)).toBe(4);

    // Act: the group commits everything
    await log.commitOffsets('slow-stage', TOPICS.raw, new Map([[0, 13]]));
    await log.enforceRetention();

    // Assess
    expect(log.startOffset(TOPICS.raw, 0)).toBe(12);
  });

  it('treats a group silent for a whole retention period while the log was open as gone', async () => {
    // Prepare: segments past retention, a group that last committed (at 0) 0.6 h ago holds them
    const log = await openLog({ retentionMs: HOUR });
    await sendRecords(log, 9);
    clock += 0.9 * HOUR;
    await log.commitOffsets('removed-stage', TOPICS.raw, new Map([[0, 0]]));
    clock += 0.6 * HOUR;
    expect((await log.enforceRetention()).deleted).toEqual([]);

    // Act: 1.1 h without a commit
    clock += 0.5 * HOUR;
    const result = await log.enforceRetention();

    // Assess
    expect(result.deleted.map((s) => s.baseOffset)).toEqual([0, 4]);
  });

  it('holds after a restart even when the restart comes after the retention time', async () => {
    // Prepare: the platform was stopped for two retention periods with the group behind
    const first = await openLog({ retentionMs: HOUR });
    await sendRecords(first, 9);
    await first.commitOffsets('enrich', TOPICS.raw, new Map([[0, 2]]));
    await first.close();
    clock += 2 * HOUR;

    // Act
    const reopened = await openLog({ retentionMs: HOUR });
    const result = await reopened.enforceRetention();

    // Assess: the open counts as the group's last sign of life
    expect(result.deleted).toEqual([]);
    expect(reopened.startOffset(TOPICS.raw, 0)).toBe(0);
  });

  it('moves a consumer whose committed offset was deleted to the log start, and reports the gap', async () => {
    // Prepare: Kafka's behaviour; the group committed 2, then retention deleted offsets 0-7
    const log = await openLog({ retentionMs: HOUR, retentionWaitsForConsumers: false });
    await sendRecords(log, 10);
    await log.commitOffsets('late-group', TOPICS.raw, new Map([[0, 2]]));
    clock += 2 * HOUR;
    await log.enforceRetention();
    const delivered: number[] = [];
    const reports: { message: string; context: ConsumerErrorContext }[] = [];

    // Act
    const consumer: LogConsumer = log.subscribe({
      topic: TOPICS.raw,
      group: 'late-group',
      name: 'late',
      batchWindowMs: 0,
      handler: async (event) => {
        for (const records of Object.values(event.records)) for (const r of records) delivered.push(r.offset);
        return undefined;
      },
      onError: (error, context) => reports.push({ message: String(error), context }),
    });
    await waitFor(() => consumer.stats().committed['0'] === 10, 'the consumer catches up');

    // Assess
    expect(delivered).toEqual([8, 9]);
    expect(consumer.stats().skippedByRetention).toBe(6);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.context.stage).toBe('retention');
    expect(reports[0]?.message).toMatch(/offsets 2-7 of iot\.raw-0 \(6 records\).*resumes at 8/);
    await consumer.stop();
    expect(log.committedOffsets('late-group', TOPICS.raw)).toEqual([10]);
  });

  it('starts a group that never committed at the log start without reporting a gap', async () => {
    const log = await openLog({ retentionMs: HOUR });
    await sendRecords(log, 10);
    clock += 2 * HOUR;
    await log.enforceRetention();
    const delivered: number[] = [];
    const reports: unknown[] = [];

    const consumer = log.subscribe({
      topic: TOPICS.raw,
      group: 'new-group',
      name: 'new',
      batchWindowMs: 0,
      handler: async (event) => {
        for (const records of Object.values(event.records)) for (const r of records) delivered.push(r.offset);
        return undefined;
      },
      onError: (error) => reports.push(error),
    });
    await waitFor(() => consumer.stats().committed['0'] === 10, 'the consumer catches up');

    expect(delivered).toEqual([8, 9]);
    expect(reports).toEqual([]);
    expect(consumer.stats().skippedByRetention).toBe(0);
  });
});

describe('LocalLog start-up: reading only what is needed', () => {
  /** Bytes this process has read through read(2) and friends (Linux). */
  const bytesRead = async () => Number(/^rchar:\s+(\d+)/m.exec(await readFile('/proc/self/io', 'utf8'))?.[1]);

  it.runIf(existsSync('/proc/self/io'))(
    'opens a cleanly closed log without reading its records',
    async () => {
      // Prepare: 4.5 MB in four rolled segments and the active one
      const options = { segmentBytes: 1_000_000, fsync: false };
      const first = await openLog(options);
      const value = 'x'.repeat(1000);
      for (let batch = 0; batch < 45; batch++) {
        await first.send(
          TOPICS.raw,
          Array.from({ length: 100 }, (_, i) => record('k', `${batch * 100 + i}:${value}`)),
        );
      }
      await first.close();

      // Act
      const before = await bytesRead();
      const reopened = await openLog(options);
      const read = (await bytesRead()) - before;

      // Assess: a few index files and the records after the active index's last entry, not 4.5 MB
      expect(read).toBeLessThan(200_000);
      expect(reopened.endOffset(TOPICS.raw, 0)).toBe(4500);
      expect(await firstNumbers(reopened, 4490)).toEqual([
        4490, 4491, 4492, 4493, 4494, 4495, 4496, 4497, 4498, 4499,
      ]);
      expect(await firstNumbers(reopened, 1234, 3)).toEqual([1234, 1235, 1236]);
    },
  );

  it('scans the active segment after a crash (its index file no longer matches) and keeps every record', async () => {
    // Prepare: the active segment's index file of a clean close, then more appends (what a crash after
    // a restart leaves: records past the index file's size)
    const first = await openLog();
    await sendRecords(first, 6);
    await first.close();
    const indexFile = path.join(partitionDir(), '00000000000000000004.index');
    await copyFile(indexFile, `${indexFile}.saved`);
    const second = await openLog();
    await sendRecords(second, 2, 6);
    await second.close();
    await copyFile(`${indexFile}.saved`, indexFile);

    // Act
    const reopened = await openLog();

    // Assess
    expect(reopened.endOffset(TOPICS.raw, 0)).toBe(8);
    expect(await firstNumbers(reopened, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('reads any range through the sparse index, before and after a reopen', async () => {
    // Prepare: records of mixed sizes around the index interval (16 KiB)
    const first = await openLog({ segmentBytes: 200_000 });
    const sizes = Array.from({ length: 300 }, (_, i) => [10, 900, 17_000, 3000][i % 4] ?? 10);
    await first.send(
      TOPICS.raw,
      sizes.map((size, i) => record('k', `${i}:${'z'.repeat(size)}`)),
    );
    const check = async (log: LocalLog) => {
      for (const from of [0, 1, 15, 16, 17, 99, 150, 151, 298, 299]) {
        const want = Array.from({ length: Math.min(5, 300 - from) }, (_, i) => from + i);
        expect(await firstNumbers(log, from, 5)).toEqual(want);
      }
    };
    await check(first);
    await first.close();

    // Act / Assess
    await check(await openLog({ segmentBytes: 200_000 }));
  });
});
