/**
 * The local stand-in for MSK: a durable, partitioned, append-only log in a data directory.
 *
 * Layout:
 * ```
 * {dataDir}/LOCK                                     pid of the process that has it open
 * {dataDir}/topics/{topic}/topic.json                { "partitions": n }: a count never changes
 * {dataDir}/topics/{topic}/{partition}/{base}.log    segments, named by their first offset (20 digits)
 * {dataDir}/groups/{group}.json                      committed offsets (see offset-store.ts)
 * ```
 * Segments hold checksummed, length-prefixed frames (see frame.ts). Durability: every flush of a
 * partition appends all the records queued for it in one write, then `fdatasync`s the segment, and
 * only then resolves the sends and makes the records visible to consumers (group commit: concurrent
 * sends share one sync). So a record `send` resolved survives a crash or power loss; a crash during a
 * write can leave a torn last frame, which the next `open` detects (length, CRC, offset) and truncates.
 * A new segment's directory entry is fsynced before it receives records.
 *
 * In memory the log keeps, per segment, the file position of every record (an index), not the records:
 * reads go to the file (the OS page cache serves recent records).
 */
import { type FileHandle, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StreamProducer, StreamRecord } from '../../functions/ports/stream.js';
import { TOPIC_PARTITIONS } from '../../functions/shared/stream.js';
import { LogConsumer, type LogConsumerOptions } from './consumer.js';
import {
  type LogRecord,
  MAX_FRAME_BODY_BYTES,
  type PreparedRecord,
  prepareRecord,
  readFrame,
  writeFrame,
} from './frame.js';
import { isErrno, readExactly, syncDirectory, writeAll, writeFileAtomic } from './fs-util.js';
import { assertGroupName, OffsetStore } from './offset-store.js';
import { partitionForKey } from './partitioner.js';

const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
const SEGMENT_NAME = /^(\d{20})\.log$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_RECORD_BYTES = 8 * 1024 * 1024;
/** Latest timestamp a Date can print as ISO 8601 with a four-digit year. */
const MAX_TIMESTAMP = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface LocalLogOptions {
  readonly dataDir: string;
  /** Topic names and partition counts; defaults to TOPIC_PARTITIONS. */
  readonly topics?: Readonly<Record<string, number>>;
  /** A segment that reached this size is closed and a new one started (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Largest frame a record may become (default 8 MiB). */
  readonly maxRecordBytes?: number;
  /** fsync appends and offset files (default true). Only a throwaway log should turn this off. */
  readonly fsync?: boolean;
  /** Told about a torn tail that was truncated on open (default: console.warn). */
  readonly onWarning?: (message: string) => void;
}

export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  readonly endOffset: number;
  readonly segments: number;
  readonly bytes: number;
}

type AppendListener = (partition: number) => void;

interface Segment {
  readonly baseOffset: number;
  readonly file: string;
  readonly handle: FileHandle;
  /** Bytes of durable frames. */
  size: number;
  /** File position of each record, by offset - baseOffset. */
  readonly positions: number[];
}

interface PendingAppend {
  readonly records: readonly PreparedRecord[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PartitionConfig {
  readonly segmentBytes: number;
  readonly fsync: boolean;
}

function at<T>(items: readonly T[], index: number, what: string): T {
  const item = items[index];
  if (item === undefined) throw new Error(`internal: no ${what} at index ${index}`);
  return item;
}

/** One topic-partition: its segments, its append queue and its index. */
class PartitionLog {
  readonly segments: Segment[] = [];
  nextOffset = 0;
  private queue: PendingAppend[] = [];
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private failure: Error | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly config: PartitionConfig,
    private readonly appended: (partition: number) => void,
  ) {}

  /** Rebuilds the index from the segment files; truncates a torn tail of the last segment. */
  async load(warn: (message: string) => void): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    let expected = 0;
    for (const [index, name] of names.entries()) {
      const file = path.join(this.dir, name);
      const baseOffset = Number(name.slice(0, 20));
      const last = index === names.length - 1;
      if (baseOffset !== expected) {
        throw new Error(`${file} starts at offset ${baseOffset}, expected ${expected}: the log is damaged`);
      }
      const data = await readFile(file);
      const positions: number[] = [];
      let position = 0;
      let problem: string | undefined;
      while (position < data.length) {
        const frame = readFrame(data, position, expected);
        if (!frame.ok) {
          problem = frame.problem;
          break;
        }
        positions.push(position);
        position = frame.next;
        expected += 1;
      }
      if (problem !== undefined && !last) {
        throw new Error(
          `${file}: ${problem} at byte ${position}, in a segment that is not the last: the log is damaged`,
        );
      }
      const handle = await open(file, last ? 'a+' : 'r');
      if (problem !== undefined) {
        warn(
          `local log: ${file}: ${problem} at byte ${position}; dropping ${data.length - position} bytes of a torn write`,
        );
        try {
          await handle.truncate(position);
          await handle.sync();
        } catch (error) {
          await handle.close();
          throw error;
        }
      }
      this.segments.push({ baseOffset, file, handle, size: position, positions });
    }
    this.nextOffset = expected;
    if (this.segments.length === 0) await this.createSegment(0);
  }

