/**
 * Powertools for AWS Lambda, set up once per function: structured JSON logs (Logger), CloudWatch
 * metrics as Embedded Metric Format log lines (Metrics: no PutMetricData call, no extra IAM), and
 * X-Ray traces (Tracer: active tracing on the function; SDK clients passed through `traceClient`).
 *
 * Env vars read (all optional, Powertools' own): POWERTOOLS_SERVICE_NAME (default: the name given
 * here), POWERTOOLS_METRICS_NAMESPACE (default `IotCloud`), POWERTOOLS_LOG_LEVEL,
 * POWERTOOLS_TRACE_ENABLED. AWS actions: X-Ray `PutTraceSegments`/`PutTelemetryRecords` (the CDK's
 * `tracing: Tracing.ACTIVE` grants them); metrics need none.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { ENV } from './environment.js';
import { EmfMetrics } from './metrics.js';

export { MetricUnit };

export const DEFAULT_METRICS_NAMESPACE = 'IotCloud';

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
  /**
   * The declared pipeline metrics (functions/shared/metrics.ts) as EMF: pass it to the recording
   * functions there (recordRaw, recordBatch, recordNotificationDelivery, ...).
   */
  readonly pipelineMetrics: EmfMetrics;
}

/** Creates the three tools for a function; call once, at module scope. */
export function createObservability(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): Observability {
  const service = env[ENV.powertoolsServiceName] || serviceName;
  const namespace = env[ENV.powertoolsMetricsNamespace] || DEFAULT_METRICS_NAMESPACE;
  return {
    logger: new Logger({ serviceName: service }),
    metrics: new Metrics({ serviceName: service, namespace }),
    tracer: new Tracer({ serviceName: service }),
    pipelineMetrics: new EmfMetrics({ namespace, serviceName: service }),
  };
}

/** Traces an AWS SDK v3 client's calls (a no-op when tracing is off, as in tests and locally). */
export function traceClient<T>(observability: Observability, client: T): T {
  return observability.tracer.isTracingEnabled() ? observability.tracer.captureAWSv3Client(client) : client;
}

/**
 * Wraps a handler: Lambda context in every log line, a `## handler` subsegment with the cold-start
 * and service annotations, the error logged once with its stack, and the metrics flushed after every
 * invocation (also when it fails).
 */
export function instrument<E, R>(
  observability: Observability,
  handler: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  const { logger, metrics, tracer } = observability;
  let coldStart = true;
  return async (event, context) => {
    if (context) logger.addContext(context);
    if (coldStart) metrics.captureColdStartMetric();
    coldStart = false;
    const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    const subsegment = segment?.addNewSubsegment('## handler');
    if (subsegment) {
      tracer.setSegment(subsegment);
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    try {
      return await handler(event, context);
    } catch (error) {
      logger.error('invocation failed', error as Error);
      subsegment?.addError(error as Error);
      throw error;
    } finally {
      observability.pipelineMetrics.flush();
      metrics.publishStoredMetrics();
      if (subsegment && segment) {
        subsegment.close();
        tracer.setSegment(segment);
      }
    }
  };
}
