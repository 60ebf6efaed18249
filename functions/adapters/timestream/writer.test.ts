import {
  RejectedRecordsException,
  ThrottlingException,
  TimestreamWriteClient,
  ValidationException,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { seedRegistry } from '../../../registry-data/index.js';
import type { EnrichedMessage } from '../../core/contract/messages.js';
import { compileRegistry } from '../../core/registry.js';
import { estimateRecordBytes, type TimestreamRecord, toTimeSeriesPoints } from '../../core/timeseries.js';
import { createEnrichHandler } from '../../handlers/enrich.js';
import type { StreamRecord } from '../../ports/stream.js';
import { classifyRejection, type RejectedWrite, TimestreamRejectedError, TimestreamSink } from './writer.js';

const timestream = mockClient(TimestreamWriteClient);
const registry = compileRegistry(seedRegistry);
const START = Date.parse('2026-11-23T12:00:00.000Z');

/** `count` enriched telemetry messages of one environmental sensor, one second apart. */
async function enrichedMessages(count: number): Promise<EnrichedMessage[]> {
  const sent: StreamRecord[] = [];
  const handler = createEnrichHandler({
    producer: { send: async (topic, records) => void (topic === 'iot.enriched' && sent.push(...records)) },
    registry: () => registry,
    service: 'test',
    serviceVersion: 'test',
    now: () => START + count * 1000,
  });
  const records = Array.from({ length: count }, (_, i) => ({
    topic: 'iot.raw',
    partition: 0,
    offset: i,
    timestamp: START + i * 1000,
    timestampType: 'CREATE_TIME' as const,
    key: Buffer.from('env-00001').toString('base64'),
    value: Buffer.from(
      JSON.stringify({
        device_id: 'env-00001',
        timestamp: new Date(START + i * 1000).toISOString(),
        event_type: 'telemetry',
        measurements: { temperature: 20 + (i % 10), humidity: 40, pressure: 1013.2 },
      }),
    ).toString('base64'),
    headers: [],
  }));
  await handler({ eventSource: 'aws:kafka', records: { 'iot.raw-0': records } });
  return sent.map((record) => JSON.parse(Buffer.from(record.value).toString('utf8')) as EnrichedMessage);
}

const write = (sink: TimestreamSink, messages: readonly EnrichedMessage[]) =>
  sink.write(messages.flatMap(toTimeSeriesPoints), messages);

const sentBatches = () =>
  timestream
    .commandCalls(WriteRecordsCommand)
    .map((call) => call.args[0].input.Records as TimestreamRecord[]);

beforeEach(() => {
  timestream.reset();
});

describe('TimestreamSink', () => {
  it('writes one multi-measure record per message in WriteRecords calls of at most 100, each record within 2 KB', async () => {
    // Prepare
    timestream.on(WriteRecordsCommand).resolves({});
    const messages = await enrichedMessages(150);
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 'telemetry',
    });

    // Act
    await write(sink, messages);

    // Assess
    const batches = sentBatches();
    expect(batches.map((b) => b.length)).toEqual([100, 50]);
    const input = timestream.commandCalls(WriteRecordsCommand)[0]?.args[0].input;
    expect([input?.DatabaseName, input?.TableName]).toEqual(['db', 'telemetry']);
    const records = batches.flat();
    expect(records.every((r) => estimateRecordBytes(r) <= 2048)).toBe(true);
    expect(records[0]).toMatchObject({
      MeasureName: 'telemetry',
      MeasureValueType: 'MULTI',
      TimeUnit: 'MILLISECONDS',
      Time: String(START),
    });
    expect(records[0]?.MeasureValues.map((m) => m.Name)).toEqual(
      expect.arrayContaining(['temperature', 'humidity', 'pressure', 'quality_score']),
    );
  });

  it('adds the dimensions the device type declares from the message tags', async () => {
    timestream.on(WriteRecordsCommand).resolves({});
    const [message] = await enrichedMessages(1);
    const tagged = { ...(message as EnrichedMessage), tags: { site: 'plant-7' } } as EnrichedMessage;
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 't',
      dimensionsOf: (type) => (type === 'environmental_sensor' ? ['site'] : []),
    });

    await write(sink, [tagged]);

    expect(sentBatches()[0]?.[0]?.Dimensions.map((d) => [d.Name, d.Value])).toEqual([
      ['device_id', 'env-00001'],
      ['device_type', 'environmental_sensor'],
      ['site', 'plant-7'],
    ]);
  });

  it('sends a message delivered twice in one batch once (Timestream refuses duplicates in a request)', async () => {
    timestream.on(WriteRecordsCommand).resolves({});
    const messages = await enrichedMessages(2);
    const sink = new TimestreamSink({ client: new TimestreamWriteClient({}), database: 'db', table: 't' });

    await write(sink, [...messages, ...messages]);

    expect(sentBatches().map((b) => b.length)).toEqual([2]);
  });

  it('reports rejected records with their message and kind, and does not resend them', async () => {
    // Prepare: record 1 conflicts with a stored value, record 2 is outside the retention
    timestream.on(WriteRecordsCommand).rejects(
      new RejectedRecordsException({
        message: 'One or more records have been rejected.',
        $metadata: {},
        RejectedRecords: [
          {
            RecordIndex: 1,
            Reason:
              'A record with the same dimensions, timestamp and measure name already exists with a different measure value.',
            ExistingVersion: 1,
          },
          {
            RecordIndex: 2,
            Reason: 'The record timestamp is outside the time range of the data ingestion window.',
          },
        ],
      }),
    );
    const messages = await enrichedMessages(3);
    const rejected: RejectedWrite[] = [];
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 't',
      onRejected: (records) => rejected.push(...records),
    });

    // Act
    await write(sink, messages);

    // Assess
    expect(timestream.commandCalls(WriteRecordsCommand)).toHaveLength(1);
    expect(rejected.map((r) => [r.kind, r.message.timestamp, r.existingVersion])).toEqual([
      ['conflict', messages[1]?.timestamp, 1],
      ['out-of-retention', messages[2]?.timestamp, undefined],
    ]);
  });

  it('treats an identical record already stored as written (idempotent redelivery)', async () => {
    timestream.on(WriteRecordsCommand).rejects(
      new RejectedRecordsException({
        message: 'rejected',
        $metadata: {},
        RejectedRecords: [
          {
            RecordIndex: 0,
            Reason: 'An identical record already exists with a higher version.',
            ExistingVersion: 2,
          },
        ],
      }),
    );
    let duplicates = 0;
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 't',
      onDuplicates: (count) => {
        duplicates += count;
      },
    });

    await expect(write(sink, await enrichedMessages(1))).resolves.toBeUndefined();
    expect(duplicates).toBe(1);
  });

  it('throws a TimestreamRejectedError naming the records when nobody takes the rejections', async () => {
    timestream.on(WriteRecordsCommand).rejects(
      new RejectedRecordsException({
        message: 'rejected',
        $metadata: {},
        RejectedRecords: [{ RecordIndex: 0, Reason: 'Measure value exceeds the limit.' }],
      }),
    );
    const sink = new TimestreamSink({ client: new TimestreamWriteClient({}), database: 'db', table: 't' });

    const error = await write(sink, await enrichedMessages(1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TimestreamRejectedError);
    expect((error as TimestreamRejectedError).rejected.map((r) => r.kind)).toEqual(['invalid']);
    expect((error as Error).message).toMatch(/env-00001 telemetry@\d+: invalid/);
  });

  it('retries a throttled request with growing, jittered backoff until it goes through', async () => {
    // Prepare
    timestream
      .on(WriteRecordsCommand)
      .rejectsOnce(
        new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} }),
      )
      .rejectsOnce(
        new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} }),
      )
      .resolves({});
    const sleeps: number[] = [];
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 't',
      baseDelayMs: 100,
      random: () => 0.99,
      sleep: async (ms) => void sleeps.push(ms),
    });

    // Act
    await write(sink, await enrichedMessages(3));

    // Assess
    expect(timestream.commandCalls(WriteRecordsCommand)).toHaveLength(3);
    expect(sleeps).toEqual([99, 198]);
  });

  it('gives up after maxAttempts throttled attempts and throws, so the event source retries the batch', async () => {
    timestream
      .on(WriteRecordsCommand)
      .rejects(
        new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} }),
      );
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 't',
      maxAttempts: 4,
      sleep: async () => {},
    });

    await expect(write(sink, await enrichedMessages(1))).rejects.toThrow(/Rate exceeded/);
    expect(timestream.commandCalls(WriteRecordsCommand)).toHaveLength(4);
  });

  it('does not retry an error a retry cannot fix', async () => {
    timestream
      .on(WriteRecordsCommand)
      .rejects(new ValidationException({ message: 'bad table', Message: 'bad table', $metadata: {} }));
    const sink = new TimestreamSink({
      client: new TimestreamWriteClient({}),
      database: 'db',
      table: 't',
      sleep: async () => {},
    });

    await expect(write(sink, await enrichedMessages(1))).rejects.toThrow(/bad table/);
    expect(timestream.commandCalls(WriteRecordsCommand)).toHaveLength(1);
  });
});

