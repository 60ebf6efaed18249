import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// Made at the top level, before any hook runs: the guard's directory is TMPDIR already.
mkdtempSync(join(tmpdir(), 'made-at-import-'));

it('makes a temp dir and leaves it', () => {
  expect(mkdtempSync(join(tmpdir(), 'left-behind-'))).toContain(tmpdir());
});