  append(records: readonly PreparedRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Up to `count` records from `from`, read from the segment files. */
  async read(from: number, count: number): Promise<LogRecord[]> {
    if (!Number.isSafeInteger(from) || from < 0 || from > this.nextOffset) {
      throw new RangeError(
        `offset ${from} is outside ${this.topic}-${this.partition} [0, ${this.nextOffset}]`,
      );
    }
    const end = Math.min(this.nextOffset, from + Math.max(0, count));
    const records: LogRecord[] = [];
    let offset = from;
    while (offset < end) {
      const segment = this.segmentFor(offset);
      const segmentEnd = segment.baseOffset + segment.positions.length;
      const upto = Math.min(end, segmentEnd);
      const start = at(segment.positions, offset - segment.baseOffset, 'position');
      const stop =
        upto < segmentEnd ? at(segment.positions, upto - segment.baseOffset, 'position') : segment.size;
      const data = Buffer.allocUnsafe(stop - start);
      await readExactly(segment.handle, data, start);
      let position = 0;
      for (let expected = offset; expected < upto; expected++) {
        const frame = readFrame(data, position, expected);
        if (!frame.ok) throw new Error(`${segment.file}: ${frame.problem} at offset ${expected}`);
        records.push(frame.record);
        position = frame.next;
      }
      offset = upto;
    }
    return records;
  }

  /** Resolves once no append is queued or being written. */
  whenIdle(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.whenIdle();
    const segments = this.segments.splice(0);
    await Promise.all(segments.map((segment) => segment.handle.close()));
  }

  get bytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  private segmentFor(offset: number): Segment {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (at(this.segments, middle, 'segment').baseOffset <= offset) low = middle;
      else high = middle - 1;
    }
    return at(this.segments, low, 'segment');
  }

