/**
 * The local stand-in for MSK: a durable, partitioned, append-only log in a data directory.
 *
 * Layout:
 * ```
 * {dataDir}/LOCK                                       pid of the process that has it open
 * {dataDir}/topics/{topic}/topic.json                  { "partitions": n }: a count never changes
 * {dataDir}/topics/{topic}/{partition}/{base}.log      segments, named by their first offset (20 digits)
 * {dataDir}/topics/{topic}/{partition}/{base}.index    sparse index of a segment (see segment.ts)
 * {dataDir}/groups/{group}.json                        committed offsets (see offset-store.ts)
 * ```
 * Segments hold checksummed, length-prefixed frames (see frame.ts). Durability: every flush of a
 * partition appends all the records queued for it in one write, then `fdatasync`s the segment, and
 * only then resolves the sends and makes the records visible to consumers (group commit: concurrent
 * sends share one sync). So a record `send` resolved survives a crash or power loss; a crash during a
 * write can leave a torn last frame, which the next `open` detects (length, CRC, offset) and truncates.
 * A new segment's directory entry is fsynced before it receives records.
 *
 * Opening reads no records but the active segment's after a crash: rolled segments are known from
 * their names and `stat`, the active one from the index file a clean close wrote (segment.ts). In
 * memory the log keeps a sparse index per segment read so far (one position per 16 KiB), not the
 * records: reads go to the file (the OS page cache serves recent records).
 *
 * Retention, as Kafka's `retention.ms` and `retention.bytes` per partition: whole rolled segments are
 * deleted, oldest first, once their last append is older than `retentionMs` or the partition is larger
 * than `retentionBytes` without them. Unlike Kafka, by default a segment is kept while a consumer group
 * has not committed past it (`retentionWaitsForConsumers`): here the log is the pipeline's only copy of
 * acknowledged messages, and a stopped or failing stage must not lose them; a stuck stage then grows
 * the disk, which its consumer lag shows. Offsets never restart: the next offset is the active
 * segment's end, which is never deleted.
 */
import { type FileHandle, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StreamProducer, StreamRecord } from '../../functions/ports/stream.js';
import { TOPIC_PARTITIONS } from '../../functions/shared/stream.js';
import { type ConsumerLog, LogConsumer, type LogConsumerOptions } from './consumer.js';
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
import {
  encodeIndexFile,
  indexFileOf,
  OffsetBeforeLogStartError,
  readIndexFile,
  SparseIndex,
  scanSegment,
} from './segment.js';

export { OffsetBeforeLogStartError } from './segment.js';

const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
const SEGMENT_NAME = /^(\d{20})\.log$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_RECORD_BYTES = 8 * 1024 * 1024;
/** Segment offsets and positions are kept as 32-bit integers (Kafka caps segments at 1 GiB too). */
const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;
const HOUR_MS = 60 * 60 * 1000;
/** Kafka's default `retention.ms` is 7 days; a laptop's disk gets one day by default. */
export const DEFAULT_RETENTION_MS = 24 * HOUR_MS;
/** Per partition, as Kafka's `retention.bytes` (Kafka's default is unlimited). */
export const DEFAULT_RETENTION_BYTES = 1024 * 1024 * 1024;
/** A non-empty active segment is rolled at its next append once this old (at most the retention time). */
const DEFAULT_SEGMENT_MS = HOUR_MS;
/** How often retention is checked (Kafka's `log.retention.check.interval.ms` is 5 minutes). */
const DEFAULT_RETENTION_CHECK_MS = 60_000;
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
  /** Told about a torn tail truncated on open and segments deleted by retention (default: console.warn). */
  readonly onWarning?: (message: string) => void;
  /** Rolled segments whose last append is older than this are deleted (default 24 h; Infinity: never). */
  readonly retentionMs?: number;
  /** Per partition: oldest rolled segments are deleted while it is larger (default 1 GiB; Infinity: no limit). */
  readonly retentionBytes?: number;
  /**
   * Keep a segment past retention while a consumer group has not committed past it (default true).
   * false: Kafka's behaviour; a group that falls behind resumes at the log start and reports the gap.
   */
  readonly retentionWaitsForConsumers?: boolean;
  /** A non-empty active segment this old is rolled at its next append (default: 1 h or the retention time). */
  readonly segmentMs?: number;
  /** Milliseconds between retention checks (default 60 s; 0: only when enforceRetention is called). */
  readonly retentionCheckMs?: number;
  /** The clock of retention and segment ages (default Date.now); tests move it. */
  readonly now?: () => number;
}

