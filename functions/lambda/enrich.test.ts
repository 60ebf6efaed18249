import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import type { Alert, DlqRecord, EnrichedMessage } from '../core/contract/messages.js';
import { compileRegistry } from '../core/registry.js';
import {
  InMemoryAlertStateStore,
  type MessageSampleInput,
  type MessageStage,
  type SeenUpdate,
  ValidationError,
} from '../ports/registry.js';
import { LAMBDA_ENV, MemoryProducer, mskEvent, mskRawEvent, silentObservability } from './test-support.js';

const NOW = Date.parse('2026-11-23T12:00:01.000Z');
const registry = compileRegistry(seedRegistry);
let createEnrichLambda: typeof import('./enrich.js').createEnrichLambda;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createEnrichLambda } = await import('./enrich.js'));
});
afterAll(() => {
  vi.unstubAllEnvs();
});

function setup(
  options: {
    failTopics?: string[];
    failAlerts?: boolean;
    refuseAlerts?: boolean;
    failSamples?: boolean;
  } = {},
) {
  const producer = new MemoryProducer(options.failTopics);
  const seen: SeenUpdate[] = [];
  const samples: [MessageStage, MessageSampleInput][] = [];
  const alerts: Alert[] = [];
  const stats: StatsBatch[] = [];
  const handler = createEnrichLambda({
    producer,
    registry: async () => registry,
    devices: { recordSeen: async (update) => void seen.push(update) },
    samples: {
      add: async (stage, sample) => {
        if (options.failSamples) throw new Error('throttled');
        samples.push([stage, sample]);
      },
    },
    alerts: {
      add: async (list) => {
        if (options.failAlerts) throw new Error('alerts table unavailable');
        if (options.refuseAlerts) throw new ValidationError('invalid alert', ['0.alert_id: too long']);
        alerts.push(...list);
      },
    },
    alertState: new InMemoryAlertStateStore(),
    stats: { flush: async (batch) => void stats.push(batch) },
    observability: silentObservability(),
    serviceVersion: '0.1.0-test',
    now: () => NOW,
  });
  return { handler, producer, seen, samples, alerts, stats };
}

