import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOPIC_PARTITIONS, TOPICS } from '../../functions/shared/stream.js';
import { LocalLog, type LocalLogOptions } from './local-log.js';
import { makeTempDir, record, removeDir } from './test-helpers.js';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');

let dataDir: string;
const opened: LocalLog[] = [];

async function openLog(options: Partial<LocalLogOptions> = {}): Promise<LocalLog> {
  const log = new LocalLog({ dataDir, onWarning: () => {}, ...options });
  await log.open();
  opened.push(log);
  return log;
}

const segmentFile = (topic: string, partition: number, base = 0) =>
  path.join(dataDir, 'topics', topic, String(partition), `${String(base).padStart(20, '0')}.log`);

const values = async (log: LocalLog, topic: string, partition: number) =>
  (await log.read(topic, partition, 0, 1_000_000)).map((r) => Buffer.from(r.value).toString('utf8'));

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  try {
    for (const log of opened.splice(0)) await log.close();
  } finally {
    await removeDir(dataDir);
  }
});

describe('LocalLog: topics, partitions and offsets', () => {
  it('creates the configured topics with their partition counts', async () => {
    const log = await openLog();

    expect(log.topicNames).toEqual(Object.keys(TOPIC_PARTITIONS));
    for (const [topic, count] of Object.entries(TOPIC_PARTITIONS)) {
      expect(log.partitionCount(topic)).toBe(count);
      expect(log.endOffsets(topic)).toEqual(new Array(count).fill(0));
    }
  });

  it('puts a key on the partition of its hash and spreads keys over partitions', async () => {
    // Prepare
    const log = await openLog();
    const keys = Array.from({ length: 60 }, (_, i) => `breaker-${i}`);

    // Act
    await log.send(
      TOPICS.raw,
      keys.map((key) => record(key, key)),
    );
    await log.send(
      TOPICS.raw,
      keys.map((key) => record(key, `${key}/second`)),
    );

    // Assess: both records of a key are on its partition; every partition got some keys
    const used = new Set<number>();
    for (let partition = 0; partition < 6; partition++) {
      for (const value of await values(log, TOPICS.raw, partition)) {
        const key = value.split('/')[0] ?? '';
        expect(log.partitionFor(TOPICS.raw, key)).toBe(partition);
        used.add(partition);
      }
    }
    expect(used.size).toBe(6);
  });

  it('numbers records of a partition from 0 without gaps, in send order, under concurrent sends', async () => {
    // Prepare
    const log = await openLog();
    const key = 'meter-1';
    const partition = log.partitionFor(TOPICS.raw, key);

    // Act: 20 concurrent sends of 5 records each share fsyncs but keep their order
    await Promise.all(
      Array.from({ length: 20 }, (_, s) =>
        log.send(
          TOPICS.raw,
          Array.from({ length: 5 }, (_, i) => record(key, `${s}:${i}`)),
        ),
      ),
    );

    // Assess
    const records = await log.read(TOPICS.raw, partition, 0, 1000);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const order = records.map((r) => Buffer.from(r.value).toString());
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => `${Math.floor(i / 5)}:${i % 5}`));
    expect(log.endOffset(TOPICS.raw, partition)).toBe(100);
  });

  it('stores key, value bytes, headers and timestamp; the timestamp defaults to the send time', async () => {
    // Prepare
    const log = await openLog();
    const value = Uint8Array.from([0xff, 0x00, 0x7b, 0x22]);
    const before = Date.now();

    // Act
    await log.send(TOPICS.raw, [
      record('dev-a', value, { headers: { 'content-type': 'application/json', 'x-é': 'ü' }, timestamp: T0 }),
      record('dev-a', 'second'),
    ]);

    // Assess
    const [first, second] = await log.read(TOPICS.raw, log.partitionFor(TOPICS.raw, 'dev-a'), 0, 10);
    expect(first).toEqual({
      offset: 0,
      timestamp: T0,
      key: 'dev-a',
      value: Buffer.from(value),
      headers: [
        ['content-type', 'application/json'],
        ['x-é', 'ü'],
      ],
    });
    expect(second?.timestamp).toBeGreaterThanOrEqual(before);
    expect(second?.headers).toEqual([]);
  });

  it('rejects a send to an unknown topic, and an invalid record without writing any of the call', async () => {
    const log = await openLog();

    await expect(log.send('iot.nope', [record('a', 'x')])).rejects.toThrow(/unknown topic "iot.nope"/);
    await expect(
      log.send(TOPICS.raw, [record('a', 'fine'), record('a', 'x', { timestamp: Number.NaN })]),
    ).rejects.toThrow(/timestamp/);
    await expect(
      log.send(TOPICS.raw, [{ key: 'a', value: 'not bytes' as unknown as Uint8Array }]),
    ).rejects.toThrow(/Uint8Array/);
    expect(log.endOffsets(TOPICS.raw)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses a record larger than maxRecordBytes', async () => {
    const log = await openLog({ maxRecordBytes: 1024 });

    await expect(log.send(TOPICS.raw, [record('a', new Uint8Array(2048))])).rejects.toThrow(/more than 1024/);
  });
});

