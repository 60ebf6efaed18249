import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { DlqRecord, EnrichedMessage } from '../core/contract/messages.js';
import { compileRegistry } from '../core/registry.js';
import type { TimeSeriesPoint } from '../core/timeseries.js';
import type { KafkaEvent, KafkaEventRecord, StreamProducer, StreamRecord } from '../ports/stream.js';
import { createEnrichHandler } from './enrich.js';
import { createIngestBridgeHandler } from './ingest-bridge.js';
import { createTimeseriesWriterHandler } from './timeseries-writer.js';

const sqsEvent = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'sqs-ingest-event.json'), 'utf8'),
) as SQSEvent;
const registry = compileRegistry(seedRegistry);
const NOW = Date.parse('2026-11-23T12:00:01.000Z');

class MemoryProducer implements StreamProducer {
  readonly sent = new Map<string, StreamRecord[]>();
  constructor(private readonly failing = false) {}
  async send(topic: string, records: readonly StreamRecord[]) {
    if (this.failing) throw new Error('broker unavailable');
    this.sent.set(topic, [...(this.sent.get(topic) ?? []), ...records]);
  }
  values(topic: string): string[] {
    return (this.sent.get(topic) ?? []).map((r) => Buffer.from(r.value).toString('utf8'));
  }
}

/** A Lambda MSK event from records of one topic-partition. */
function kafkaEvent(
  topic: string,
  records: { key: string; value: Buffer | string; headers?: Record<string, string> }[],
  firstOffset = 0,
): KafkaEvent {
  const eventRecords: KafkaEventRecord[] = records.map((r, i) => ({
    topic,
    partition: 0,
    offset: firstOffset + i,
    timestamp: NOW - 1000,
    timestampType: 'CREATE_TIME',
    key: Buffer.from(r.key).toString('base64'),
    value: Buffer.from(r.value).toString('base64'),
    headers: Object.entries(r.headers ?? {}).map(([name, text]) => ({ [name]: [...Buffer.from(text)] })),
  }));
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/iot-cloud/abc',
    bootstrapServers: 'b-1.iot-cloud.abc.kafka.eu-west-1.amazonaws.com:9098',
    records: { [`${topic}-0`]: eventRecords },
  };
}

