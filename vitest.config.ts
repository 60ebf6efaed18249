import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'cdk.out/**', 'dist/**', '.iotcloud/**'],
    // Unit tests touch no network; the property tests are CPU-bound, so a generous timeout avoids
    // false failures on a loaded two-core machine without hiding real hangs.
    testTimeout: 30_000,
  },
});
