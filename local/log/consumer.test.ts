import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DlqRecord } from '../../functions/core/contract/messages.js';
import type {
  KafkaBatchResponse,
  KafkaEvent,
  KafkaEventRecord,
  KafkaHandler,
} from '../../functions/ports/stream.js';
import { CONSUMER_GROUPS, EVENT_SOURCE_ERROR_CONTROLS, TOPICS } from '../../functions/shared/stream.js';
import type { LogConsumer, LogConsumerOptions } from './consumer.js';
import { LocalLog } from './local-log.js';
import { decode, keyOnPartition, makeTempDir, record, removeDir, spin, waitFor } from './test-helpers.js';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
const GROUP = CONSUMER_GROUPS.enrich;
const MAX_RETRIES = EVENT_SOURCE_ERROR_CONTROLS.maximumRetryAttempts;

let dataDir: string;
const opened: LocalLog[] = [];

async function openLog(): Promise<LocalLog> {
  const log = new LocalLog({ dataDir, onWarning: () => {} });
  await log.open();
  opened.push(log);
  return log;
}

function consume(
  log: LocalLog,
  handler: KafkaHandler,
  options: Partial<LogConsumerOptions> = {},
): LogConsumer {
  return log.subscribe({
    topic: TOPICS.raw,
    group: GROUP,
    name: 'enrich',
    handler,
    batchWindowMs: 5,
    retryBackoffMs: 1,
    ...options,
  });
}

const allRecords = (event: KafkaEvent): KafkaEventRecord[] => Object.values(event.records).flat();
const offsetsOf = (event: KafkaEvent): number[] => allRecords(event).map((r) => r.offset);
const committedTotal = (consumer: LogConsumer): number =>
  Object.values(consumer.stats().committed).reduce((sum, offset) => sum + offset, 0);

async function deadLetters(log: LocalLog): Promise<{ key: string; record: DlqRecord }[]> {
  const letters: { key: string; record: DlqRecord }[] = [];
  for (let partition = 0; partition < log.partitionCount(TOPICS.dlq); partition++) {
    for (const entry of await log.read(TOPICS.dlq, partition, 0, 1000)) {
      letters.push({
        key: entry.key,
        record: DlqRecord.parse(JSON.parse(Buffer.from(entry.value).toString())),
      });
    }
  }
  return letters;
}

beforeEach(async () => {
  dataDir = await makeTempDir();
});

afterEach(async () => {
  try {
    for (const log of opened.splice(0)) await log.close();
  } finally {
    await removeDir(dataDir);
  }
});

describe('LogConsumer: the event', () => {
  it('delivers the exact Lambda MSK event shape', async () => {
    // Prepare
    const log = await openLog();
    const key = keyOnPartition((k) => log.partitionFor(TOPICS.raw, k), 3);
    const events: KafkaEvent[] = [];
    consume(log, async (event) => {
      events.push(event);
      return undefined;
    });

    // Act: one send, so both records become visible together
    await log.send(TOPICS.raw, [
      record(key, '{"a":1}', { headers: { 'content-type': 'application/json' }, timestamp: T0 }),
      record(key, Uint8Array.from([0xff, 0x00]), { timestamp: T0 + 1 }),
    ]);
    await waitFor(() => events.length === 1, 'one invocation');

    // Assess
    expect(events[0]).toStrictEqual({
      eventSource: 'aws:kafka',
      eventSourceArn: 'arn:aws:kafka:local:000000000000:cluster/iot-cloud-local/local',
      bootstrapServers: 'localhost:9092',
      records: {
        'iot.raw-3': [
          {
            topic: 'iot.raw',
            partition: 3,
            offset: 0,
            timestamp: T0,
            timestampType: 'CREATE_TIME',
            key: Buffer.from(key).toString('base64'),
            value: Buffer.from('{"a":1}').toString('base64'),
            headers: [{ 'content-type': [...Buffer.from('application/json')] }],
          },
          {
            topic: 'iot.raw',
            partition: 3,
            offset: 1,
            timestamp: T0 + 1,
            timestampType: 'CREATE_TIME',
            key: Buffer.from(key).toString('base64'),
            value: '/wA=',
            headers: [],
          },
        ],
      },
    });
  });

  it('batches records of several partitions into one event, up to batchSize', async () => {
    // Prepare
    const log = await openLog();
    const events: KafkaEvent[] = [];
    const keys = [0, 1, 2].map((p) => keyOnPartition((k) => log.partitionFor(TOPICS.raw, k), p));

    // Act: all records are durable before the consumer starts
    await log.send(
      TOPICS.raw,
      keys.flatMap((key) => Array.from({ length: 4 }, (_, i) => record(key, `${key}:${i}`))),
    );
    const consumer = consume(
      log,
      async (event) => {
        events.push(event);
        return undefined;
      },
      { batchSize: 10 },
    );
    await waitFor(() => committedTotal(consumer) === 12, 'all 12 records committed');

    // Assess
    expect(allRecords(events[0] as KafkaEvent)).toHaveLength(10);
    expect(Object.keys(events[0]?.records ?? {}).length).toBeGreaterThan(1);
    expect(events.flatMap(allRecords)).toHaveLength(12);
  });
});

