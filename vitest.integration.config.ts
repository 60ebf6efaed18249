import { defineConfig } from 'vitest/config';

// The integration tier (npm run test:integration): the same code against real peers, an Apache Kafka
// broker and moto's AWS API server, which globalSetup starts once for every file. Files run one at a
// time: they share the two peers, and the machine has two cores.
export default defineConfig({
  test: {
    name: 'integration',
    include: ['integration/**/*.integration.test.ts'],
    globalSetup: ['integration/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
