import { defineConfig } from 'vitest/config';

// integration/: the real-peer tier, run by npm run test:integration (vitest.integration.config.ts).
const EXCLUDE = ['node_modules/**', 'cdk.out/**', 'dist/**', '.iotcloud/**', 'integration/**', '.cache/**'];

export default defineConfig({
  test: {
    // Unit tests touch no network; the property tests are CPU-bound, so a generous timeout avoids
    // false failures on a loaded two-core machine without hiding real hangs.
    testTimeout: 30_000,
    // Each test file gets a temp dir of its own and fails if it leaves anything there (the file says why).
    setupFiles: ['scripts/temp-dir-guard.ts'],
    projects: [
      {
        // The CDK app deploys the built dashboard (dashboard/dist/): its tests build it once first,
        // and only when an infra test is selected (vitest runs a project's globalSetup only then).
        extends: true,
        test: {
          name: 'infra',
          include: ['infra/**/*.test.ts'],
          exclude: EXCLUDE,
          globalSetup: ['infra/test/build-dashboard.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'project', include: ['**/*.test.ts'], exclude: [...EXCLUDE, 'infra/**'] },
      },
    ],
  },
});