  private async createSegment(baseOffset: number): Promise<Segment> {
    const file = path.join(this.dir, `${String(baseOffset).padStart(20, '0')}.log`);
    const handle = await open(file, 'a+');
    try {
      if (this.config.fsync) await syncDirectory(this.dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    const segment: Segment = { baseOffset, file, handle, size: 0, positions: [] };
    this.segments.push(segment);
    return segment;
  }

  /** Group commit: everything queued while a write+sync runs goes into the next write+sync. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.write(batch);
          for (const pending of batch) pending.resolve();
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async write(batch: readonly PendingAppend[]): Promise<void> {
    if (this.failure) throw this.failure;
    let segment = at(this.segments, this.segments.length - 1, 'segment');
    if (segment.size >= this.config.segmentBytes && segment.positions.length > 0) {
      // A rolled segment is complete; the old handle stays open for reads.
      segment = await this.createSegment(this.nextOffset);
    }
    let total = 0;
    for (const pending of batch) for (const record of pending.records) total += record.frameBytes;
    const data = Buffer.allocUnsafe(total);
    const positions: number[] = [];
    let position = 0;
    let offset = this.nextOffset;
    for (const pending of batch) {
      for (const record of pending.records) {
        positions.push(segment.size + position);
        position = writeFrame(data, position, offset, record);
        offset += 1;
      }
    }
    if (position !== total) throw new Error(`internal: encoded ${position} bytes, expected ${total}`);
    try {
      await writeAll(segment.handle, data);
      if (this.config.fsync) await segment.handle.datasync();
    } catch (error) {
      try {
        await segment.handle.truncate(segment.size);
      } catch (truncateError) {
        this.failure = new Error(
          `${this.topic}-${this.partition} refuses appends: a failed write could not be undone (${String(truncateError)})`,
        );
      }
      throw error;
    }
    segment.size += total;
    for (const recordPosition of positions) segment.positions.push(recordPosition);
    this.nextOffset = offset;
    this.appended(this.partition);
  }
}

/** Data directories this process has open (a LOCK file with our own pid may be a stale one). */
const openDirectories = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

async function acquireLock(dataDir: string): Promise<string> {
  if (openDirectories.has(dataDir)) throw new Error(`local log ${dataDir} is already open in this process`);
  const file = path.join(dataDir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      openDirectories.add(dataDir);
      return file;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new Error(`local log ${dataDir} is in use by process ${pid} (${file})`);
    }
    await rm(file, { force: true });
  }
  throw new Error(`could not lock local log ${dataDir}`);
}

async function releaseLock(dataDir: string, file: string): Promise<void> {
  openDirectories.delete(dataDir);
  await rm(file, { force: true });
}

async function checkTopicMetadata(
  dir: string,
  topic: string,
  partitions: number,
  fsync: boolean,
): Promise<void> {
  const file = path.join(dir, 'topic.json');
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  if (text === undefined) {
    await writeFileAtomic(file, `${JSON.stringify({ topic, partitions })}\n`, fsync);
    return;
  }
  let stored: unknown;
  try {
    stored = (JSON.parse(text) as { partitions?: unknown }).partitions;
  } catch {
    stored = undefined;
  }
  if (stored !== partitions) {
    throw new Error(
      `topic ${topic} has ${String(stored)} partitions on disk (${file}) but ${partitions} configured: ` +
        'a new count would move keys to other partitions; use a new data directory',
    );
  }
}

function validateRecord(record: StreamRecord, index: number): void {
  if (typeof record !== 'object' || record === null) throw new TypeError(`record ${index} is not an object`);
  if (typeof record.key !== 'string') throw new TypeError(`record ${index}: key must be a string`);
  if (!(record.value instanceof Uint8Array))
    throw new TypeError(`record ${index}: value must be a Uint8Array`);
  if (record.headers !== undefined) {
    if (typeof record.headers !== 'object' || record.headers === null) {
      throw new TypeError(`record ${index}: headers must be an object of strings`);
    }
    for (const [name, text] of Object.entries(record.headers)) {
      if (typeof text !== 'string') throw new TypeError(`record ${index}: header ${name} must be a string`);
    }
  }
  const timestamp = record.timestamp;
  if (
    timestamp !== undefined &&
    (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP)
  ) {
    throw new RangeError(`record ${index}: timestamp must be integer epoch milliseconds, got ${timestamp}`);
  }
}

export class LocalLog implements StreamProducer {
  readonly dataDir: string;
  private readonly topicConfig: ReadonlyMap<string, number>;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly fsync: boolean;
  private readonly warn: (message: string) => void;
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly listeners = new Map<string, Set<AppendListener>>();
  private readonly consumers = new Map<string, LogConsumer>();
  private offsets: OffsetStore | undefined;
  private lockFile: string | undefined;
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;

  constructor(options: LocalLogOptions) {
    this.dataDir = path.resolve(options.dataDir);
    const topics = options.topics ?? TOPIC_PARTITIONS;
    const config = new Map<string, number>();
    for (const [topic, partitions] of Object.entries(topics)) {
      if (!TOPIC_PATTERN.test(topic) || topic === '.' || topic === '..') {
        throw new Error(`invalid topic name "${topic}": use 1-249 of [A-Za-z0-9._-]`);
      }
      if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > 1024) {
        throw new RangeError(
          `topic ${topic}: partition count must be an integer in [1, 1024], got ${partitions}`,
        );
      }
      config.set(topic, partitions);
    }
    this.topicConfig = config;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.maxRecordBytes = Math.min(options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, MAX_FRAME_BODY_BYTES);
    this.fsync = options.fsync ?? true;
    this.warn = options.onWarning ?? ((message) => console.warn(message));
  }

  /** Locks the data directory, rebuilds every partition's index and loads the committed offsets. */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error(`local log ${this.dataDir} cannot be opened twice`);
    this.state = 'opening';
    await mkdir(this.dataDir, { recursive: true });
    const lockFile = await acquireLock(this.dataDir);
    this.lockFile = lockFile;
    try {
      for (const [topic, count] of this.topicConfig) {
        const dir = path.join(this.dataDir, 'topics', topic);
        await mkdir(dir, { recursive: true });
        await checkTopicMetadata(dir, topic, count, this.fsync);
        const partitions: PartitionLog[] = [];
        for (let partition = 0; partition < count; partition++) {
          partitions.push(
            new PartitionLog(
              topic,
              partition,
              path.join(dir, String(partition)),
              { segmentBytes: this.segmentBytes, fsync: this.fsync },
              (appended) => this.notify(topic, appended),
            ),
          );
        }
        this.topics.set(topic, partitions);
        await Promise.all(partitions.map((partition) => partition.load(this.warn)));
        if (this.fsync) await syncDirectory(dir);
      }
      const offsets = new OffsetStore(path.join(this.dataDir, 'groups'), this.fsync);
      await offsets.load();
      if (this.fsync) {
        // The entries of the directories created above, up to the data directory itself.
        await syncDirectory(path.join(this.dataDir, 'topics'));
        await syncDirectory(this.dataDir);
      }
      this.offsets = offsets;
      this.state = 'open';
    } catch (error) {
      await Promise.allSettled([...this.topics.values()].flat().map((partition) => partition.close()));
      this.topics.clear();
      await releaseLock(this.dataDir, lockFile);
      this.state = 'closed';
      throw error;
    }
  }

