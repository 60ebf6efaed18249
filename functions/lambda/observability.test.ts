import { describe, expect, it, vi } from 'vitest';
import { createObservability, DEFAULT_METRICS_NAMESPACE, instrument, MetricUnit } from './observability.js';

const silent = () => {
  const observability = createObservability('iot-cloud-test', {});
  observability.logger.setLogLevel('SILENT');
  return observability;
};

describe('observability', () => {
  it('takes the service name and namespace from the Powertools variables when set', () => {
    const observability = createObservability('fallback', {
      POWERTOOLS_SERVICE_NAME: 'iot-cloud-enrich',
      POWERTOOLS_METRICS_NAMESPACE: 'IotCloudDev',
    });

    observability.metrics.addMetric('Probe', MetricUnit.Count, 1);
    const emf = observability.metrics.serializeMetrics();

    expect(emf._aws.CloudWatchMetrics[0]?.Namespace).toBe('IotCloudDev');
    expect(emf.service).toBe('iot-cloud-enrich');
  });

  it('defaults the metrics namespace', () => {
    expect(DEFAULT_METRICS_NAMESPACE).toBe('IotCloud');
  });

  it('publishes the stored metrics after every invocation, also a failed one, and rethrows the error', async () => {
    const observability = silent();
    const publish = vi
      .spyOn(observability.metrics, 'publishStoredMetrics')
      .mockReturnValue(observability.metrics);
    const handler = instrument(observability, async (event: { fail: boolean }) => {
      if (event.fail) throw new Error('boom');
      return 'ok';
    });

    await expect(handler({ fail: false })).resolves.toBe('ok');
    await expect(handler({ fail: true })).rejects.toThrow('boom');

    expect(publish).toHaveBeenCalledTimes(2);
  });

  it('captures the cold start metric on the first invocation only', async () => {
    const observability = silent();
    vi.spyOn(observability.metrics, 'publishStoredMetrics').mockReturnValue(observability.metrics);
    const coldStart = vi.spyOn(observability.metrics, 'captureColdStartMetric').mockImplementation(() => {});
    const handler = instrument(observability, async () => undefined);

    await handler(undefined);
    await handler(undefined);

    expect(coldStart).toHaveBeenCalledTimes(1);
  });
});
