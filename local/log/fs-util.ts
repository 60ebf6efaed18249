/** Small file-system helpers of the local log. */

import { type FileHandle, open, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * fsyncs a directory so a file created or renamed in it survives a power loss. Platforms that cannot
 * open or sync a directory (Windows) skip it.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw error;
  } finally {
    await handle?.close();
  }
}

/** Appends all of `data` (the handle is opened in append mode). */
export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, null);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    written += bytesWritten;
  }
}

/** Reads exactly `target.length` bytes at `position`. */
export async function readExactly(handle: FileHandle, target: Buffer, position: number): Promise<void> {
  let read = 0;
  while (read < target.length) {
    const { bytesRead } = await handle.read(target, read, target.length - read, position + read);
    if (bytesRead <= 0) throw new Error(`unexpected end of file at ${position + read}`);
    read += bytesRead;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Replaces `file` atomically: writes a temp file next to it, fsyncs it, renames it over `file` and
 * fsyncs the directory, so a crash leaves the old or the new content, never a mix.
 */
export async function writeFileAtomic(file: string, content: string | Buffer, fsync: boolean): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(content);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  if (fsync) await syncDirectory(path.dirname(file));
}
