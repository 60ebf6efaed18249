import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The run scripts/temp-dir-guard.test.ts starts: these fixtures alone, under the guard.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['scripts/temp-dir-guard/*.fixture.ts'],
    setupFiles: ['scripts/temp-dir-guard.ts'],
  },
});
