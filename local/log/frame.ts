/**
 * The on-disk record frame of the local log's segment files: length-prefixed, checksummed binary.
 *
 * ```
 * frame  = u32 bodyLength | u32 crc32(body) | body            (big-endian)
 * body   = u8 magic (1) | i64 offset | i64 timestamp
 *        | u32 keyLength | key (UTF-8)
 *        | u32 valueLength | value
 *        | u16 headerCount | { u16 nameLength | name (UTF-8) | u32 valueLength | value (UTF-8) }*
 * ```
 *
 * A frame whose header or body is incomplete, whose CRC does not match, or whose fields do not add
 * up is invalid: on open, the log keeps every frame before the first invalid one.
 */
import * as zlib from 'node:zlib';

export const FRAME_MAGIC = 1;
export const FRAME_HEADER_BYTES = 8;
/** Body bytes before the key: magic, offset, timestamp, key length. */
const FIXED_BODY_BYTES = 1 + 8 + 8 + 4 + 4 + 2;
/** A frame body larger than this is treated as corrupt, never allocated. */
export const MAX_FRAME_BODY_BYTES = 64 * 1024 * 1024;

/** A record as the log stores and returns it. */
export interface LogRecord {
  readonly offset: number;
  /** Epoch ms (CREATE_TIME). */
  readonly timestamp: number;
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: readonly (readonly [name: string, value: string])[];
}

/** A record validated and converted to bytes, waiting for its offset. */
export interface PreparedRecord {
  readonly timestamp: number;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly headers: readonly (readonly [name: Buffer, value: Buffer])[];
  /** Size of the frame this record becomes. */
  readonly frameBytes: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Portable(data: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ data.readUInt8(i)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** CRC-32 (IEEE), as zlib computes it; zlib.crc32 exists from Node 20.15, older Node uses the table. */
export const crc32: (data: Buffer) => number =
  typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) >>> 0 : crc32Portable;

export function prepareRecord(
  key: string,
  value: Uint8Array,
  headers: Readonly<Record<string, string>> | undefined,
  timestamp: number,
): PreparedRecord {
  const keyBytes = Buffer.from(key, 'utf8');
  const valueBytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const headerBytes: (readonly [Buffer, Buffer])[] = [];
  let size = FRAME_HEADER_BYTES + FIXED_BODY_BYTES + keyBytes.length + valueBytes.length;
  for (const [name, text] of Object.entries(headers ?? {})) {
    const pair = [Buffer.from(name, 'utf8'), Buffer.from(text, 'utf8')] as const;
    if (pair[0].length > 0xffff)
      throw new RangeError(`header name longer than 65535 bytes: ${name.slice(0, 40)}…`);
    headerBytes.push(pair);
    size += 2 + pair[0].length + 4 + pair[1].length;
  }
  if (headerBytes.length > 0xffff) throw new RangeError('more than 65535 headers on one record');
  return { timestamp, key: keyBytes, value: valueBytes, headers: headerBytes, frameBytes: size };
}

/** Writes the frame of `record` at `offset` into `target` at `position`; returns the next position. */
export function writeFrame(target: Buffer, position: number, offset: number, record: PreparedRecord): number {
  const bodyStart = position + FRAME_HEADER_BYTES;
  let p = bodyStart;
  p = target.writeUInt8(FRAME_MAGIC, p);
  p = target.writeBigInt64BE(BigInt(offset), p);
  p = target.writeBigInt64BE(BigInt(record.timestamp), p);
  p = target.writeUInt32BE(record.key.length, p);
  p += record.key.copy(target, p);
  p = target.writeUInt32BE(record.value.length, p);
  p += record.value.copy(target, p);
  p = target.writeUInt16BE(record.headers.length, p);
  for (const [name, text] of record.headers) {
    p = target.writeUInt16BE(name.length, p);
    p += name.copy(target, p);
    p = target.writeUInt32BE(text.length, p);
    p += text.copy(target, p);
  }
  target.writeUInt32BE(p - bodyStart, position);
  target.writeUInt32BE(crc32(target.subarray(bodyStart, p)), position + 4);
  return p;
}

export type FrameRead =
  | { readonly ok: true; readonly record: LogRecord; readonly next: number }
  | { readonly ok: false; readonly problem: string };

/** Reads and checks the frame at `position`; `expectedOffset` must be the offset it carries. */
export function readFrame(data: Buffer, position: number, expectedOffset: number): FrameRead {
  const available = data.length - position;
  if (available < FRAME_HEADER_BYTES)
    return { ok: false, problem: `incomplete frame header (${available} bytes)` };
  const bodyLength = data.readUInt32BE(position);
  if (bodyLength < FIXED_BODY_BYTES || bodyLength > MAX_FRAME_BODY_BYTES) {
    return { ok: false, problem: `implausible frame length ${bodyLength}` };
  }
  const bodyStart = position + FRAME_HEADER_BYTES;
  const end = bodyStart + bodyLength;
  if (end > data.length) {
    return {
      ok: false,
      problem: `incomplete frame body (${data.length - bodyStart} of ${bodyLength} bytes)`,
    };
  }
  const body = data.subarray(bodyStart, end);
  if (crc32(body) !== data.readUInt32BE(position + 4))
    return { ok: false, problem: 'frame checksum mismatch' };
  const decoded = decodeBody(body);
  if (typeof decoded === 'string') return { ok: false, problem: decoded };
  if (decoded.offset !== expectedOffset) {
    return { ok: false, problem: `frame carries offset ${decoded.offset}, expected ${expectedOffset}` };
  }
  return { ok: true, record: decoded, next: end };
}

function decodeBody(body: Buffer): LogRecord | string {
  let p = 0;
  const need = (bytes: number): boolean => p + bytes <= body.length;
  if (body.readUInt8(p) !== FRAME_MAGIC) return `unknown frame magic ${body.readUInt8(p)}`;
  p += 1;
  const offset = Number(body.readBigInt64BE(p));
  const timestamp = Number(body.readBigInt64BE(p + 8));
  p += 16;
  const keyLength = body.readUInt32BE(p);
  p += 4;
  if (!need(keyLength + 4)) return 'key overruns the frame';
  const key = body.toString('utf8', p, p + keyLength);
  p += keyLength;
  const valueLength = body.readUInt32BE(p);
  p += 4;
  if (!need(valueLength + 2)) return 'value overruns the frame';
  const value = body.subarray(p, p + valueLength);
  p += valueLength;
  const headerCount = body.readUInt16BE(p);
  p += 2;
  const headers: (readonly [string, string])[] = [];
  for (let i = 0; i < headerCount; i++) {
    if (!need(2)) return 'header overruns the frame';
    const nameLength = body.readUInt16BE(p);
    p += 2;
    if (!need(nameLength + 4)) return 'header overruns the frame';
    const name = body.toString('utf8', p, p + nameLength);
    p += nameLength;
    const textLength = body.readUInt32BE(p);
    p += 4;
    if (!need(textLength)) return 'header overruns the frame';
    headers.push([name, body.toString('utf8', p, p + textLength)]);
    p += textLength;
  }
  if (p !== body.length) return 'trailing bytes in the frame';
  return { offset, timestamp, key, value, headers };
}
