/**
 * Segment files of the local log and what lets it open without reading them: a sparse index per
 * segment (the file position of one record every INDEX_INTERVAL_BYTES, as Kafka's
 * `index.interval.bytes`), kept in memory for the segments read so far and written next to a segment
 * as `{base}.index` when it rolls and, for the active segment, on a clean close.
 *
 * An index file is trusted only if its checksum holds and the size it records is the segment file's
 * size: any append after it was written (and any torn write a crash left) changes the size, and then
 * the segment is scanned frame by frame instead, as before (crash recovery).
 */
import type { FileHandle } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { crc32, FRAME_HEADER_BYTES, MAX_FRAME_BODY_BYTES, readFrame } from './frame.js';
import { readExactly } from './fs-util.js';

/** A read below the partition's first offset: retention deleted those records. */
export class OffsetBeforeLogStartError extends RangeError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly logStartOffset: number,
  ) {
    super(
      `offset ${offset} of ${topic}-${partition} was deleted by retention; the log starts at ${logStartOffset}`,
    );
    this.name = 'OffsetBeforeLogStartError';
  }
}

/** One index entry per this many bytes of records: a read starts at most this far before its record. */
export const INDEX_INTERVAL_BYTES = 16 * 1024;
/** Scans read segment files in chunks of this size (a larger frame gets a chunk of its own). */
const SCAN_CHUNK_BYTES = 1024 * 1024;
const INDEX_MAGIC = 0x4c494458; // "LIDX"
const INDEX_VERSION = 1;
const INDEX_HEADER_BYTES = 4 + 4 + 8 + 8 + 8 + 4;

/** Relative offset -> file position of some records of a segment, in offset order (both increasing). */
export class SparseIndex {
  private relativeOffsets = new Uint32Array(64);
  private positions = new Uint32Array(64);
  private count = 0;
  private lastPosition = Number.NEGATIVE_INFINITY;

  get length(): number {
    return this.count;
  }

  /** Notes a record at `position`; kept if it is the first or INDEX_INTERVAL_BYTES past the last kept. */
  maybeAdd(relativeOffset: number, position: number): void {
    if (position - this.lastPosition < INDEX_INTERVAL_BYTES) return;
    this.add(relativeOffset, position);
  }

  add(relativeOffset: number, position: number): void {
    if (this.count === this.positions.length) {
      const offsets = new Uint32Array(this.count * 2);
      offsets.set(this.relativeOffsets);
      this.relativeOffsets = offsets;
      const positions = new Uint32Array(this.count * 2);
      positions.set(this.positions);
      this.positions = positions;
    }
    this.relativeOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count += 1;
    this.lastPosition = position;
  }

  /** The last entry at or before `relativeOffset` (the first entry, relative offset 0, always is). */
  floor(relativeOffset: number): { readonly relativeOffset: number; readonly position: number } {
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if ((this.relativeOffsets[middle] ?? 0) <= relativeOffset) low = middle;
      else high = middle - 1;
    }
    return { relativeOffset: this.relativeOffsets[low] ?? 0, position: this.positions[low] ?? 0 };
  }

  /** File position of the first entry at or after `relativeOffset`; undefined past the last entry. */
  ceilingPosition(relativeOffset: number): number | undefined {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.relativeOffsets[middle] ?? 0) < relativeOffset) low = middle + 1;
      else high = middle;
    }
    return low < this.count ? this.positions[low] : undefined;
  }

  /** The last entry, if any. */
  last(): { readonly relativeOffset: number; readonly position: number } | undefined {
    if (this.count === 0) return undefined;
    return {
      relativeOffset: this.relativeOffsets[this.count - 1] ?? 0,
      position: this.positions[this.count - 1] ?? 0,
    };
  }

  entries(): Iterable<readonly [number, number]> {
    const offsets = this.relativeOffsets;
    const positions = this.positions;
    const count = this.count;
    return (function* () {
      for (let i = 0; i < count; i++) yield [offsets[i] ?? 0, positions[i] ?? 0] as const;
    })();
  }
}

export interface SegmentScan {
  readonly index: SparseIndex;
  /** Bytes of valid frames from the start of the file. */
  readonly validBytes: number;
  /** Offset after the last valid frame. */
  readonly endOffset: number;
  /** Why the scan stopped before the end of the file (a torn or damaged frame), if it did. */
  readonly problem?: string;
}

/**
 * Reads a segment file frame by frame (checksums and offsets checked), in bounded chunks, from its
 * start or, with `from`, from a record an index already knows (its entries are added to `from.index`).
 */