/** What one retention check did. */
export interface RetentionResult {
  readonly deleted: readonly DeletedSegment[];
  /** Partitions that keep segments past retention because a consumer group has not committed past them. */
  readonly heldForConsumers: readonly string[];
}

export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  /** First offset still kept (records before it were deleted by retention). */
  readonly startOffset: number;
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
  /** Offset after the segment's last record. */
  endOffset: number;
  /** When a record was last appended (a rolled segment read at open: its file's mtime). */
  lastAppendMs: number;
  /** When it became the active segment (a segment found at open: the open), for rolling by age. */
  readonly activeSinceMs: number;
  /** Undefined until the segment is first read (then loaded from its index file or by a scan). */
  index: SparseIndex | undefined;
  indexing: Promise<SparseIndex> | undefined;
  /** Reads under way; a deleted segment's file handle is closed when the last one ends. */
  readers: number;
  deleted: boolean;
}

interface PendingAppend {
  readonly records: readonly PreparedRecord[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface PartitionConfig {
  readonly segmentBytes: number;
  /** A non-empty active segment this old is rolled at the next append, so time retention can delete it. */
  readonly segmentMs: number;
  readonly fsync: boolean;
  readonly now: () => number;
}

/** A segment deleted by retention, as told to the caller. */
export interface DeletedSegment {
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly bytes: number;
  readonly reason: 'time' | 'size';
}

function at<T>(items: readonly T[], index: number, what: string): T {
  const item = items[index];
  if (item === undefined) throw new Error(`internal: no ${what} at index ${index}`);
  return item;
}

const baseOffsetOf = (name: string) => Number(name.slice(0, 20));

/** One topic-partition: its segments, its append queue and their sparse indexes. */
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

  /**
   * Opens the segment files without reading the records of any but the last: a rolled segment's end is
   * the next one's base offset and its size and age come from `stat`. The last (active) segment's end
   * comes from its index file if that was written for exactly its current size (a clean close);
   * otherwise the segment is scanned and a torn tail truncated (crash recovery).
   */
  async load(warn: (message: string) => void): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const entries = await readdir(this.dir);
    const names = entries.filter((name) => SEGMENT_NAME.test(name)).sort();
    // Index files of segments retention deleted before it could remove them, and interrupted writes.
    const live = new Set(names.map((name) => name.replace(/\.log$/, '.index')));
    for (const name of entries) {
      if (name.endsWith('.tmp') || (name.endsWith('.index') && !live.has(name))) {
        await rm(path.join(this.dir, name), { force: true });
      }
    }
    const openedAt = this.config.now();
    for (const [index, name] of names.entries()) {
      const file = path.join(this.dir, name);
      const baseOffset = baseOffsetOf(name);
      const next = names[index + 1];
      const last = next === undefined;
      if (next !== undefined && baseOffsetOf(next) <= baseOffset) {
        throw new Error(`${file} is followed by ${next}, which does not start after it: the log is damaged`);
      }
      const handle = await open(file, last ? 'a+' : 'r');
      try {
        const stats = await handle.stat();
        const segment: Segment = {
          baseOffset,
          file,
          handle,
          size: stats.size,
          endOffset: next === undefined ? baseOffset : baseOffsetOf(next),
          lastAppendMs: stats.mtimeMs,
          activeSinceMs: openedAt,
          index: undefined,
          indexing: undefined,
          readers: 0,
          deleted: false,
        };
        if (last) await this.recoverActive(segment, warn);
        else await this.checkRolled(segment);
        this.segments.push(segment);
      } catch (error) {
        await handle.close();
        throw error;
      }
    }
    const active = this.segments.at(-1);
    this.nextOffset = active ? active.endOffset : 0;
    if (!active) await this.createSegment(0);
  }

  /**
   * A rolled segment whose index file (written when it rolled) records another size or end was cut or
   * extended since: the log is damaged. Without a usable index file it is checked when first read.
   */
  private async checkRolled(segment: Segment): Promise<void> {
    const stored = await readIndexFile(indexFileOf(segment.file), segment.baseOffset, segment.size);
    const damaged = (what: string) =>
      new Error(`${segment.file}: ${what}, in a segment that is not the last: the log is damaged`);
    if (stored.kind === 'other-size') {
      throw damaged(`${segment.size} bytes where its index recorded ${stored.indexedSize}`);
    }
    if (stored.kind === 'ok') {
      if (stored.endOffset !== segment.endOffset) {
        throw damaged(
          `its index ends at offset ${stored.endOffset}, the next segment starts at ${segment.endOffset}`,
        );
      }
      segment.index = stored.index;
    }
  }