describe('ingest bridge', () => {
  it('produces each envelope to iot.raw keyed by device id, with the original bytes and receive headers', async () => {
    const producer = new MemoryProducer();

    const response = await createIngestBridgeHandler({ producer, now: () => NOW })(sqsEvent);

    const raw = producer.sent.get('iot.raw') ?? [];
    expect(response.batchItemFailures).toEqual([]);
    expect(raw.map((r) => r.key)).toEqual(['env-00001', 'meter-00001']);
    expect(Buffer.from(raw[1]?.value ?? []).toJSON().data).toEqual([0xff, 0x00, 0x7b, 0x22]);
    expect(raw[0]?.headers).toEqual({
      mqtt_topic: 'dt/environmental_sensor/env-00001/telemetry',
      received_at: '1795435200250',
    });
  });

  it('dead-letters a queue message that is not an ingest envelope, keeping its body', async () => {
    const producer = new MemoryProducer();

    await createIngestBridgeHandler({ producer, now: () => NOW })(sqsEvent);

    const [dlq] = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(dlq).toMatchObject({ reason: 'INVALID_ENVELOPE', stage: 'ingest-bridge' });
    expect(Buffer.from(dlq?.original_base64 ?? '', 'base64').toString()).toBe('not an envelope');
  });

  it('dead-letters an envelope whose topic has a malformed id or a kind that is not an event type', async () => {
    const producer = new MemoryProducer();
    const envelope = (topic: string) => ({
      messageId: topic,
      body: JSON.stringify({ payload: 'e30=', topic, received_at: NOW }),
      attributes: { SentTimestamp: String(NOW) },
    });
    const event = {
      Records: [envelope('dt/smart_meter/bad id!/telemetry'), envelope('dt/smart_meter/m-1/gossip')],
    };

    await createIngestBridgeHandler({ producer, now: () => NOW })(event as unknown as typeof sqsEvent);

    const letters = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(letters.map((l) => [l.reason, l.source?.mqtt_topic])).toEqual([
      ['INVALID_TOPIC', 'dt/smart_meter/bad id!/telemetry'],
      ['INVALID_TOPIC', 'dt/smart_meter/m-1/gossip'],
    ]);
    expect(producer.sent.get('iot.raw')).toBeUndefined();
  });

  // Ingest mappings (issue 14): the mapped-topic rules set device_id from the topic and no device_type.
  it('forwards a mapped-topic envelope keyed by its device id, and dead-letters one whose id is malformed', async () => {
    const producer = new MemoryProducer();
    const envelope = (topic: string, deviceId: string) => ({
      messageId: topic,
      body: JSON.stringify({ payload: 'e30=', topic, device_id: deviceId, received_at: NOW }),
      attributes: { SentTimestamp: String(NOW) },
    });
    const event = { Records: [envelope('iot/brk-1/raw', 'brk-1'), envelope('iot/bad id!/raw', 'bad id!')] };

    await createIngestBridgeHandler({ producer, now: () => NOW })(event as unknown as typeof sqsEvent);

    expect((producer.sent.get('iot.raw') ?? []).map((r) => [r.key, r.headers?.mqtt_topic])).toEqual([
      ['brk-1', 'iot/brk-1/raw'],
    ]);
    const letters = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(letters.map((l) => [l.reason, l.source?.mqtt_topic])).toEqual([
      ['INVALID_TOPIC', 'iot/bad id!/raw'],
    ]);
  });

  it('reports every record as failed when producing fails, so SQS redelivers them', async () => {
    const response = await createIngestBridgeHandler({ producer: new MemoryProducer(true) })(sqsEvent);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      sqsEvent.Records.map((r) => r.messageId),
    );
  });
});

/** The enrich handler over the seed registry at NOW; `extra` adds or replaces dependencies. */
const enrichHandler = (
  producer: MemoryProducer,
  extra: Partial<Parameters<typeof createEnrichHandler>[0]> = {},
) =>
  createEnrichHandler({
    producer,
    registry: () => registry,
    service: 'enrich',
    serviceVersion: 'test',
    now: () => NOW,
    ...extra,
  });
