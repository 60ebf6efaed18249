import type { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { METRICS, recordDeadLetter, recordDeviceToQueryable } from '../shared/metrics.js';
import { EmfMetrics } from './metrics.js';
import { createObservability, instrument } from './observability.js';

type Emf = ReturnType<Metrics['serializeMetrics']> & Record<string, unknown>;

const emfMetrics = () => {
  const lines: Emf[] = [];
  const recorder = new EmfMetrics({
    namespace: 'IotCloud',
    serviceName: 'enrich',
    emit: (metrics) => lines.push(metrics.serializeMetrics() as Emf),
  });
  return { recorder, lines };
};

describe('EmfMetrics', () => {
  it('writes a counter once per label set, summed, under the declared name with its labels as dimensions', () => {
    const { recorder, lines } = emfMetrics();

    recordDeadLetter(recorder, 'INVALID_JSON');
    recordDeadLetter(recorder, 'INVALID_JSON');
    recordDeadLetter(recorder, 'SCHEMA_INVALID');
    recorder.flush();

    const byReason = lines.find((line) => line.reason === 'INVALID_JSON');
    expect(byReason?.[METRICS.deadLetters.name]).toBe(2);
    expect(byReason?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(['service', 'reason']);
    expect(byReason?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([
      { Name: 'iot_dead_letters_total', Unit: 'Count' },
    ]);
    const dlqStage = lines.find((line) => line.stage === 'dlq');
    expect(dlqStage?.[METRICS.messages.name]).toBe(3);
  });

  it('writes every histogram observation, in seconds, for CloudWatch percentiles', () => {
    const { recorder, lines } = emfMetrics();

    recordDeviceToQueryable(recorder, 120);
    recordDeviceToQueryable(recorder, 1500);
    recorder.flush();

    expect(lines).toHaveLength(1);
    expect(lines[0]?.[METRICS.deviceToQueryable.name]).toEqual([0.12, 1.5]);
    expect(lines[0]?._aws.CloudWatchMetrics[0]?.Metrics[0]?.Unit).toBe('Seconds');
  });

  it('writes nothing twice: a flush empties it', () => {
    const { recorder, lines } = emfMetrics();
    recordDeadLetter(recorder, 'INVALID_JSON');

    recorder.flush();
    recorder.flush();

    expect(lines).toHaveLength(2); // messages{stage} and dead_letters{reason}, once
  });

  it('is flushed by instrument() after every invocation', async () => {
    const observability = createObservability('test', { POWERTOOLS_SERVICE_NAME: 'test' });
    observability.logger.setLogLevel('SILENT');
    let flushed = 0;
    observability.pipelineMetrics.flush = () => {
      flushed++;
    };
    observability.metrics.publishStoredMetrics = () => observability.metrics;

    await instrument(observability, async () => 'ok')(undefined);

    expect(flushed).toBe(1);
  });
});
