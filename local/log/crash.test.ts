import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOPICS } from '../../functions/shared/stream.js';
import { LocalLog } from './local-log.js';
import { makeTempDir, removeDir } from './test-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));

let dataDir: string;

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  await removeDir(dataDir);
});

describe('LocalLog: a killed process', () => {
  it('loses no acknowledged record, keeps its committed offsets, and its stale lock is taken over', async () => {
    // Prepare: a child process that sends and consumes until it gets SIGKILL
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'crash-writer.fixture.ts'), dataDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let acknowledged = 0;
    let durable = 0;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const [what, count] = line.split(' ');
          if (what === 'sent') acknowledged = Number(count);
          if (what === 'durable') durable = Number(count);
        }
        if (acknowledged >= 2000 && durable >= 500) resolve();
      });
      child.on('exit', () => reject(new Error(`the child exited early: ${stderr}`)));
    });

    // Act
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect((await readFile(path.join(dataDir, 'LOCK'), 'utf8')).trim()).toBe(String(child.pid));
    const log = new LocalLog({ dataDir, onWarning: () => {} });
    await log.open();

    // Assess: every acknowledged value is there, each partition is contiguous, commits are within it
    try {
      const values = new Set<number>();
      const committed = log.committedOffsets('crash-test', TOPICS.raw);
      for (let partition = 0; partition < 6; partition++) {
        const records = await log.read(TOPICS.raw, partition, 0, 1_000_000);
        expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
        for (const r of records) values.add(Number(Buffer.from(r.value).toString()));
        expect(committed[partition]).toBeLessThanOrEqual(records.length);
      }
      for (let i = 0; i < acknowledged; i++) expect(values.has(i)).toBe(true);
      expect(committed.reduce((sum, offset) => sum + offset, 0)).toBeGreaterThanOrEqual(durable);
    } finally {
      await log.close();
    }
  });
});
