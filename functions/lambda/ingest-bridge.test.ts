import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StatsBatch } from '../adapters/dynamodb/pipeline-stats.js';
import type { DlqRecord } from '../core/contract/messages.js';
import { LAMBDA_ENV, MemoryProducer, silentObservability, sqsIngestEvent } from './test-support.js';

const NOW = Date.parse('2026-11-23T12:00:01.000Z');
let createIngestBridgeLambda: typeof import('./ingest-bridge.js').createIngestBridgeLambda;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createIngestBridgeLambda } = await import('./ingest-bridge.js'));
});
afterAll(() => {
  vi.unstubAllEnvs();
});

class StatsSpy {
  readonly batches: StatsBatch[] = [];
  constructor(private readonly failing = false) {}
  async flush(batch: StatsBatch) {
    if (this.failing) throw new Error('table unavailable');
    this.batches.push(batch);
  }
}

describe('ingest-bridge Lambda', () => {
  it('produces the SQS batch to iot.raw and iot.dlq and reports no failures', async () => {
    // Prepare
    const producer = new MemoryProducer();
    const stats = new StatsSpy();
    const handler = createIngestBridgeLambda({
      producer,
      stats,
      observability: silentObservability(),
      now: () => NOW,
    });

    // Act
    const response = await handler(sqsIngestEvent());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(producer.sent.get('iot.raw')?.map((r) => r.key)).toEqual(['env-00001', 'meter-00001']);
    const [letter] = producer.values('iot.dlq').map((v) => JSON.parse(v) as DlqRecord);
    expect(letter?.reason).toBe('INVALID_ENVELOPE');
  });

  it('counts the batch in one stats update for its minute: raw, dead letters by reason, newest receive time', async () => {
    const stats = new StatsSpy();
    const handler = createIngestBridgeLambda({
      producer: new MemoryProducer(),
      stats,
      observability: silentObservability(),
      now: () => NOW,
    });

    await handler(sqsIngestEvent());

    expect(stats.batches).toHaveLength(1);
    const minutes = [...(stats.batches[0]?.minutes.values() ?? [])];
    expect(minutes).toHaveLength(1);
    expect(minutes[0]).toMatchObject({ raw: 2, dlq: 1, lastMessageAt: 1795435200400 });
    expect(Object.fromEntries(minutes[0]?.dlqReasons ?? [])).toEqual({ INVALID_ENVELOPE: 1 });
  });

  it('reports every record as failed when iot.raw refuses the batch, and counts only what was produced', async () => {
    // Prepare: the raw produce fails, the dead letter goes through
    const producer = new MemoryProducer(['iot.raw']);
    const stats = new StatsSpy();
    const event = sqsIngestEvent();
    const handler = createIngestBridgeLambda({
      producer,
      stats,
      observability: silentObservability(),
      now: () => NOW,
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.map((r) => r.messageId),
    );
    const minutes = [...(stats.batches[0]?.minutes.values() ?? [])];
    expect(minutes[0]).toMatchObject({ raw: 0, dlq: 1 });
  });

  it('still succeeds when the stats table cannot be updated (stats are a view)', async () => {
    const handler = createIngestBridgeLambda({
      producer: new MemoryProducer(),
      stats: new StatsSpy(true),
      observability: silentObservability(),
      now: () => NOW,
    });

    await expect(handler(sqsIngestEvent())).resolves.toEqual({ batchItemFailures: [] });
  });
});