export async function scanSegment(
  handle: FileHandle,
  baseOffset: number,
  fileSize: number,
  from?: { readonly index: SparseIndex; readonly relativeOffset: number; readonly position: number },
): Promise<SegmentScan> {
  const index = from?.index ?? new SparseIndex();
  let chunk = Buffer.alloc(0);
  let chunkStart = from?.position ?? 0;
  let position = chunkStart;
  let offset = baseOffset + (from?.relativeOffset ?? 0);
  while (position < fileSize) {
    const relative = position - chunkStart;
    const frame = readFrame(chunk, relative, offset);
    if (!frame.ok) {
      // An incomplete frame may only be cut by the chunk: read again from it, large enough for it.
      const bodyLength = chunk.length - relative >= 4 ? chunk.readUInt32BE(relative) : 0;
      const wanted = Math.min(
        fileSize - position,
        Math.max(SCAN_CHUNK_BYTES, FRAME_HEADER_BYTES + Math.min(bodyLength, MAX_FRAME_BODY_BYTES)),
      );
      if (chunkStart === position && chunk.length >= wanted) {
        return { index, validBytes: position, endOffset: offset, problem: frame.problem };
      }
      chunk = Buffer.allocUnsafe(wanted);
      await readExactly(handle, chunk, position);
      chunkStart = position;
      continue;
    }
    index.maybeAdd(offset - baseOffset, position);
    position = chunkStart + frame.next;
    offset += 1;
  }
  return { index, validBytes: position, endOffset: offset };
}

/** Path of a segment's index file. */
export const indexFileOf = (segmentFile: string) => segmentFile.replace(/\.log$/, '.index');

export function encodeIndexFile(
  baseOffset: number,
  endOffset: number,
  size: number,
  index: SparseIndex,
): Buffer {
  const data = Buffer.allocUnsafe(INDEX_HEADER_BYTES + index.length * 8 + 4);
  let p = data.writeUInt32BE(INDEX_MAGIC, 0);
  p = data.writeUInt32BE(INDEX_VERSION, p);
  p = data.writeDoubleBE(baseOffset, p);
  p = data.writeDoubleBE(endOffset, p);
  p = data.writeDoubleBE(size, p);
  p = data.writeUInt32BE(index.length, p);
  for (const [relativeOffset, position] of index.entries()) {
    p = data.writeUInt32BE(relativeOffset, p);
    p = data.writeUInt32BE(position, p);
  }
  data.writeUInt32BE(crc32(data.subarray(0, p)), p);
  return data;
}

export type IndexFileRead =
  | { readonly kind: 'ok'; readonly index: SparseIndex; readonly endOffset: number }
  /** No index file, or one that is not intact (never trusted; the segment is scanned instead). */
  | { readonly kind: 'unusable' }
  /** An intact index file written for another size of the segment: appended to since, or damaged. */
  | { readonly kind: 'other-size'; readonly indexedSize: number };

/** The index and end offset of a segment from its index file, if it is intact and for `fileSize` bytes. */
export async function readIndexFile(
  file: string,
  baseOffset: number,
  fileSize: number,
): Promise<IndexFileRead> {
  const unusable = { kind: 'unusable' } as const;
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return unusable;
  }
  if (data.length < INDEX_HEADER_BYTES + 4) return unusable;
  const body = data.subarray(0, data.length - 4);
  if (crc32(body) !== data.readUInt32BE(data.length - 4)) return unusable;
  if (data.readUInt32BE(0) !== INDEX_MAGIC || data.readUInt32BE(4) !== INDEX_VERSION) return unusable;
  const count = data.readUInt32BE(32);
  if (data.readDoubleBE(8) !== baseOffset || body.length !== INDEX_HEADER_BYTES + count * 8) return unusable;
  const indexedSize = data.readDoubleBE(24);
  if (indexedSize !== fileSize) return { kind: 'other-size', indexedSize };
  const endOffset = data.readDoubleBE(16);
  if (!Number.isSafeInteger(endOffset) || endOffset < baseOffset) return unusable;
  // A non-empty segment's index starts at its first record; an empty one has no entries.
  if ((count === 0) !== (endOffset === baseOffset)) return unusable;
  const index = new SparseIndex();
  for (let i = 0, p = INDEX_HEADER_BYTES; i < count; i++, p += 8) {
    index.add(data.readUInt32BE(p), data.readUInt32BE(p + 4));
  }
  return { kind: 'ok', index, endOffset };
}
