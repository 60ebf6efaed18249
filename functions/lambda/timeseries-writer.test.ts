import {
  RejectedRecordsException,
  ThrottlingException,
  TimestreamWriteClient,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import type { DlqRecord } from '../core/contract/messages.js';
import { compileRegistry } from '../core/registry.js';
import { createEnrichHandler } from '../handlers/enrich.js';
import { LAMBDA_ENV, MemoryProducer, mskEvent, mskRawEvent, silentObservability } from './test-support.js';

const timestream = mockClient(TimestreamWriteClient);
const NOW = Date.parse('2026-11-23T12:00:02.000Z');
let createTimeseriesWriterLambda: typeof import('./timeseries-writer.js').createTimeseriesWriterLambda;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createTimeseriesWriterLambda } = await import('./timeseries-writer.js'));
});
afterAll(() => {
  vi.unstubAllEnvs();
});
beforeEach(() => {
  timestream.reset();
});

/** The enriched records the enrich stage produces from the MSK fixture. */
async function enrichedValues(): Promise<string[]> {
  const producer = new MemoryProducer();
  await createEnrichHandler({
    producer,
    registry: () => compileRegistry(seedRegistry),
    service: 'test',
    serviceVersion: 'test',
  })(mskRawEvent());
  return producer.values('iot.enriched');
}

function setup(options: { withProducer?: boolean } = {}) {
  const producer = new MemoryProducer();
  const stats: StatsBatch[] = [];
  const handler = createTimeseriesWriterLambda({
    timestream: new TimestreamWriteClient({}),
    database: 'iot-cloud-dev',
    table: 'telemetry',
    dimensions: async () => new Map(),
    ...(options.withProducer === false ? {} : { producer }),
    stats: { flush: async (batch) => void stats.push(batch) },
    observability: silentObservability(),
    now: () => NOW,
    sleep: async () => {},
  });
  return { handler, producer, stats };
}

describe('time-series writer Lambda on an MSK event', () => {
  it('writes the enriched messages and reports the poison record by its topic-partition key and offset', async () => {
    // Prepare
    timestream.on(WriteRecordsCommand).resolves({});
    const { handler } = setup();
    const values = await enrichedValues();

    // Act
    const response = await handler(mskEvent('iot.enriched', 2, [...values, 'not an enriched message'], 40));

    // Assess
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: { partition: 'iot.enriched-2', offset: 42 } }],
    });
    const records = timestream
      .commandCalls(WriteRecordsCommand)
      .flatMap((c) => c.args[0].input.Records ?? []);
    expect(records.map((r) => r.Dimensions?.[0]?.Value).sort()).toEqual(['env-00001', 'env-00002']);
  });

  it('counts the telemetry latency, device timestamp to written, in one stats update', async () => {
    timestream.on(WriteRecordsCommand).resolves({});
    const { handler, stats } = setup();

    await handler(mskEvent('iot.enriched', 0, await enrichedValues()));

    // The fixture's messages are 2.0 s and 1.5 s old at NOW: both in the 2.5 s bucket.
    expect(stats).toHaveLength(1);
    const [minute] = [...(stats[0]?.minutes.values() ?? [])];
    expect(minute?.latency).toEqual([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]);
  });

  it('dead-letters the messages whose records Timestream rejects for good, with the reason', async () => {
    timestream.on(WriteRecordsCommand).rejects(
      new RejectedRecordsException({
        message: 'rejected',
        $metadata: {},
        RejectedRecords: [
          {
            RecordIndex: 0,
            Reason: 'Record with the same dimensions, time and measure name has another value.',
            ExistingVersion: 1,
          },
        ],
      }),
    );
    const { handler, producer, stats } = setup();

    const response = await handler(mskEvent('iot.enriched', 0, await enrichedValues()));

    expect(response.batchItemFailures).toEqual([]);
    const letters = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'PROCESSING_FAILED', stage: 'timeseries-writer' });
    expect(letters[0]?.detail).toMatch(/^Timestream rejected telemetry: conflict/);
    expect(JSON.parse(Buffer.from(letters[0]?.original_base64 ?? '', 'base64').toString()).device_id).toBe(
      letters[0]?.device_id,
    );
    expect([...(stats[0]?.minutes.values() ?? [])][0]?.dlq).toBe(1);
  });

  it('without a dead-letter producer, reports the record of the rejected message to the event source', async () => {
    timestream.on(WriteRecordsCommand).rejects(
      new RejectedRecordsException({
        message: 'rejected',
        Message: 'rejected',
        $metadata: {},
        RejectedRecords: [
          { RecordIndex: 1, Reason: 'The record timestamp is outside the time range of the magnetic store.' },
        ],
      }),
    );
    const { handler, producer } = setup({ withProducer: false });
    const values = await enrichedValues();

    const response = await handler(mskEvent('iot.enriched', 4, values, 100));

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: { partition: 'iot.enriched-4', offset: 101 } }],
    });
    expect(producer.sent.size).toBe(0);
  });

  it('throws while Timestream keeps throttling, so the batch is retried', async () => {
    timestream
      .on(WriteRecordsCommand)
      .rejects(
        new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} }),
      );
    const { handler } = setup();

    await expect(handler(mskEvent('iot.enriched', 0, await enrichedValues()))).rejects.toThrow(
      /Rate exceeded/,
    );
  });
});