describe('enrich Lambda on an MSK event', () => {
  it('enriches the good records and dead-letters the poison one with its reason and original bytes', async () => {
    // Prepare
    const { handler, producer } = setup();

    // Act
    const response = await handler(mskRawEvent());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const enriched = producer.values('iot.enriched').map((v) => JSON.parse(v) as EnrichedMessage);
    expect(enriched.map((m) => m.device_id).sort()).toEqual(['env-00001', 'env-00002']);
    const [letter] = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(letter).toMatchObject({
      stage: 'enrich',
      source: { kafka_topic: 'iot.raw', partition: 0, offset: '16' },
    });
    expect(Buffer.from(letter?.original_base64 ?? '', 'base64').toJSON().data).toEqual([
      0xff, 0x00, 0x7b, 0x22,
    ]);
  });

  it('stores the alerts raised and updates each device once per batch, with the readings no-data rules watch', async () => {
    const { handler, alerts, seen } = setup();

    await handler(mskRawEvent());

    expect(alerts.map((a) => [a.device_id, a.rule_id])).toEqual([['env-00002', 'temperature-high']]);
    // humidity: environmental_sensor's humidity-silent watches it (issue 15); temperature and pressure
    // no no-data rule watches.
    expect(seen.sort((a, b) => a.deviceId.localeCompare(b.deviceId))).toEqual([
      {
        deviceId: 'env-00001',
        deviceType: 'environmental_sensor',
        time: 1795435200250,
        count: 1,
        readingsSeen: { humidity: 1795435200250 },
      },
      {
        deviceId: 'env-00002',
        deviceType: 'environmental_sensor',
        time: 1795435200750,
        count: 1,
        readingsSeen: { humidity: 1795435200750 },
      },
    ]);
  });

  it('counts the batch in the pipeline stats: enriched by type and quality, dead letters by reason, alerts', async () => {
    const { handler, stats } = setup();

    await handler(mskRawEvent());

    const minutes = [...(stats[0]?.minutes.values() ?? [])];
    expect(minutes).toHaveLength(1);
    expect(minutes[0]).toMatchObject({ enriched: 2, dlq: 1, alerts: 1 });
    expect(Object.fromEntries(minutes[0]?.byDeviceType ?? [])).toEqual({ environmental_sensor: 2 });
    expect(minutes[0]?.quality.GOOD).toBe(2);
    expect(Object.fromEntries(minutes[0]?.dlqReasons ?? [])).toEqual({ INVALID_UTF8: 1 });
  });

  it('samples each stage for the inspector', async () => {
    const { handler, samples } = setup();

    await handler(mskRawEvent());

    const byStage = (stage: MessageStage) => samples.filter(([s]) => s === stage).map(([, sample]) => sample);
    expect(byStage('raw').map((s) => s.id)).toEqual(['raw.0.15', 'raw.0.16', 'raw.3.7']);
    expect(byStage('enriched')).toHaveLength(2);
    expect(byStage('dlq')[0]?.deviceId).toBe('meter-00001');
    expect(byStage('alerts')[0]?.deviceId).toBe('env-00002');
  });

  it('keeps every flagged message and every dead letter, past the per-batch sample (issue 14)', async () => {
    // Prepare: 12 GOOD, 20 BAD (humidity out of range) and 30 unparseable records in one batch.
    const { handler, samples } = setup();
    const reading = (i: number, humidity: number) =>
      JSON.stringify({
        device_id: 'env-00001',
        event_type: 'telemetry',
        timestamp: new Date(NOW - 60_000 + i * 100).toISOString(),
        measurements: { temperature: 21, humidity, pressure: 1010 },
      });
    const values = [
      ...Array.from({ length: 12 }, (_, i) => reading(i, 40)),
      ...Array.from({ length: 20 }, (_, i) => reading(100 + i, 150)),
      ...Array.from({ length: 30 }, (_, i) => `{"broken": ${i}`),
    ];

    // Act
    await handler(mskEvent('iot.raw', 0, values));

    // Assess
    const enriched = samples
      .filter(([stage]) => stage === 'enriched')
      .map(([, s]) => s.body as EnrichedMessage);
    const flagged = enriched.filter((m) => m.data_quality.verdict !== 'GOOD');
    expect(flagged).toHaveLength(20);
    expect(enriched.length - flagged.length).toBeLessThanOrEqual(5);
    expect(samples.filter(([stage]) => stage === 'dlq')).toHaveLength(30);
  });

  it('throws when producing fails, so the event source retries the batch, and writes no bookkeeping', async () => {
    const { handler, alerts, seen, stats } = setup({ failTopics: ['iot.enriched'] });

    await expect(handler(mskRawEvent())).rejects.toThrow(/broker unavailable/);
    expect([alerts.length, seen.length, stats.length]).toEqual([0, 0, 0]);
  });

  it('throws when the alerts cannot be stored (alerts are not a view that may be lost)', async () => {
    const { handler } = setup({ failAlerts: true });

    await expect(handler(mskRawEvent())).rejects.toThrow(/alerts table unavailable/);
  });

  it('does not retry the batch for alerts the store refuses as invalid (a retry could never succeed)', async () => {
    const { handler, stats } = setup({ refuseAlerts: true });

    await expect(handler(mskRawEvent())).resolves.toEqual({ batchItemFailures: [] });
    expect(stats).toHaveLength(1);
  });

  it('succeeds when only inspector samples fail', async () => {
    const { handler, stats } = setup({ failSamples: true });

    await expect(handler(mskRawEvent())).resolves.toEqual({ batchItemFailures: [] });
    expect(stats).toHaveLength(1);
  });
});
