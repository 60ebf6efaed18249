import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchedReadingsOf } from '../../functions/core/no-data.js';
import { processMessage } from '../../functions/core/process-message.js';
import { compileRegistry } from '../../functions/core/registry.js';
import {
  breakerTelemetry,
  environmentalTelemetry,
  PROCESSED_AT,
  RECEIVED_AT,
} from '../../functions/core/test-support/messages.js';
import type { KafkaEvent } from '../../functions/ports/stream.js';
import { TOPICS } from '../../functions/shared/stream.js';
import { seedRegistry } from '../../registry-data/index.js';
import { workerMemory } from '../worker-rpc.js';
import { startTimeseriesWorker, type TimeseriesWorker } from './worker-host.js';
import type { WrittenSummary } from './worker-protocol.js';

let worker: TimeseriesWorker;
beforeAll(async () => {
  worker = await startTimeseriesWorker({ path: ':memory:' });
});
afterAll(async () => {
  await worker.close();
});

const record = (offset: number, value: string) => ({
  topic: TOPICS.enriched,
  partition: 0,
  offset,
  timestamp: 0,
  timestampType: 'CREATE_TIME' as const,
  key: Buffer.from('env-001').toString('base64'),
  value: Buffer.from(value).toString('base64'),
  headers: [],
});

describe('the time-series worker', () => {
  it('runs the writer handler on an event, reports what it stored, and answers queries', async () => {
    const outcome = processMessage(
      JSON.stringify(breakerTelemetry()),
      { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
      { registry: compileRegistry(seedRegistry), service: 'enrich', serviceVersion: 'test' },
    );
    if (outcome.kind !== 'enriched') throw new Error(outcome.rejection.reason);
    const fixture = outcome.message;
    const event: KafkaEvent = {
      eventSource: 'aws:kafka',
      records: { 'iot.enriched-0': [record(0, outcome.json), record(1, 'not json')] },
    };
    const written: WrittenSummary[] = [];

    const response = await worker.writer(
      (summary) => written.push(summary),
      () => ({}),
    )(event);

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: { partition: 'iot.enriched-0', offset: 1 } }],
    });
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ deviceId: fixture.device_id });
    expect(written[0]?.latencyMs).toEqual(expect.any(Number));
    expect(await worker.count()).toBeGreaterThan(0);
    expect((await worker.latest(fixture.device_id)).length).toBeGreaterThan(0);
  });

  // Issue 15: the device records hold the watched readings' last-seen times (the no-data evaluator's input).
  it('reports the watched readings each written message carried, for the device record', async () => {
    const registry = compileRegistry(seedRegistry);
    const outcome = processMessage(
      JSON.stringify(environmentalTelemetry()),
      { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
      { registry, service: 'enrich', serviceVersion: 'test' },
    );
    if (outcome.kind !== 'enriched') throw new Error(outcome.rejection.reason);
    const written: WrittenSummary[] = [];

    await worker.writer(
      (summary) => written.push(summary),
      () => watchedReadingsOf(registry),
    )({ eventSource: 'aws:kafka', records: { 'iot.enriched-0': [record(5, outcome.json)] } });

    expect(written).toEqual([
      expect.objectContaining({ deviceId: 'env-001', receivedAt: RECEIVED_AT, readings: ['humidity'] }),
    ]);
  });

  it('keeps a RangeError a RangeError across the thread (the API answers those with 400)', async () => {
    await expect(worker.latest('not a device id!')).rejects.toBeInstanceOf(RangeError);
  });

  it("answers a memory request with its own isolate's heap and DuckDB's memory by tag", async () => {
    const memory = (await workerMemory()).find((worker) => worker.what === 'time-series worker');
    expect(memory?.heapUsed).toBeGreaterThan(0);
    expect(memory?.heapCommitted).toBeGreaterThanOrEqual(memory?.heapUsed ?? Number.POSITIVE_INFINITY);
    // The points written above live in DuckDB's in-memory table.
    expect(Object.values(memory?.native ?? {}).reduce((sum, bytes) => sum + bytes, 0)).toBeGreaterThan(0);
  });
});