describe('enrich handler', () => {
  const telemetry = JSON.stringify({
    device_id: 'env-00001',
    timestamp: '2026-11-23T12:00:00.000Z',
    event_type: 'telemetry',
    measurements: { temperature: 45.5, humidity: 40, pressure: 1013.2 },
  });
  const headers = (topic: string) => ({ mqtt_topic: topic, received_at: String(NOW - 500) });

  const run = (records: Parameters<typeof kafkaEvent>[1], producer = new MemoryProducer()) =>
    enrichHandler(producer)(kafkaEvent('iot.raw', records)).then((response) => ({ response, producer }));

  it('enriches a good message, using the MQTT topic and receive time from the headers, and raises its alerts', async () => {
    const { response, producer } = await run([
      { key: 'env-00001', value: telemetry, headers: headers('dt/environmental_sensor/env-00001/telemetry') },
    ]);

    const [enriched] = producer.values('iot.enriched').map((v) => JSON.parse(v) as EnrichedMessage);
    expect(response.batchItemFailures).toEqual([]);
    expect(enriched?.enrichment_info).toMatchObject({
      detection: { method: 'topic' },
      received_at: new Date(NOW - 500).toISOString(),
    });
    expect(producer.values('iot.alerts').map((v) => JSON.parse(v).rule_id)).toEqual(['temperature-high']);
  });

  it('dead-letters a rejected message with its reason, source and original bytes, and carries on', async () => {
    const garbage = Buffer.from([0xff, 0x00, 0x7b]);
    const { response, producer } = await run([
      { key: 'meter-00001', value: garbage, headers: headers('dt/smart_meter/meter-00001/telemetry') },
      { key: 'env-00001', value: telemetry, headers: headers('dt/environmental_sensor/env-00001/telemetry') },
    ]);

    const [dlq] = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(response.batchItemFailures).toEqual([]);
    expect(dlq).toMatchObject({
      reason: 'INVALID_UTF8',
      stage: 'enrich',
      source: {
        mqtt_topic: 'dt/smart_meter/meter-00001/telemetry',
        kafka_topic: 'iot.raw',
        partition: 0,
        offset: '0',
      },
    });
    expect(Buffer.from(dlq?.original_base64 ?? '', 'base64')).toEqual(garbage);
    expect(producer.values('iot.enriched')).toHaveLength(1);
  });

  it('reports only the record whose processing threw, so it alone is retried', async () => {
    const producer = new MemoryProducer();
    const handler = enrichHandler(producer, {
      lookupDevice: (id) => {
        if (id === 'env-00002') throw new Error('device cache corrupted');
        return undefined;
      },
    });

    const response = await handler(
      kafkaEvent('iot.raw', [
        { key: 'env-00001', value: telemetry },
        { key: 'env-00002', value: telemetry.replace('env-00001', 'env-00002') },
      ]),
    );

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: { partition: 'iot.raw-0', offset: 1 } }]);
    expect(producer.values('iot.enriched')).toHaveLength(1);
  });

  it('raises one alert for a run of matching messages, clears it as an event, and raises again', async () => {
    const producer = new MemoryProducer();
    const suppressed: number[] = [];
    const handler = enrichHandler(producer, { onSuppressedAlerts: (count) => suppressed.push(count) });
    const reading = (i: number, temperature: number) => ({
      key: 'env-00001',
      value: telemetry
        .replace('"temperature":45.5', `"temperature":${temperature}`)
        .replace('"device_id"', `"message_id":"m${i}","device_id"`),
    });
    const alertIds = () => producer.values('iot.alerts').map((v) => JSON.parse(v).alert_id);

    await handler(
      kafkaEvent(
        'iot.raw',
        Array.from({ length: 20 }, (_, i) => reading(i, 45 + i / 10)),
      ),
    );
    const afterRun = alertIds();
    await handler(kafkaEvent('iot.raw', [reading(20, 20), reading(21, 50)], 20));

    expect(afterRun).toEqual(['m0:temperature-high']);
    expect(suppressed).toEqual([19, 0]);
    expect(alertIds()).toEqual([
      'm0:temperature-high',
      'm0:temperature-high:cleared',
      'm21:temperature-high',
    ]);
  });

  it('lets no re-sent or late reading undo a newer one: no clear of a newer breach, no second raise', async () => {
    const producer = new MemoryProducer();
    const handler = enrichHandler(producer);
    const t0 = Date.parse('2026-11-23T12:00:00.000Z');
    // Reading time t0 + `second`; the bridge's receive time a second later unless told.
    const reading = (id: string, second: number, temperature: number, receivedSecond = second + 1) => ({
      key: 'env-00001',
      value: telemetry
        .replace('"temperature":45.5', `"temperature":${temperature}`)
        .replace('2026-11-23T12:00:00.000Z', new Date(t0 + second * 1000).toISOString())
        .replace('"device_id"', `"message_id":"${id}","device_id"`),
      headers: {
        mqtt_topic: 'dt/environmental_sensor/env-00001/telemetry',
        received_at: String(t0 + receivedSecond * 1000),
      },
    });
    const alertIds = () => producer.values('iot.alerts').map((v) => JSON.parse(v).alert_id);

    await handler(kafkaEvent('iot.raw', [reading('a', 10, 50)]));
    // Older and normal, sent late: it must not clear the breach read at t+10.
    await handler(kafkaEvent('iot.raw', [reading('b', 0, 20, 12)], 1));
    expect(alertIds()).toEqual(['a:temperature-high']);

    await handler(kafkaEvent('iot.raw', [reading('c', 20, 20)], 2));
    // The device re-sends its t+10 breach (a lost PUBACK): a new record, an old reading.
    await handler(kafkaEvent('iot.raw', [reading('a', 10, 50, 25)], 3));
    expect(alertIds()).toEqual(['a:temperature-high', 'a:temperature-high:cleared']);
  });

  it('throws when producing fails, so the whole batch is retried', async () => {
    await expect(run([{ key: 'env-00001', value: telemetry }], new MemoryProducer(true))).rejects.toThrow(
      /broker unavailable/,
    );
  });
});

