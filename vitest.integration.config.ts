import { defineConfig } from 'vitest/config';

// The integration tier (npm run test:integration): the same code against real peers, an Apache Kafka
// broker and moto's AWS API server, which globalSetup starts once for every file. Files run one at a
// time: they share the two peers, and the machine has two cores.
export default defineConfig({
  test: {
    name: 'integration',
    include: [
      'integration/**/*.integration.test.ts',
      // The test files over DynamoDB (those through functions/adapters/dynamodb/test-support.ts), run
      // again on moto's DynamoDB instead of dynalite; the time-series sink's folder included.
      'functions/adapters/dynamodb/{alert-state,alerts,devices,message-samples,pipeline-stats,registry-store}.test.ts',
      'functions/adapters/dynamodb/timeseries/**/*.test.ts',
      'functions/lambda/{seed-registry-resource,api}.test.ts',
      'functions/handlers/api-registry.test.ts',
    ],
    globalSetup: ['integration/global-setup.ts'],
    // Each test file gets a temp dir of its own and fails if it leaves anything there (the file says why).
    setupFiles: ['scripts/temp-dir-guard.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