describe('LogConsumer: errors', () => {
  it('delivers again exactly the record reported as failed and the later ones of its partition', async () => {
    // Prepare
    const log = await openLog();
    const key = 'dev-partial';
    const partition = log.partitionFor(TOPICS.raw, key);
    const deliveries: number[][] = [];
    const consumer = consume(log, async (event): Promise<KafkaBatchResponse> => {
      deliveries.push(offsetsOf(event));
      return deliveries.length === 1
        ? { batchItemFailures: [{ itemIdentifier: { partition: `${TOPICS.raw}-${partition}`, offset: 4 } }] }
        : { batchItemFailures: [] };
    });

    // Act
    await log.send(
      TOPICS.raw,
      Array.from({ length: 10 }, (_, i) => record(key, `m${i}`)),
    );
    await waitFor(() => consumer.stats().committed[String(partition)] === 10, 'all records committed');

    // Assess
    expect(deliveries).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [4, 5, 6, 7, 8, 9],
    ]);
    expect(consumer.stats()).toMatchObject({ delivered: 16, failed: 1, retried: 6, deadLettered: 0, lag: 0 });
    expect(log.committedOffsets(GROUP, TOPICS.raw)[partition]).toBe(10);
  });

  it('bisects a batch that throws, processes the good records and dead-letters the poison one', async () => {
    // Prepare
    const log = await openLog();
    const key = 'breaker-00042';
    const partition = log.partitionFor(TOPICS.raw, key);
    const poison = Uint8Array.from([0xff, 0xfe, 0x7b, 0x00]);
    const processed: string[] = [];
    const deliveries: number[][] = [];
    const consumer = consume(log, async (event) => {
      const records = allRecords(event);
      deliveries.push(records.map((r) => r.offset));
      if (records.some((r) => Buffer.from(r.value, 'base64')[0] === 0xff))
        throw new Error('cannot parse the payload');
      for (const r of records) processed.push(decode(r.value));
      return undefined;
    });
    const values = ['g0', 'g1', 'g2', 'g3', 'g4', poison, 'g6', 'g7'];

    // Act
    await log.send(
      TOPICS.raw,
      values.map((value) => record(key, value, { timestamp: T0 })),
    );
    await waitFor(
      () => consumer.stats().committed[String(partition)] === 8,
      'the partition to move past the poison',
    );
    await log.send(TOPICS.raw, [record(key, 'later-1'), record(key, 'later-2')]);
    await waitFor(() => consumer.stats().committed[String(partition)] === 10, 'later records to flow');

    // Assess: bisected down to the poison record, which was tried alone 1 + maximumRetryAttempts times
    expect(deliveries.slice(0, 4)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [4, 5],
    ]);
    expect(deliveries.filter((d) => d.length === 1 && d[0] === 5)).toHaveLength(1 + MAX_RETRIES);
    expect(processed.sort()).toEqual(['g0', 'g1', 'g2', 'g3', 'g4', 'g6', 'g7', 'later-1', 'later-2']);
    expect(consumer.stats()).toMatchObject({ deadLettered: 1, lag: 0 });
    const letters = await deadLetters(log);
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter?.key).toBe(key);
    expect(letter?.record).toMatchObject({
      contract_version: '1',
      reason: 'PROCESSING_FAILED',
      detail: 'cannot parse the payload',
      stage: 'enrich',
      device_id: key,
      received_at: new Date(T0).toISOString(),
      source: { kafka_topic: 'iot.raw', partition, offset: '5' },
      original_size_bytes: 4,
    });
    expect(new Uint8Array(Buffer.from(letter?.record.original_base64 ?? '', 'base64'))).toEqual(poison);
  });

  it('dead-letters a record still reported as failed after maximumRetryAttempts retries', async () => {
    // Prepare
    const log = await openLog();
    const key = 'meter-9';
    const partition = log.partitionFor(TOPICS.raw, key);
    const deliveries: number[][] = [];
    const consumer = consume(log, async (event) => {
      const offsets = offsetsOf(event);
      deliveries.push(offsets);
      return {
        batchItemFailures: offsets.includes(2)
          ? [{ itemIdentifier: { partition: `${TOPICS.raw}-${partition}`, offset: 2 } }]
          : [],
      };
    });

    // Act
    await log.send(
      TOPICS.raw,
      Array.from({ length: 5 }, (_, i) => record(key, `r${i}`)),
    );
    await waitFor(() => consumer.stats().committed[String(partition)] === 5, 'all records committed');

    // Assess
    expect(deliveries).toEqual([[0, 1, 2, 3, 4], ...new Array(MAX_RETRIES).fill([2, 3, 4]), [3, 4]]);
    const letters = await deadLetters(log);
    expect(
      letters.map((l) => [l.record.detail, l.record.source?.offset, decode(l.record.original_base64)]),
    ).toEqual([['reported as failed by the consumer', '2', 'r2']]);
  });

  it('treats a response naming a record outside the batch as a function error', async () => {
    // Prepare
    const log = await openLog();
    const key = 'odd-response';
    const errors: string[] = [];
    let calls = 0;
    const consumer = consume(
      log,
      async () => {
        calls += 1;
        return calls === 1
          ? { batchItemFailures: [{ itemIdentifier: { partition: `${TOPICS.raw}-99`, offset: 0 } }] }
          : undefined;
      },
      { onError: (error, context) => errors.push(`${context.stage}: ${String(error)}`) },
    );

    // Act
    await log.send(TOPICS.raw, [record(key, 'one')]);
    await waitFor(() => consumer.stats().lag === 0 && calls === 2, 'the retry to succeed');

    // Assess
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^response: .*not in the batch/);
    expect(consumer.stats().deadLettered).toBe(0);
  });
});

