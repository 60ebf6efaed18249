import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kept-by-a-failed-stop-'));
});
// afterAll hooks run last registered first: the failing stop runs first, and the removal never runs.
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  throw new Error('a stop that failed before the removal');
});

it('makes a temp dir', () => {
  expect(dir).toContain(tmpdir());
});
