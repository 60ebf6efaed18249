/**
 * Memory and timeout of the pipeline's Lambda functions, declared once for the CDK constructs and the
 * cost model (`npm run cost`). The values are those the constructs set today (infra/lib/constructs/
 * ingest.ts, processing.ts, api.ts); the constructs should read them from here so the two cannot drift.
 * Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU.
 */
export const LAMBDA_SIZING = {
  ingestBridge: { memoryMb: 512, timeoutSeconds: 60 },
  enrich: { memoryMb: 1024, timeoutSeconds: 120 },
  timeseriesWriter: { memoryMb: 1024, timeoutSeconds: 120 },
  api: { memoryMb: 512, timeoutSeconds: 15 },
  // ----- functions beside the pipeline, priced by `npm run cost` (their constructs set the same values;
  // infra/test/cost-inventory.test.ts pins both to the synthesized template) --------------------------
  notifier: { memoryMb: 256, timeoutSeconds: 300 },
  noData: { memoryMb: 512, timeoutSeconds: 50 },
  timeseriesRollup: { memoryMb: 512, timeoutSeconds: 300 },
  dataOps: { memoryMb: 1024, timeoutSeconds: 900 },
} as const satisfies Record<string, { memoryMb: number; timeoutSeconds: number }>;

export type PipelineFunction = keyof typeof LAMBDA_SIZING;

/** Memory at which a function gets one full vCPU. */
export const LAMBDA_MB_PER_VCPU = 1769;
