/**
 * Key-to-partition mapping of the local log: Kafka's default partitioner for keyed records, so a
 * device lands on the same partition number here as with a Java or librdkafka `murmur2_random`
 * producer on MSK (for the same partition count): `toPositive(murmur2(utf8(key))) % partitions`.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's `Utils.murmur2`: MurmurHash2, 32 bits, seed 0x9747b28c, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const length = bytes.length;
  let h = (SEED ^ length) | 0;
  const words = length >>> 2;
  for (let i = 0; i < words; i++) {
    let k = bytes.readInt32LE(i * 4);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= bytes.readUInt8(tail + 2) << 16;
  if (rest >= 2) h ^= bytes.readUInt8(tail + 1) << 8;
  if (rest >= 1) {
    h ^= bytes.readUInt8(tail);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a key among `partitions`, as Kafka's default partitioner picks it. */
export function partitionForKey(key: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitions}`);
  }
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}