  /**
   * Sets the active segment's index and end. After a clean close its index file matches its size, and
   * only the records after the index's last entry are read (and checked); otherwise, or if they do not
   * check out, the whole segment is scanned and a torn tail dropped (crash recovery).
   */
  private async recoverActive(segment: Segment, warn: (message: string) => void): Promise<void> {
    const stored = await readIndexFile(indexFileOf(segment.file), segment.baseOffset, segment.size);
    if (stored.kind === 'ok') {
      const lastEntry = stored.index.last() ?? { relativeOffset: 0, position: 0 };
      const tail = await scanSegment(segment.handle, segment.baseOffset, segment.size, {
        index: stored.index,
        ...lastEntry,
      });
      if (tail.problem === undefined && tail.endOffset === stored.endOffset) {
        segment.index = tail.index;
        segment.endOffset = tail.endOffset;
        return;
      }
    }
    const scan = await scanSegment(segment.handle, segment.baseOffset, segment.size);
    if (scan.problem !== undefined) {
      warn(
        `local log: ${segment.file}: ${scan.problem} at byte ${scan.validBytes}; dropping ${segment.size - scan.validBytes} bytes of a torn write`,
      );
      await segment.handle.truncate(scan.validBytes);
      await segment.handle.sync();
    }
    segment.index = scan.index;
    segment.size = scan.validBytes;
    segment.endOffset = scan.endOffset;
  }

  /** The first offset still kept (retention deletes whole segments from the start). */
  get startOffset(): number {
    return at(this.segments, 0, 'segment').baseOffset;
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
    if (from < this.startOffset) {
      throw new OffsetBeforeLogStartError(this.topic, this.partition, from, this.startOffset);
    }
    const end = Math.min(this.nextOffset, from + Math.max(0, count));
    const records: LogRecord[] = [];
    let offset = from;
    while (offset < end) {
      const segment = this.segmentFor(offset);
      segment.readers += 1;
      try {
        offset = await this.readSegment(segment, offset, end, records);
      } finally {
        segment.readers -= 1;
        if (segment.deleted && segment.readers === 0) await segment.handle.close();
      }
    }
    return records;
  }

  /** Reads the records [offset, min(end, segment end)) of one segment into `records`; returns where it stopped. */
  private async readSegment(
    segment: Segment,
    offset: number,
    end: number,
    records: LogRecord[],
  ): Promise<number> {
    const index = await this.indexOf(segment);
    const upto = Math.min(end, segment.endOffset);
    const entry = index.floor(offset - segment.baseOffset);
    const stop =
      upto < segment.endOffset
        ? (index.ceilingPosition(upto - segment.baseOffset) ?? segment.size)
        : segment.size;
    const data = Buffer.allocUnsafe(stop - entry.position);
    await readExactly(segment.handle, data, entry.position);
    let position = 0;
    for (let expected = segment.baseOffset + entry.relativeOffset; expected < upto; expected++) {
      const frame = readFrame(data, position, expected);
      if (!frame.ok) throw new Error(`${segment.file}: ${frame.problem} at offset ${expected}`);
      if (expected >= offset) records.push(frame.record);
      position = frame.next;
    }
    return upto;
  }

  /** A segment's sparse index: loaded on its first read, from its index file or by a scan. */
  private indexOf(segment: Segment): Promise<SparseIndex> | SparseIndex {
    if (segment.index) return segment.index;
    segment.indexing ??= (async () => {
      const stored = await readIndexFile(indexFileOf(segment.file), segment.baseOffset, segment.size);
      if (stored.kind === 'ok' && stored.endOffset === segment.endOffset) return stored.index;
      const scan = await scanSegment(segment.handle, segment.baseOffset, segment.size);
      if (scan.problem !== undefined || scan.endOffset !== segment.endOffset) {
        throw new Error(
          `${segment.file}: ${scan.problem ?? `ends at offset ${scan.endOffset}`} at byte ${scan.validBytes}, ` +
            `in a segment that is not the last (expected to end at offset ${segment.endOffset}): the log is damaged`,
        );
      }
      return scan.index;
    })().then(
      (index) => {
        segment.index = index;
        return index;
      },
      (error: unknown) => {
        segment.indexing = undefined;
        throw error;
      },
    );
    return segment.indexing;
  }