describe('classifyRejection', () => {
  it.each([
    [{ Reason: 'An identical record already exists.', ExistingVersion: 3 }, 'duplicate'],
    [
      { Reason: 'Record with the same dimensions and time has a different value.', ExistingVersion: 1 },
      'conflict',
    ],
    [
      { Reason: 'The record timestamp is outside the time range [x, y) of the memory store.' },
      'out-of-retention',
    ],
    [{ Reason: 'Dimension name exceeds the maximum length.' }, 'invalid'],
  ] as const)('classifies %j as %s', (rejected, kind) => {
    expect(classifyRejection(rejected)).toBe(kind);
  });

  describe('rewrite (a replay, issue 16)', () => {
    const REPLAYED_AT = '2026-12-01T09:30:00.123Z';
    /** The messages as a replay enriches them again: a replay id and a later enrichment time. */
    const replayed = (messages: readonly EnrichedMessage[]): EnrichedMessage[] =>
      messages.map((message) => ({
        ...message,
        enrichment_info: { ...message.enrichment_info, replay_id: 'rp-0123456789', enriched_at: REPLAYED_AT },
      }));
    const keysOf = (messages: readonly EnrichedMessage[]) =>
      messages.map((m) => ({ deviceId: m.device_id, kind: m.event_type, time: Date.parse(m.timestamp) }));
    const rewrite = (sink: TimestreamSink, messages: readonly EnrichedMessage[]) =>
      sink.rewrite(messages.flatMap(toTimeSeriesPoints), keysOf(messages), messages);
    const newSink = () =>
      new TimestreamSink({ client: new TimestreamWriteClient({}), database: 'db', table: 'telemetry' });

    it("upserts each message's records under the same key, with Version = the replay's enrichment time", async () => {
      timestream.on(WriteRecordsCommand).resolves({});
      const messages = await enrichedMessages(3);
      const sink = newSink();
      await write(sink, messages);
      const [written] = sentBatches();

      await rewrite(sink, replayed(messages));

      const [, upserted] = sentBatches();
      expect(upserted?.map((r) => r.Version)).toEqual([
        Date.parse(REPLAYED_AT),
        Date.parse(REPLAYED_AT),
        Date.parse(REPLAYED_AT),
      ]);
      expect(upserted?.map(({ Version: _, ...record }) => record)).toEqual(written);
      expect(written?.every((r) => r.Version === undefined)).toBe(true);
    });

    it('lists the readings the new definition no longer stores in dropped_measures, without their values', async () => {
      timestream.on(WriteRecordsCommand).resolves({});
      const [message] = replayed(await enrichedMessages(1));
      const base = message as EnrichedMessage;
      const judged: EnrichedMessage = {
        ...base,
        data_quality: {
          ...base.data_quality,
          readings: {
            ...base.data_quality.readings,
            humidity: { verdict: 'BAD', reasons: ['OUT_OF_RANGE'] },
          },
        },
      };

      await rewrite(newSink(), [judged]);

      const values = sentBatches()[0]?.[0]?.MeasureValues ?? [];
      expect(values.map((v) => v.Name)).not.toContain('humidity');
      expect(values).toContainEqual({ Name: 'dropped_measures', Value: 'humidity', Type: 'VARCHAR' });
    });

    it('writes the values but reports the message when its dropped readings do not fit the record', async () => {
      timestream.on(WriteRecordsCommand).resolves({});
      const [message] = replayed(await enrichedMessages(1));
      const base = message as EnrichedMessage;
      const many = Object.fromEntries(
        Array.from({ length: 400 }, (_, i) => [
          `gone_${String(i).padStart(3, '0')}`,
          { verdict: 'BAD' as const },
        ]),
      );
      const judged = {
        ...base,
        data_quality: { ...base.data_quality, readings: { ...base.data_quality.readings, ...many } },
      };
      const rejected: RejectedWrite[] = [];
      const sink = new TimestreamSink({
        client: new TimestreamWriteClient({}),
        database: 'db',
        table: 'telemetry',
        onRejected: (r) => rejected.push(...r),
      });

      await rewrite(sink, [judged]);

      expect(sentBatches()[0]).toHaveLength(1);
      expect(sentBatches()[0]?.[0]?.MeasureValues.map((v) => v.Name)).not.toContain('dropped_measures');
      expect(rejected.map((r) => [r.kind, r.message.device_id])).toEqual([['invalid', 'env-00001']]);
      expect(rejected[0]?.reason).toMatch(/do not fit the record/);
    });

    it('sends the same request for a redelivery of the same replayed message (an idempotent upsert)', async () => {
      timestream.on(WriteRecordsCommand).resolves({});
      const messages = replayed(await enrichedMessages(2));
      const sink = newSink();

      await rewrite(sink, messages);
      await rewrite(sink, messages);

      const [first, second] = sentBatches();
      expect(second).toEqual(first);
    });

    it('takes a record refused because a later replay is stored (a higher version) as done, not rejected', async () => {
      timestream.on(WriteRecordsCommand).rejects(
        new RejectedRecordsException({
          message: 'rejected',
          $metadata: {},
          RejectedRecords: [
            {
              RecordIndex: 0,
              Reason:
                'A record with the same dimensions, timestamp and measure name already exists with a higher version.',
              ExistingVersion: Date.parse(REPLAYED_AT) + 60_000,
            },
          ],
        }),
      );
      const rejected: RejectedWrite[] = [];
      const sink = new TimestreamSink({
        client: new TimestreamWriteClient({}),
        database: 'db',
        table: 'telemetry',
        onRejected: (r) => rejected.push(...r),
      });

      await rewrite(sink, replayed(await enrichedMessages(1)));

      expect(rejected).toEqual([]);
    });
  });
});
