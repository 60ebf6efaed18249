import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';

it('makes a temp dir and removes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'removed-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  // tsx's transform cache, as a `node --import tsx` child makes it: a cache, not a leftover.
  mkdirSync(join(tmpdir(), 'tsx-0'));

  expect(dir).toContain(tmpdir());
});
