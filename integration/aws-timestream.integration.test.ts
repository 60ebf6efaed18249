/**
 * The Timestream sink (functions/adapters/timestream/writer.ts) against moto's Timestream Write API:
 * real requests through the SDK client with an endpoint (so no endpoint discovery, as the writer
 * Lambda does with TIMESTREAM_INGEST_ENDPOINT), and what moto stored read back from its model data.
 *
 * moto's WriteRecords stores what it is sent and answers RecordsIngested: it enforces neither the
 * 100-record limit nor record validation, and never answers RejectedRecordsException. The rejection
 * paths stay covered by the unit tests (aws-sdk-client-mock) alone.
 */
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  TimestreamWriteClient,
  type WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TimestreamSink } from '../functions/adapters/timestream/writer.js';
import type { EnrichedMessage } from '../functions/core/contract/messages.js';
import { compileRegistry } from '../functions/core/registry.js';
import { toTimeSeriesPoints, toTimestreamRecords } from '../functions/core/timeseries.js';
import { createEnrichHandler } from '../functions/handlers/enrich.js';
import type { StreamRecord } from '../functions/ports/stream.js';
import { seedRegistry } from '../registry-data/index.js';

const endpoint = inject('awsEndpoint');
const registry = compileRegistry(seedRegistry);
const START = Date.parse('2026-11-23T12:00:00.000Z');
const DATABASE = `iot-cloud-it-${process.pid}`;
const TABLE = 'telemetry';

let client: TimestreamWriteClient;

beforeAll(async () => {
  client = new TimestreamWriteClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await client.send(new CreateDatabaseCommand({ DatabaseName: DATABASE }));
  await client.send(
    new CreateTableCommand({
      DatabaseName: DATABASE,
      TableName: TABLE,
      RetentionProperties: { MemoryStoreRetentionPeriodInHours: 24, MagneticStoreRetentionPeriodInDays: 7 },
    }),
  );
});

afterAll(() => client?.destroy());

/** `count` enriched telemetry messages from the real enrich handler, for `devices` sensors. */
async function enrichedMessages(count: number, devices: number): Promise<EnrichedMessage[]> {
  const sent: StreamRecord[] = [];
  const enrich = createEnrichHandler({
    producer: { send: async (topic, records) => void (topic === 'iot.enriched' && sent.push(...records)) },
    registry: () => registry,
    service: 'integration',
    serviceVersion: 'integration',
    now: () => START + count * 1000,
  });
  const records = Array.from({ length: count }, (_, i) => {
    const deviceId = `env-${String((i % devices) + 1).padStart(5, '0')}`;
    return {
      topic: 'iot.raw',
      partition: 0,
      offset: i,
      timestamp: START + i * 1000,
      timestampType: 'CREATE_TIME' as const,
      key: Buffer.from(deviceId).toString('base64'),
      value: Buffer.from(
        JSON.stringify({
          device_id: deviceId,
          timestamp: new Date(START + i * 1000).toISOString(),
          event_type: 'telemetry',
          measurements: { temperature: 20 + (i % 10), humidity: 40, pressure: 1013.2 },
        }),
      ).toString('base64'),
      headers: [],
    };
  });
  await enrich({ eventSource: 'aws:kafka', records: { 'iot.raw-0': records } });
  return sent.map((record) => JSON.parse(Buffer.from(record.value).toString('utf8')) as EnrichedMessage);
}

interface StoredRecord {
  readonly Dimensions: { Name: string; Value: string }[];
  readonly MeasureName: string;
  readonly MeasureValueType: string;
  readonly Time: string;
}

/** The records moto holds for the table (its model data, moto's own inspection API). */
async function storedRecords(): Promise<StoredRecord[]> {
  const data = (await (await fetch(`${endpoint}/moto-api/data.json`)).json()) as {
    timestreamwrite?: { TimestreamTable?: { name: string; db_name: string; records: StoredRecord[] }[] };
  };
  const table = data.timestreamwrite?.TimestreamTable?.find(
    (t) => t.db_name === DATABASE && t.name === TABLE,
  );
  return table?.records ?? [];
}

describe('TimestreamSink on moto', () => {
  it('writes every record of 250 messages in WriteRecords calls of at most 100, without endpoint discovery', async () => {
    const messages = await enrichedMessages(250, 5);
    const dimensionsOf = (type: string) =>
      seedRegistry.deviceTypes.find((t) => t.typeId === type)?.dimensions ?? [];
    const expected = messages.flatMap((message) =>
      toTimestreamRecords(message, dimensionsOf(message.device_metadata.device_type)),
    );
    const requests: number[] = [];
    const sink = new TimestreamSink({
      client: {
        // The real client; counted to see the batching the service received.
        send: (command: WriteRecordsCommand) => {
          requests.push(command.input.Records?.length ?? 0);
          return client.send(command);
        },
      } as Pick<TimestreamWriteClient, 'send'>,
      database: DATABASE,
      table: TABLE,
      dimensionsOf,
    });

    await sink.write(messages.flatMap(toTimeSeriesPoints), messages);
    const stored = await storedRecords();

    expect(messages).toHaveLength(250);
    expect(requests.every((size) => size > 0 && size <= 100)).toBe(true);
    expect(requests.reduce((sum, size) => sum + size, 0)).toBe(expected.length);
    expect(requests).toHaveLength(Math.ceil(expected.length / 100));
    expect(stored).toHaveLength(expected.length);
    expect(stored.map((record) => [record.MeasureName, record.Time])).toEqual(
      expected.map((record) => [record.MeasureName, record.Time]),
    );
    expect(stored.every((record) => record.MeasureValueType === 'MULTI')).toBe(true);
    expect(
      new Set(stored.map((record) => record.Dimensions.find((d) => d.Name === 'device_id')?.Value)),
    ).toEqual(new Set(['env-00001', 'env-00002', 'env-00003', 'env-00004', 'env-00005']));
  });
});