  /**
   * Stops the consumers still running (they drain and commit), waits for pending appends and offset
   * writes, closes the files and releases the lock.
   */
  close(): Promise<void> {
    if (this.state === 'new' || this.state === 'closed') return Promise.resolve();
    if (this.state === 'opening') return Promise.reject(new Error('local log is still opening'));
    this.closing ??= (async () => {
      await Promise.all([...this.consumers.values()].map((consumer) => consumer.stop()));
      this.state = 'closing';
      const partitions = [...this.topics.values()].flat();
      await Promise.all(partitions.map((partition) => partition.whenIdle()));
      await this.offsets?.flush();
      await Promise.all(partitions.map((partition) => partition.close()));
      if (this.lockFile) await releaseLock(this.dataDir, this.lockFile);
      this.state = 'closed';
    })();
    return this.closing;
  }

  /**
   * Appends records, each to the partition of its key; resolves once all of them are fsynced. Rejects
   * for an unknown topic or an invalid record (then nothing of the call is written).
   */
  async send(topic: string, records: readonly StreamRecord[]): Promise<void> {
    const partitions = this.partitionsOf(topic);
    if (!Array.isArray(records)) throw new TypeError('records must be an array');
    const now = Date.now();
    const byPartition = new Map<number, PreparedRecord[]>();
    for (const [index, record] of records.entries()) {
      validateRecord(record, index);
      const prepared = prepareRecord(record.key, record.value, record.headers, record.timestamp ?? now);
      if (prepared.frameBytes > this.maxRecordBytes) {
        throw new RangeError(
          `record ${index} (key ${record.key}) takes ${prepared.frameBytes} bytes, more than ${this.maxRecordBytes}`,
        );
      }
      const partition = partitionForKey(record.key, partitions.length);
      const list = byPartition.get(partition);
      if (list) list.push(prepared);
      else byPartition.set(partition, [prepared]);
    }
    await Promise.all(
      [...byPartition].map(([partition, prepared]) =>
        at(partitions, partition, 'partition').append(prepared),
      ),
    );
  }

  get topicNames(): string[] {
    return [...this.topicConfig.keys()];
  }