describe('LocalLog: persistence', () => {
  it('keeps every record and every committed offset across close and open', async () => {
    // Prepare
    const first = await openLog();
    const keys = Array.from({ length: 40 }, (_, i) => `sensor-${i}`);
    for (let round = 0; round < 3; round++) {
      await first.send(
        TOPICS.raw,
        keys.map((key) => record(key, `${key}#${round}`, { headers: { round: String(round) } })),
      );
    }
    await first.send(TOPICS.alerts, [record('sensor-1', 'alert')]);
    const before = await Promise.all(Array.from({ length: 6 }, (_, p) => first.read(TOPICS.raw, p, 0, 1000)));
    await first.commitOffsets('iot-cloud-enrich', TOPICS.raw, new Map([[0, first.endOffset(TOPICS.raw, 0)]]));
    await first.commitOffsets('iot-cloud-enrich', TOPICS.raw, new Map([[3, 1]]));
    await first.commitOffsets(
      'other-group',
      TOPICS.alerts,
      new Map([[first.partitionFor(TOPICS.alerts, 'sensor-1'), 1]]),
    );
    const committed = first.committedOffsets('iot-cloud-enrich', TOPICS.raw);

    // Act
    await first.close();
    const second = await openLog();

    // Assess
    const after = await Promise.all(Array.from({ length: 6 }, (_, p) => second.read(TOPICS.raw, p, 0, 1000)));
    expect(after).toEqual(before);
    expect(after.flat()).toHaveLength(120);
    expect(second.committedOffsets('iot-cloud-enrich', TOPICS.raw)).toEqual(committed);
    expect(committed[3]).toBe(1);
    expect(second.committedOffsets('other-group', TOPICS.alerts)).toEqual(
      first.partitionFor(TOPICS.alerts, 'sensor-1') === 0 ? [1, 0] : [0, 1],
    );
    expect(second.committedOffsets('never-committed', TOPICS.raw)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('writes committed offsets as a small JSON file per group, replaced atomically', async () => {
    const log = await openLog();
    await log.send(TOPICS.raw, [record('k', 'v')]);
    const partition = log.partitionFor(TOPICS.raw, 'k');

    await log.commitOffsets('iot-cloud-enrich', TOPICS.raw, new Map([[partition, 1]]));

    const files = await readdir(path.join(dataDir, 'groups'));
    expect(files).toEqual(['iot-cloud-enrich.json']);
    const content = JSON.parse(await readFile(path.join(dataDir, 'groups', 'iot-cloud-enrich.json'), 'utf8'));
    expect(content.topics).toEqual({ [TOPICS.raw]: { [String(partition)]: 1 } });
    await expect(
      log.commitOffsets('iot-cloud-enrich', TOPICS.raw, new Map([[partition, 2]])),
    ).rejects.toThrow(RangeError);
  });

  it('rolls segments and reads across them, before and after a reopen', async () => {
    // Prepare
    const first = await openLog({ segmentBytes: 1024 });
    const key = 'roller';
    const partition = first.partitionFor(TOPICS.raw, key);

    // Act
    for (let i = 0; i < 50; i++) await first.send(TOPICS.raw, [record(key, `value-${i}-${'x'.repeat(40)}`)]);

    // Assess
    const segments = (await readdir(path.join(dataDir, 'topics', TOPICS.raw, String(partition)))).sort();
    expect(segments.length).toBeGreaterThan(2);
    const expected = Array.from({ length: 50 }, (_, i) => `value-${i}-${'x'.repeat(40)}`);
    expect(await values(first, TOPICS.raw, partition)).toEqual(expected);
    expect((await first.read(TOPICS.raw, partition, 17, 20)).map((r) => r.offset)).toEqual(
      Array.from({ length: 20 }, (_, i) => 17 + i),
    );
    await first.close();
    const second = await openLog({ segmentBytes: 1024 });
    expect(await values(second, TOPICS.raw, partition)).toEqual(expected);
    await second.send(TOPICS.raw, [record(key, 'after')]);
    expect(second.endOffset(TOPICS.raw, partition)).toBe(51);
  });

  it('locks its data directory while open', async () => {
    const first = await openLog();

    await expect(new LocalLog({ dataDir }).open()).rejects.toThrow(/already open/);
    await first.close();
    const second = await openLog();
    expect(second.endOffsets(TOPICS.raw)).toHaveLength(6);
  });

  it('refuses to open a topic with a different partition count than on disk', async () => {
    const first = await openLog({ topics: { 'iot.raw': 6 } });
    await first.close();

    await expect(openLog({ topics: { 'iot.raw': 3 } })).rejects.toThrow(
      /6 partitions on disk .* but 3 configured/,
    );
  });
});

describe('LocalLog: torn writes', () => {
  async function fiveRecords(): Promise<{ partition: number; file: string; size: number }> {
    const log = await openLog();
    const partition = log.partitionFor(TOPICS.raw, 'torn');
    for (let i = 0; i < 5; i++) await log.send(TOPICS.raw, [record('torn', `record-${i}`)]);
    await log.close();
    const file = segmentFile(TOPICS.raw, partition);
    return { partition, file, size: (await stat(file)).size };
  }

  it('drops a last frame cut in the middle, warns, and continues at the right offset', async () => {
    // Prepare
    const { partition, file, size } = await fiveRecords();
    await truncate(file, size - 3);
    const warnings: string[] = [];

    // Act
    const log = await openLog({ onWarning: (message) => warnings.push(message) });

    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/torn write/);
    expect(await values(log, TOPICS.raw, partition)).toEqual([
      'record-0',
      'record-1',
      'record-2',
      'record-3',
    ]);
    await log.send(TOPICS.raw, [record('torn', 'record-4-again')]);
    expect(log.endOffset(TOPICS.raw, partition)).toBe(5);
    await log.close();
    const reopened = await openLog({ onWarning: (message) => warnings.push(message) });
    expect(warnings).toHaveLength(1);
    expect((await values(reopened, TOPICS.raw, partition)).at(-1)).toBe('record-4-again');
  });

  it('drops an incomplete frame header at the end', async () => {
    const { partition, file } = await fiveRecords();
    await appendFile(file, Buffer.from([0x00, 0x00, 0x01]));

    const log = await openLog();

    expect(await values(log, TOPICS.raw, partition)).toHaveLength(5);
    expect(log.endOffset(TOPICS.raw, partition)).toBe(5);
  });

  it('drops a last frame whose checksum does not match', async () => {
    // Prepare: flip the last byte of the last frame
    const { partition, file, size } = await fiveRecords();
    const data = await readFile(file);
    data[size - 1] = (data[size - 1] ?? 0) ^ 0xff;
    await writeFile(file, data);

    // Act
    const log = await openLog();

    // Assess
    expect(await values(log, TOPICS.raw, partition)).toHaveLength(4);
  });

  it('refuses to open when a segment before the last is damaged', async () => {
    // Prepare
    const first = await openLog({ segmentBytes: 100 });
    const partition = first.partitionFor(TOPICS.raw, 'k');
    for (let i = 0; i < 6; i++) await first.send(TOPICS.raw, [record('k', `value-${i}-${'y'.repeat(80)}`)]);
    await first.close();
    const firstSegment = segmentFile(TOPICS.raw, partition, 0);
    await truncate(firstSegment, (await stat(firstSegment)).size - 2);

    // Act / Assess
    await expect(openLog({ segmentBytes: 100 })).rejects.toThrow(/damaged/);
  });
});
