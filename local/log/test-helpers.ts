/** Helpers for the local log's tests: temp data directories and waiting for conditions. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StreamRecord } from '../../functions/ports/stream.js';

export async function makeTempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'iot-local-log-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets pending I/O callbacks and timers that are due run. */
export async function spin(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

export const record = (
  key: string,
  value: string | Uint8Array,
  extra: Partial<StreamRecord> = {},
): StreamRecord => ({
  key,
  value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
  ...extra,
});

export const decode = (base64: string | undefined): string =>
  Buffer.from(base64 ?? '', 'base64').toString('utf8');

/** A key that the default partitioner puts on `partition` of `partitions`. */
export function keyOnPartition(
  partitionFor: (key: string) => number,
  partition: number,
  prefix = 'device',
): string {
  for (let i = 0; i < 10_000; i++) {
    const key = `${prefix}-${i}`;
    if (partitionFor(key) === partition) return key;
  }
  throw new Error(`no key found for partition ${partition}`);
}