  partitionCount(topic: string): number {
    const count = this.topicConfig.get(topic);
    if (count === undefined) throw new Error(`unknown topic "${topic}"`);
    return count;
  }

  /** The partition a key goes to (Kafka's murmur2 partitioner). */
  partitionFor(topic: string, key: string): number {
    return partitionForKey(key, this.partitionCount(topic));
  }

  /** The offset the next record of the partition gets (= number of records; nothing is deleted). */
  endOffset(topic: string, partition: number): number {
    return this.partitionLog(topic, partition).nextOffset;
  }

  endOffsets(topic: string): number[] {
    return this.partitionsOf(topic).map((partition) => partition.nextOffset);
  }

  /** Up to `maxRecords` durable records of a partition, from `fromOffset`, in offset order. */
  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    try {
      return this.partitionLog(topic, partition).read(fromOffset, maxRecords);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Committed offsets (next offset to read) of a group, one per partition; 0 where none. */
  committedOffsets(group: string, topic: string): number[] {
    const partitions = this.partitionsOf(topic);
    const committed = this.offsetStore().get(group, topic);
    return partitions.map((partition) => committed.get(partition.partition) ?? 0);
  }

  /** Records committed offsets of a group; resolves once they are durable. */
  async commitOffsets(group: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    const partitions = this.partitionsOf(topic);
    for (const [partition, offset] of offsets) {
      const log = partitions[partition];
      if (!log) throw new RangeError(`${topic} has no partition ${partition}`);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > log.nextOffset) {
        throw new RangeError(`offset ${offset} is outside ${topic}-${partition} [0, ${log.nextOffset}]`);
      }
    }
    await this.offsetStore().commit(group, topic, offsets);
  }

  /** Calls `listener(partition)` whenever records of `topic` become durable; returns the unsubscribe. */
  onAppend(topic: string, listener: AppendListener): () => void {
    this.partitionCount(topic);
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Creates and starts a consumer (a consumer group on one topic) on this log. */
  subscribe(options: LogConsumerOptions): LogConsumer {
    return new LogConsumer(this, options).start();
  }

  /** Per topic-partition end offsets and sizes, for a status line. */
  status(): PartitionStatus[] {
    return [...this.topics.values()].flat().map((partition) => ({
      topic: partition.topic,
      partition: partition.partition,
      endOffset: partition.nextOffset,
      segments: partition.segments.length,
      bytes: partition.bytes,
    }));
  }

  /** Used by LogConsumer.start: one running consumer per group and topic. */
  attachConsumer(group: string, topic: string, consumer: LogConsumer): void {
    assertGroupName(group);
    this.partitionsOf(topic);
    const key = `${group}\u0000${topic}`;
    if (this.consumers.has(key)) throw new Error(`group ${group} already has a running consumer on ${topic}`);
    this.consumers.set(key, consumer);
  }

  /** Used by LogConsumer.stop. */
  detachConsumer(group: string, topic: string, consumer: LogConsumer): void {
    const key = `${group}\u0000${topic}`;
    if (this.consumers.get(key) === consumer) this.consumers.delete(key);
  }

  private notify(topic: string, partition: number): void {
    for (const listener of this.listeners.get(topic) ?? []) {
      try {
        listener(partition);
      } catch (error) {
        this.warn(`local log: an append listener of ${topic} threw: ${String(error)}`);
      }
    }
  }

  private offsetStore(): OffsetStore {
    if (!this.offsets || this.state !== 'open') throw new Error(`local log ${this.dataDir} is not open`);
    return this.offsets;
  }

  private partitionsOf(topic: string): PartitionLog[] {
    if (this.state !== 'open') throw new Error(`local log ${this.dataDir} is not open (${this.state})`);
    const partitions = this.topics.get(topic);
    if (!partitions) {
      throw new Error(`unknown topic "${topic}" (known: ${[...this.topicConfig.keys()].join(', ')})`);
    }
    return partitions;
  }

  private partitionLog(topic: string, partition: number): PartitionLog {
    const log = this.partitionsOf(topic)[partition];
    if (!log) throw new RangeError(`${topic} has no partition ${partition}`);
    return log;
  }
}