describe('LogConsumer: offsets, stop and restart', () => {
  it('stop() waits for the batch in flight, commits it, then resolves', async () => {
    // Prepare
    const log = await openLog();
    const key = 'drain-me';
    const partition = log.partitionFor(TOPICS.raw, key);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = 0;
    const consumer = consume(log, async () => {
      entered += 1;
      await gate;
      return undefined;
    });
    await log.send(
      TOPICS.raw,
      Array.from({ length: 3 }, (_, i) => record(key, `d${i}`)),
    );
    await waitFor(() => entered === 1, 'the handler to be invoked');

    // Act
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await spin();

    // Assess: still draining while the handler runs, committed once it returned
    expect(stopped).toBe(false);
    expect(consumer.stats()).toMatchObject({ state: 'stopping', inFlightBatches: 1 });
    release();
    await stopping;
    expect(consumer.stats()).toMatchObject({ state: 'stopped', inFlightBatches: 0, lag: 0 });
    expect(log.committedOffsets(GROUP, TOPICS.raw)[partition]).toBe(3);
    await log.close();
    const reopened = await openLog();
    expect(reopened.committedOffsets(GROUP, TOPICS.raw)[partition]).toBe(3);
  });

  it('after a restart, does not deliver committed records again', async () => {
    // Prepare
    const first = await openLog();
    const key = 'restart-1';
    const partition = first.partitionFor(TOPICS.raw, key);
    const before: string[] = [];
    const consumer = consume(first, async (event) => {
      for (const r of allRecords(event)) before.push(decode(r.value));
      return undefined;
    });
    await first.send(
      TOPICS.raw,
      Array.from({ length: 5 }, (_, i) => record(key, `a${i}`)),
    );
    await waitFor(() => consumer.stats().committed[String(partition)] === 5, 'five records committed');
    await consumer.stop();
    await first.send(
      TOPICS.raw,
      Array.from({ length: 3 }, (_, i) => record(key, `b${i}`)),
    );
    await first.close();

    // Act
    const second = await openLog();
    const after: string[] = [];
    const restarted = consume(second, async (event) => {
      for (const r of allRecords(event)) after.push(decode(r.value));
      return undefined;
    });
    await waitFor(() => restarted.stats().committed[String(partition)] === 8, 'the new records committed');

    // Assess
    expect(before).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(after).toEqual(['b0', 'b1', 'b2']);
  });

  it('after a restart, delivers uncommitted records again (at-least-once)', async () => {
    // Prepare: the first consumer fails offset 2 and waits a minute before retrying
    const first = await openLog();
    const key = 'restart-2';
    const partition = first.partitionFor(TOPICS.raw, key);
    const consumer = consume(
      first,
      async (event) => ({
        batchItemFailures: offsetsOf(event).includes(2)
          ? [{ itemIdentifier: { partition: `${TOPICS.raw}-${partition}`, offset: 2 } }]
          : [],
      }),
      { retryBackoffMs: 60_000 },
    );
    await first.send(
      TOPICS.raw,
      Array.from({ length: 4 }, (_, i) => record(key, `c${i}`)),
    );
    await waitFor(
      () => consumer.stats().failed === 1 && consumer.stats().inFlightBatches === 0,
      'the failure',
    );
    await first.close();

    // Act
    const second = await openLog();
    const redelivered: number[] = [];
    const restarted = consume(second, async (event) => {
      redelivered.push(...offsetsOf(event));
      return undefined;
    });
    await waitFor(() => restarted.stats().committed[String(partition)] === 4, 'everything committed');

    // Assess
    expect(consumer.stats().committed[String(partition)]).toBe(2);
    expect(redelivered).toEqual([2, 3]);
  });

  it('allows one running consumer per group and topic', async () => {
    const log = await openLog();
    const consumer = consume(log, async () => undefined);

    expect(() => consume(log, async () => undefined)).toThrow(/already has a running consumer/);
    await consumer.stop();
    const again = consume(log, async () => undefined);
    expect(again.stats().state).toBe('running');
  });
});

