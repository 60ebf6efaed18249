/**
 * Data operations in AWS (issue 16): where the API entry (./api.ts) and the data-ops entry
 * (./data-ops.ts) find the invocation between them. The schema and how it runs:
 * functions/handlers/data-ops-invocation.ts; the API's side over Lambda Invoke:
 * functions/adapters/lambda/invoked-data-ops.ts.
 */

export { type InvokedDataOpsOptions, invokedDataOps } from '../adapters/lambda/invoked-data-ops.js';
export {
  createDataOpsInvocationHandler,
  DataOpsInvocation,
  type DataOpsInvocationResult,
} from '../handlers/data-ops-invocation.js';