describe('time-series writer', () => {
  it('writes the points of every enriched message and reports a record that is not one', async () => {
    const producer = new MemoryProducer();
    await enrichHandler(producer)(
      kafkaEvent('iot.raw', [
        {
          key: 'env-00001',
          value: JSON.stringify({
            device_id: 'env-00001',
            device_type: 'environmental_sensor',
            timestamp: '2026-11-23T12:00:00.000Z',
            event_type: 'telemetry',
            measurements: { temperature: 21.5, humidity: 40, pressure: 1013.2 },
          }),
        },
      ]),
    );
    const written: TimeSeriesPoint[] = [];
    const messagesWritten: string[] = [];
    const events: string[] = [];
    const handler = createTimeseriesWriterHandler({
      sink: {
        write: async (points, messages) => {
          written.push(...points);
          messagesWritten.push(...messages.map((m) => m.device_id));
          events.push('write');
        },
      },
      note: (message, points) => `${message.device_id}: ${points} points`,
      onWritten: (notes) => events.push(...notes),
    });

    const response = await handler(
      kafkaEvent('iot.enriched', [
        { key: 'env-00001', value: producer.values('iot.enriched')[0] ?? '' },
        { key: 'x', value: 'not json' },
      ]),
    );

    expect(written.map((p) => [p.measure, p.value])).toEqual([
      ['temperature', 21.5],
      ['humidity', 40],
      ['pressure', 1013.2],
    ]);
    expect(messagesWritten).toEqual(['env-00001']);
    // The notes, taken as each message was parsed, arrive once the points are written.
    expect(events).toEqual(['write', 'env-00001: 3 points']);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'iot.enriched-0', offset: 1 } },
    ]);
  });

  it("hands a replayed message's points, key and message to the sink's rewrite, not to write", async () => {
    const message = {
      device_id: 'd',
      event_type: 'status',
      timestamp: '2026-11-23T12:00:00.000Z',
      status: { online: true },
      device_metadata: { device_type: 'environmental_sensor' },
      measurement_metadata: {},
      enrichment_info: { replay_id: 'rp-0123456789' },
      data_quality: { verdict: 'GOOD', score: 1, completeness: 1, reasons: [], missing: [], readings: {} },
    };
    const write = vi.fn(async () => undefined);
    const rewrite = vi.fn(async () => undefined);
    const handler = createTimeseriesWriterHandler({ sink: { write, rewrite } });

    await handler(kafkaEvent('iot.enriched', [{ key: 'd', value: JSON.stringify(message) }]));

    expect(write).not.toHaveBeenCalled();
    expect(rewrite).toHaveBeenCalledWith(
      [expect.objectContaining({ deviceId: 'd', measure: 'status.online', value: true })],
      [{ deviceId: 'd', kind: 'status', time: Date.parse('2026-11-23T12:00:00.000Z') }],
      [message],
    );
  });

  it('throws when the sink fails, so the batch is retried (writes are idempotent)', async () => {
    const onWritten = vi.fn();
    const handler = createTimeseriesWriterHandler({
      sink: {
        write: async () => {
          throw new Error('store unavailable');
        },
      },
      note: (message) => message.device_id,
      onWritten,
    });
    const message = JSON.stringify({
      device_id: 'd',
      event_type: 'status',
      timestamp: '2026-11-23T12:00:00.000Z',
      status: { online: true },
      device_metadata: { device_type: 'environmental_sensor' },
      measurement_metadata: {},
      data_quality: { verdict: 'GOOD', score: 1, completeness: 1, reasons: [], missing: [], readings: {} },
    });

    await expect(handler(kafkaEvent('iot.enriched', [{ key: 'd', value: message }]))).rejects.toThrow(
      /store unavailable/,
    );
    expect(onWritten).not.toHaveBeenCalled();
  });
});