describe('LogConsumer: volume', () => {
  it('delivers 20,000 records across partitions exactly once, in order per partition', async () => {
    // Prepare
    const log = await openLog();
    const total = 20_000;
    const seen = new Map<string, number>();
    const nextOffset = new Map<number, number>();
    const lastIndexOfKey = new Map<string, number>();
    const active = new Set<number>();
    const violations: string[] = [];
    let largestBatch = 0;
    const consumer = consume(log, async (event) => {
      const records = allRecords(event);
      largestBatch = Math.max(largestBatch, records.length);
      const partitions = [...new Set(records.map((r) => r.partition))];
      for (const p of partitions) {
        if (active.has(p)) violations.push(`two batches in flight on partition ${p}`);
        active.add(p);
      }
      for (const r of records) {
        if (r.offset !== (nextOffset.get(r.partition) ?? 0))
          violations.push(`gap at ${r.partition}@${r.offset}`);
        nextOffset.set(r.partition, r.offset + 1);
        const [key, index] = decode(r.value).split('/');
        const i = Number(index);
        if (key === undefined || i <= (lastIndexOfKey.get(key) ?? -1)) violations.push(`order of ${key}`);
        lastIndexOfKey.set(key ?? '', i);
        seen.set(decode(r.value), (seen.get(decode(r.value)) ?? 0) + 1);
      }
      await new Promise((resolve) => setImmediate(resolve));
      for (const p of partitions) active.delete(p);
      return { batchItemFailures: [] };
    });

    // Act: the consumer runs while the records are sent
    for (let chunk = 0; chunk < total / 1000; chunk++) {
      await log.send(
        TOPICS.raw,
        Array.from({ length: 1000 }, (_, j) => {
          const i = chunk * 1000 + j;
          const key = `dev-${i % 500}`;
          return record(key, `${key}/${i}`);
        }),
      );
    }
    await waitFor(() => committedTotal(consumer) === total, 'all records committed', 15_000);
    await consumer.stop();

    // Assess
    expect(violations).toEqual([]);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(largestBatch).toBeLessThanOrEqual(100);
    expect(consumer.stats()).toMatchObject({
      delivered: total,
      failed: 0,
      retried: 0,
      deadLettered: 0,
      lag: 0,
    });
    expect(log.committedOffsets(GROUP, TOPICS.raw)).toEqual(log.endOffsets(TOPICS.raw));
    expect(new Set(log.endOffsets(TOPICS.raw).map((end) => end > 0)).size).toBe(1);
  });
});