  /** Resolves once no append is queued or being written. */
  whenIdle(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Waits for pending appends, writes the active segment's index file (so the next open need not scan
   * it) and closes the files.
   */
  async close(): Promise<void> {
    await this.whenIdle();
    const active = this.segments.at(-1);
    const segments = this.segments.splice(0);
    if (active?.index && this.failure === undefined) {
      try {
        await writeFileAtomic(
          indexFileOf(active.file),
          encodeIndexFile(active.baseOffset, active.endOffset, active.size, active.index),
          this.config.fsync,
        );
      } catch {
        // Only an optimisation: without it the next open scans the active segment.
      }
    }
    await Promise.all(
      segments.map((segment) => (segment.readers === 0 ? segment.handle.close() : undefined)),
    );
    for (const segment of segments) segment.deleted = true;
  }

  get bytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  /**
   * Deletes whole rolled segments (never the active one), oldest first, while the oldest is past
   * retention: its last append older than `retentionMs`, or the partition larger than `retentionBytes`
   * without it. Never deletes a segment holding an offset at or after `keepFrom` (the lowest offset a
   * consumer group has not committed past). Returns what it deleted and whether it kept a segment past
   * retention for a consumer group.
   */
  async deleteExpired(
    retentionMs: number,
    retentionBytes: number,
    keepFrom: number,
  ): Promise<{ deleted: DeletedSegment[]; heldForConsumers: boolean }> {
    const now = this.config.now();
    let total = this.bytes;
    const doomed: { segment: Segment; reason: DeletedSegment['reason'] }[] = [];
    let heldForConsumers = false;
    // Decided and removed from the list synchronously: appends only touch the last segment.
    while (this.segments.length > 1) {
      const oldest = at(this.segments, 0, 'segment');
      const reason =
        now - oldest.lastAppendMs > retentionMs
          ? 'time'
          : total - oldest.size >= retentionBytes
            ? 'size'
            : undefined;
      if (reason === undefined) break;
      if (oldest.endOffset > keepFrom) {
        heldForConsumers = true;
        break;
      }
      this.segments.shift();
      total -= oldest.size;
      oldest.deleted = true;
      doomed.push({ segment: oldest, reason });
    }
    for (const { segment } of doomed) {
      // The index file first: an index file without its segment is removed at open, not the reverse.
      await rm(indexFileOf(segment.file), { force: true });
      await rm(segment.file, { force: true });
      if (segment.readers === 0) await segment.handle.close();
    }
    if (doomed.length > 0 && this.config.fsync) await syncDirectory(this.dir);
    return {
      deleted: doomed.map(({ segment, reason }) => ({
        topic: this.topic,
        partition: this.partition,
        baseOffset: segment.baseOffset,
        endOffset: segment.endOffset,
        bytes: segment.size,
        reason,
      })),
      heldForConsumers,
    };
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
    const now = this.config.now();
    const segment: Segment = {
      baseOffset,
      file,
      handle,
      size: 0,
      endOffset: baseOffset,
      lastAppendMs: now,
      activeSinceMs: now,
      index: new SparseIndex(),
      indexing: undefined,
      readers: 0,
      deleted: false,
    };
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

  /** Starts a new active segment if the current one is full or old; writes the rolled one's index file. */
  private async rollIfDue(): Promise<Segment> {
    const segment = at(this.segments, this.segments.length - 1, 'segment');
    const empty = segment.endOffset === segment.baseOffset;
    const due =
      segment.size >= this.config.segmentBytes ||
      this.config.now() - segment.activeSinceMs >= this.config.segmentMs;
    if (empty || !due) return segment;
    // A rolled segment is complete; its handle stays open for reads.
    const next = await this.createSegment(this.nextOffset);
    if (segment.index) {
      try {
        await writeFileAtomic(
          indexFileOf(segment.file),
          encodeIndexFile(segment.baseOffset, segment.endOffset, segment.size, segment.index),
          this.config.fsync,
        );
      } catch {
        // Only an optimisation: without it the segment is scanned when it is first read after a restart.
      }
    }
    return next;
  }

  private async write(batch: readonly PendingAppend[]): Promise<void> {
    if (this.failure) throw this.failure;
    const segment = await this.rollIfDue();
    const index = segment.index;
    if (!index) throw new Error(`internal: the active segment ${segment.file} has no index`);
    let total = 0;
    for (const pending of batch) for (const record of pending.records) total += record.frameBytes;
    const data = Buffer.allocUnsafe(total);
    let position = 0;
    let offset = this.nextOffset;
    for (const pending of batch) {
      for (const record of pending.records) {
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
    // Index entries once durable: a reader never starts at a position that is not written yet.
    let recordPosition = segment.size;
    let recordOffset = this.nextOffset;
    for (const pending of batch) {
      for (const record of pending.records) {
        index.maybeAdd(recordOffset - segment.baseOffset, recordPosition);
        recordPosition += record.frameBytes;
        recordOffset += 1;
      }
    }
    segment.size += total;
    segment.endOffset = offset;
    segment.lastAppendMs = this.config.now();
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

function positiveOrInfinity(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be positive (Infinity: no limit), got ${value}`);
  return value;
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

export class LocalLog implements StreamProducer, ConsumerLog {
  readonly dataDir: string;
  private readonly topicConfig: ReadonlyMap<string, number>;
  private readonly segmentBytes: number;
  private readonly maxRecordBytes: number;
  private readonly fsync: boolean;
  private readonly warn: (message: string) => void;
  private readonly retentionMs: number;
  private readonly retentionBytes: number;
  private readonly retentionWaitsForConsumers: boolean;
  private readonly segmentMs: number;
  private readonly retentionCheckMs: number;
  private readonly now: () => number;
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<RetentionResult> | undefined;
  /** When the log was opened and when each group last committed here, to tell an abandoned group. */
  private openedAtMs = 0;
  private readonly lastCommitMs = new Map<string, number>();
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
    if (!(this.segmentBytes > 0 && this.segmentBytes <= MAX_SEGMENT_BYTES)) {
      throw new RangeError(`segmentBytes must be in (0, ${MAX_SEGMENT_BYTES}], got ${this.segmentBytes}`);
    }
    this.retentionMs = positiveOrInfinity(options.retentionMs ?? DEFAULT_RETENTION_MS, 'retentionMs');
    this.retentionBytes = positiveOrInfinity(
      options.retentionBytes ?? DEFAULT_RETENTION_BYTES,
      'retentionBytes',
    );
    this.retentionWaitsForConsumers = options.retentionWaitsForConsumers ?? true;
    this.segmentMs = positiveOrInfinity(
      options.segmentMs ?? Math.min(DEFAULT_SEGMENT_MS, this.retentionMs),
      'segmentMs',
    );
    this.retentionCheckMs = options.retentionCheckMs ?? DEFAULT_RETENTION_CHECK_MS;
    if (!(this.retentionCheckMs >= 0))
      throw new RangeError(`retentionCheckMs must be >= 0, got ${this.retentionCheckMs}`);
    this.now = options.now ?? Date.now;
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
              {
                segmentBytes: this.segmentBytes,
                segmentMs: this.segmentMs,
                fsync: this.fsync,
                now: this.now,
              },
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
      this.openedAtMs = this.now();
      this.state = 'open';
      if (this.retentionCheckMs > 0) {
        const check = () => {
          this.enforceRetention().catch((error: unknown) =>
            this.warn(`local log: a retention check failed: ${String(error)}`),
          );
        };
        this.retentionTimer = setInterval(check, this.retentionCheckMs);
        this.retentionTimer.unref();
        check();
      }
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
      clearInterval(this.retentionTimer);
      await Promise.all([...this.consumers.values()].map((consumer) => consumer.stop()));
      await this.retentionRun?.catch(() => undefined);
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

  /** The offset the next record of the partition gets (offsets are never reused, retention or not). */
  endOffset(topic: string, partition: number): number {
    return this.partitionLog(topic, partition).nextOffset;
  }

  /** The first offset of the partition still kept: retention deleted the records before it. */
  startOffset(topic: string, partition: number): number {
    return this.partitionLog(topic, partition).startOffset;
  }

  /**
   * Deletes the segments past retention now (the log also does so every `retentionCheckMs`). One check
   * at a time: a call during a check gets that check's result.
   */
  enforceRetention(): Promise<RetentionResult> {
    if (this.state !== 'open') return Promise.reject(new Error(`local log ${this.dataDir} is not open`));
    this.retentionRun ??= this.deleteExpiredSegments().finally(() => {
      this.retentionRun = undefined;
    });
    return this.retentionRun;
  }

  private async deleteExpiredSegments(): Promise<RetentionResult> {
    const deleted: DeletedSegment[] = [];
    const heldForConsumers: string[] = [];
    for (const [topic, partitions] of this.topics) {
      const keepFrom = this.retentionWaitsForConsumers
        ? this.lowestCommitted(topic)
        : partitions.map(() => Number.POSITIVE_INFINITY);
      for (const partition of partitions) {
        const result = await partition.deleteExpired(
          this.retentionMs,
          this.retentionBytes,
          keepFrom[partition.partition] ?? 0,
        );
        deleted.push(...result.deleted);
        if (result.heldForConsumers) heldForConsumers.push(`${topic}-${partition.partition}`);
        if (result.deleted.length > 0) {
          const first = result.deleted[0];
          const last = result.deleted.at(-1);
          const bytes = result.deleted.reduce((sum, segment) => sum + segment.bytes, 0);
          this.warn(
            `local log: retention deleted ${result.deleted.length} segment(s) of ${topic}-${partition.partition}, ` +
              `offsets ${first?.baseOffset}-${(last?.endOffset ?? 1) - 1} (${(bytes / 1024 / 1024).toFixed(1)} MiB, ` +
              `by ${[...new Set(result.deleted.map((segment) => segment.reason))].join(' and ')}); the log now starts at ${partition.startOffset}`,
          );
        }
      }
    }
    return { deleted, heldForConsumers };
  }

  /**
   * Per partition, the lowest offset a consumer group of the topic has committed (a group with no
   * commit on a partition counts as 0): retention keeps every record from there on. The groups are the
   * running ones and those that committed within the retention time (the log's open counts as a
   * commit): a group silent for a whole retention period while the log was open is taken as gone, as
   * Kafka forgets a group's offsets after `offsets.retention.minutes`, so a removed stage cannot pin
   * the log forever.
   */
  private lowestCommitted(topic: string): number[] {
    const store = this.offsetStore();
    const now = this.now();
    const groups = new Set(
      store
        .groupsOf(topic)
        .filter((group) => now - (this.lastCommitMs.get(group) ?? this.openedAtMs) <= this.retentionMs),
    );
    for (const key of this.consumers.keys()) {
      const [group, consumerTopic] = key.split('\u0000');
      if (group !== undefined && consumerTopic === topic) groups.add(group);
    }
    const partitions = this.partitionsOf(topic);
    return partitions.map((partition) => {
      let lowest = Number.POSITIVE_INFINITY;
      for (const group of groups)
        lowest = Math.min(lowest, store.get(group, topic).get(partition.partition) ?? 0);
      return lowest;
    });
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

  // ----- data operations (issue 16): records by time ---------------------------------------------
  /**
   * The earliest offset of the partition whose record's timestamp is at or after `timestamp`, or the
   * end offset when none is (Kafka's ListOffsets by timestamp, which replay and redrive use there).
   * The log keeps no time index: segments are skipped by their first record's timestamp (one read
   * each, segments roll at least hourly), then the chosen segment is scanned. Like Kafka's, the answer
   * assumes timestamps that rise with offsets: producers here stamp the time of receipt, and a redrive
   * or a replay stamps the time it sends (it carries the original receipt time in a header).
   */
  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    const log = this.partitionLog(topic, partition);
    const end = log.nextOffset;
    let from = log.startOffset;
    // Retention may delete a segment meanwhile: a read before the log start resumes at the start.
    const readOrRestart = (offset: number, count: number) =>
      log.read(offset, count).catch((error: unknown) => {
        if (error instanceof OffsetBeforeLogStartError) return undefined;
        throw error;
      });
    for (const segment of [...log.segments]) {
      if (segment.endOffset <= segment.baseOffset || segment.baseOffset < from) continue;
      const read = await readOrRestart(segment.baseOffset, 1);
      if (read === undefined) continue;
      const [first] = read;
      if (!first || first.timestamp >= timestamp) break;
      from = segment.baseOffset;
    }
    for (let offset = Math.max(from, log.startOffset); offset < end; ) {
      const records = await readOrRestart(offset, 1000);
      if (records === undefined) {
        offset = log.startOffset;
        continue;
      }
      const last = records.at(-1);
      if (!last) break;
      for (const record of records) if (record.timestamp >= timestamp) return record.offset;
      offset = last.offset + 1;
    }
    return end;
  }

  /** The committed offset (next offset to read) of a group on a partition; undefined if none. */
  committedOffset(group: string, topic: string, partition: number): number | undefined {
    this.partitionLog(topic, partition);
    return this.offsetStore().get(group, topic).get(partition);
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
    this.lastCommitMs.set(group, this.now());
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
      startOffset: partition.startOffset,
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
