/**
 * The time-series port's contract: the same cases against DuckDB (the local store) and the DynamoDB
 * sink over dynalite, each case expecting the same answers from both. Messages go through the core
 * (`processMessage`, `toTimeSeriesPoints`) as in the pipeline, so BAD readings are what the core makes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoTimeseriesQuery,
  DynamoTimeseriesRollups,
  DynamoTimeseriesSink,
  timeseriesDocumentClient,
} from '../../functions/adapters/dynamodb/timeseries/index.js';
import type { EnrichedMessage } from '../../functions/core/contract/messages.js';
import { processMessage } from '../../functions/core/process-message.js';
import { compileRegistry } from '../../functions/core/registry.js';
import {
  BREAKER_ID,
  breakerTelemetry,
  breakerTrends,
  eventMessage,
  PROCESSED_AT,
  RECEIVED_AT,
  statusMessage,
  type TestMessage,
  TIMESTAMP,
} from '../../functions/core/test-support/messages.js';
import { toTimeSeriesPoints } from '../../functions/core/timeseries.js';
import {
  type RawPoint,
  seriesPages,
  type TimeseriesQuery,
  type TimeseriesSink,
} from '../../functions/ports/timeseries.js';
import { seedRegistry } from '../../registry-data/index.js';
import {
  ensureTimeseriesTables,
  type LocalDynamo,
  localTimeseriesTableNames,
  startDynalite,
} from '../dynamodb/index.js';
import { DuckDbTimeseriesStore } from './duckdb-store.js';

const registry = compileRegistry(seedRegistry);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Three whole hours before "now" are closed; the fourth is the current one. */
const H0 = Date.parse('2026-11-23T08:00:00.000Z');
const NOW = H0 + 3 * HOUR + 30 * MINUTE;

/** An enriched environmental-sensor message at `time`, through the core as the pipeline makes it. */
function environmental(
  deviceId: string,
  time: number,
  measurements: Record<string, number> = { temperature: 20, humidity: 40, pressure: 1000 },
): EnrichedMessage {
  const outcome = processMessage(
    JSON.stringify({
      device_id: deviceId,
      device_type: 'environmental_sensor',
      timestamp: new Date(time).toISOString(),
      event_type: 'telemetry',
      measurements,
    }),
    // Received a second later, so the core does not doubt the time (late data is judged elsewhere).
    { receivedAt: time + 1000, processedAt: time + 1000 },
    { registry, service: 'test', serviceVersion: '0' },
  );
  if (outcome.kind !== 'enriched') throw new Error(`not enriched: ${outcome.rejection.reason}`);
  return outcome.message;
}

interface Subject {
  readonly sink: TimeseriesSink;
  /** With the local runtime's per-device message counts (derived from the points). */
  readonly query: TimeseriesQuery & {
    messageCounts(deviceIds: readonly string[]): Promise<Map<string, number>>;
  };
  /** The DynamoDB sink's hourly job; DuckDB has none (it aggregates on read). */
  rollup(deviceId: string): Promise<void>;
  close(): Promise<void>;
}

let dynalite: LocalDynamo;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite.close();
});

const SUBJECTS: Record<string, () => Promise<Subject>> = {
  duckdb: async () => {
    const store = await DuckDbTimeseriesStore.open({ path: ':memory:' });
    return { sink: store, query: store, rollup: async () => {}, close: () => store.close() };
  },
  dynamodb: async () => {
    const names = localTimeseriesTableNames(`c-${randomUUID().slice(0, 8)}`);
    await ensureTimeseriesTables(dynalite.client, names);
    const client = timeseriesDocumentClient(dynalite.client);
    const tables = {
      points: names.timeseriesPoints,
      latest: names.timeseriesLatest,
      rollups: names.timeseriesRollups,
    };
    const now = () => NOW;
    const rollups = new DynamoTimeseriesRollups({ client, tables, now });
    return {
      sink: new DynamoTimeseriesSink({ client, tables, now }),
      query: new DynamoTimeseriesQuery({ client, tables, now }),
      rollup: async (deviceId) => {
        const summary = await rollups.rollupClosedHours([deviceId], { hours: 3 });
        expect(summary.failed).toEqual([]);
      },
      close: async () => {},
    };
  },
};

const write = (subject: Subject, messages: readonly EnrichedMessage[]) =>
  subject.sink.write(messages.flatMap(toTimeSeriesPoints), messages);

/** One message every `everyMs` from `start` to before `end`, temperature counting up from 0. */
const ramp = (deviceId: string, start: number, end: number, everyMs: number) => {
  const messages: EnrichedMessage[] = [];
  for (let t = start, i = 0; t < end; t += everyMs, i++)
    messages.push(environmental(deviceId, t, { temperature: i % 50, humidity: 40, pressure: 1000 }));
  return messages;
};

const hourly = (query: TimeseriesQuery, deviceId: string) =>
  query.buckets({ deviceId, measure: 'temperature', from: H0, to: NOW, bucketMs: HOUR, limit: 100 });

describe.each(Object.keys(SUBJECTS))('the time-series port on %s', (name) => {
  let subject: Subject;
  const open = async () => {
    subject = await (SUBJECTS[name] as () => Promise<Subject>)();
    return subject;
  };
  afterEach(async () => {
    await subject?.close();
  });

  it('answers the newest value of every measure', async () => {
    const { sink, query } = await open();
    await sink.write([], []);
    await write(subject, [
      environmental('env-a', H0, { temperature: 20, humidity: 40, pressure: 1000 }),
      environmental('env-a', H0 + MINUTE, { temperature: 21, humidity: 41, pressure: 1001 }),
    ]);

    const latest = await query.latest('env-a');

    expect(latest).toEqual([
      { measure: 'humidity', value: 41, time: H0 + MINUTE, quality: 'GOOD' },
      { measure: 'pressure', value: 1001, time: H0 + MINUTE, quality: 'GOOD' },
      { measure: 'temperature', value: 21, time: H0 + MINUTE, quality: 'GOOD' },
    ]);
  });

  it('keeps the newer latest value when an older message arrives after it', async () => {
    const { query } = await open();
    await write(subject, [
      environmental('env-a', H0 + 2 * MINUTE, { temperature: 25, humidity: 45, pressure: 1005 }),
    ]);

    await write(subject, [
      environmental('env-a', H0 + MINUTE, { temperature: 10, humidity: 10, pressure: 990 }),
    ]);

    expect((await query.latest('env-a')).map((v) => [v.measure, v.value, v.time])).toEqual([
      ['humidity', 45, H0 + 2 * MINUTE],
      ['pressure', 1005, H0 + 2 * MINUTE],
      ['temperature', 25, H0 + 2 * MINUTE],
    ]);
  });

  it('returns a raw range oldest first, half open, cut at the limit', async () => {
    const { query } = await open();
    await write(subject, ramp('env-a', H0, H0 + 10 * MINUTE, MINUTE));

    const points = await query.series({
      deviceId: 'env-a',
      measure: 'temperature',
      from: H0 + 2 * MINUTE,
      to: H0 + 8 * MINUTE,
      limit: 3,
    });
    const all = await query.series({
      deviceId: 'env-a',
      measure: 'temperature',
      from: H0 + 2 * MINUTE,
      to: H0 + 4 * MINUTE,
      limit: 100,
    });

    expect(points).toEqual([
      { time: H0 + 2 * MINUTE, value: 2, quality: 'GOOD' },
      { time: H0 + 3 * MINUTE, value: 3, quality: 'GOOD' },
      { time: H0 + 4 * MINUTE, value: 4, quality: 'GOOD' },
    ]);
    expect(all.map((p) => p.time)).toEqual([H0 + 2 * MINUTE, H0 + 3 * MINUTE]);
  });

  it('aggregates 1-minute and 5-minute buckets', async () => {
    const { query } = await open();
    // Every 20 s for 10 minutes: temperature 0, 1, 2, ... 29.
    await write(subject, ramp('env-a', H0, H0 + 10 * MINUTE, 20_000));
    const range = { deviceId: 'env-a', measure: 'temperature', from: H0, to: H0 + 10 * MINUTE, limit: 100 };

    const minutes = await query.buckets({ ...range, bucketMs: MINUTE });
    const fives = await query.buckets({ ...range, bucketMs: 5 * MINUTE, limit: 1 });

    expect(minutes).toHaveLength(10);
    expect(minutes[1]).toEqual({ time: H0 + MINUTE, avg: 4, min: 3, max: 5, count: 3 });
    expect(fives).toEqual([{ time: H0, avg: 7, min: 0, max: 14, count: 15 }]);
  });

  it('answers hourly buckets the same before and after the rollup job ran', async () => {
    const { query } = await open();
    // Every 5 minutes from H0 into the current hour: 12 per closed hour, temperature 0..49 repeating.
    await write(subject, ramp('env-a', H0, NOW, 5 * MINUTE));
    const expected = [
      { time: H0, avg: 5.5, min: 0, max: 11, count: 12 },
      { time: H0 + HOUR, avg: 17.5, min: 12, max: 23, count: 12 },
      { time: H0 + 2 * HOUR, avg: 29.5, min: 24, max: 35, count: 12 },
      { time: H0 + 3 * HOUR, avg: 38.5, min: 36, max: 41, count: 6 },
    ];

    const before = await hourly(query, 'env-a');
    await subject.rollup('env-a');
    const after = await hourly(query, 'env-a');

    expect(before).toEqual(expected);
    expect(after).toEqual(expected);
  });

  it('stores a re-written batch once: same count, same hourly buckets', async () => {
    const { query } = await open();
    const batch = ramp('env-a', H0, NOW, 5 * MINUTE);
    await write(subject, batch);
    await subject.rollup('env-a');
    const count = await query.count();
    const buckets = await hourly(query, 'env-a');

    await write(subject, batch);
    const afterRewrite = await hourly(query, 'env-a');
    await subject.rollup('env-a');

    expect(count).toBe(batch.length * 3);
    expect(await query.count()).toBe(count);
    expect(afterRewrite).toEqual(buckets);
    expect(await hourly(query, 'env-a')).toEqual(buckets);
  });

  it('counts each stored message of a device once, however often it was written', async () => {
    const { query } = await open();
    const batch = ramp('env-a', H0, H0 + HOUR, 5 * MINUTE);
    await write(subject, batch);
    await write(subject, batch.slice(0, 4));

    const counts = await query.messageCounts(['env-a', 'env-none']);

    expect([...counts]).toEqual([['env-a', batch.length]]);
  });

  it('counts a late point into its closed hour, rolled up or not', async () => {
    const { query } = await open();
    await write(subject, ramp('env-a', H0, H0 + HOUR, 5 * MINUTE));
    await subject.rollup('env-a');

    await write(subject, [
      environmental('env-a', H0 + 59 * MINUTE, { temperature: 60, humidity: 40, pressure: 1000 }),
    ]);
    const late = await hourly(query, 'env-a');
    await subject.rollup('env-a');

    const expected = [{ time: H0, avg: 126 / 13, min: 0, max: 60, count: 13 }];
    expect(late).toEqual(expected);
    expect(await hourly(query, 'env-a')).toEqual(expected);
  });

  it("replaces a replayed message's points (issue 16): changed values replaced, a reading now BAD gone, each point once", async () => {
    const { sink, query } = await open();
    await write(subject, ramp('env-a', H0, H0 + HOUR, 5 * MINUTE));
    await subject.rollup('env-a');
    // The replay's enrichment of two of them: temperature 999 is BAD (not stored), 30 replaces 3.
    const replayed = [
      environmental('env-a', H0 + 10 * MINUTE, { temperature: 999, humidity: 41, pressure: 1000 }),
      environmental('env-a', H0 + 15 * MINUTE, { temperature: 30, humidity: 40, pressure: 1000 }),
    ];
    const keys = replayed.map((m) => ({
      deviceId: 'env-a',
      kind: 'telemetry' as const,
      time: Date.parse(m.timestamp),
    }));

    await sink.rewrite?.(replayed.flatMap(toTimeSeriesPoints), keys, replayed);
    await sink.rewrite?.(replayed.flatMap(toTimeSeriesPoints), keys, replayed);
    const beforeRollup = await hourly(query, 'env-a');
    await subject.rollup('env-a');

    const expected = [{ time: H0, avg: 91 / 11, min: 0, max: 30, count: 11 }];
    expect(beforeRollup).toEqual(expected);
    expect(await hourly(query, 'env-a')).toEqual(expected);
    expect(await query.count()).toBe(12 * 3 - 1);
    expect(
      await query.series({
        deviceId: 'env-a',
        measure: 'humidity',
        from: H0 + 10 * MINUTE,
        to: H0 + 11 * MINUTE,
        limit: 5,
      }),
    ).toEqual([{ time: H0 + 10 * MINUTE, value: 41, quality: 'GOOD' }]);
  });

  it('never stores a BAD reading', async () => {
    const { query } = await open();

    await write(subject, [environmental('env-b', H0, { temperature: 999, humidity: 40, pressure: 1000 })]);

    expect((await query.latest('env-b')).map((v) => v.measure)).toEqual(['humidity', 'pressure']);
    expect(
      await query.series({ deviceId: 'env-b', measure: 'temperature', from: H0, to: NOW, limit: 10 }),
    ).toEqual([]);
  });

  it('stores every kind of message, numbers, booleans and text, once when redelivered', async () => {
    const { query } = await open();
    const enrich = (message: TestMessage) => {
      const outcome = processMessage(
        JSON.stringify(message),
        { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
        { registry, service: 'test', serviceVersion: '0' },
      );
      if (outcome.kind !== 'enriched') throw new Error(`not enriched: ${outcome.rejection.reason}`);
      return outcome.message;
    };
    const messages = [
      breakerTelemetry(),
      breakerTelemetry({
        timestamp: '2026-11-23T10:00:05.000Z',
        measurements: { voltage: { phase_a: 121.3 } },
      }),
      breakerTrends(),
      statusMessage(),
      eventMessage(),
    ].map(enrich);
    const points = messages.flatMap(toTimeSeriesPoints);

    // Per message and concurrently, as several batches would, then the whole lot again.
    await Promise.all(messages.map((message) => write(subject, [message])));
    await write(subject, messages);

    expect(await query.count()).toBe(points.length);
    const byMeasure = new Map((await query.latest(BREAKER_ID)).map((v) => [v.measure, v]));
    expect(byMeasure.size).toBe(new Set(points.map((p) => p.measure)).size);
    expect(byMeasure.get('voltage.phase_a')).toEqual({
      measure: 'voltage.phase_a',
      value: 121.3,
      time: Date.parse('2026-11-23T10:00:05.000Z'),
      quality: 'GOOD',
    });
    expect(byMeasure.get('voltage.phase_a.count')?.value).toBe(60);
    expect(byMeasure.get('protection.arc_fault_detected')?.value).toBe(false);
    expect(byMeasure.get('status.online')).toMatchObject({ value: true, time: Date.parse(TIMESTAMP) });
    expect(byMeasure.get('status.firmware_version')?.value).toBe('2.1.0');
    expect(byMeasure.get('event.type')?.value).toBe('trip');
  });

  // ----- export (issue 16): paged raw reads and hourly aggregates --------------------------------

  it('pages a raw range oldest first, each point once, as one series read answers it', async () => {
    const { query } = await open();
    await write(subject, ramp('env-a', H0, H0 + 25 * MINUTE, MINUTE));
    const range = { deviceId: 'env-a', measure: 'temperature', from: H0 + MINUTE, to: H0 + 24 * MINUTE };

    const pages: RawPoint[][] = [];
    for await (const page of seriesPages(query, { ...range, limit: 10 })) pages.push(page);
    const whole = await query.series({ ...range, limit: 100 });

    expect(pages.map((page) => page.length)).toEqual([10, 10, 3]);
    expect(pages.flat()).toEqual(whole);
    expect(whole.map((p) => p.value)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
  });

  it('pages across days without points, each point once', async () => {
    const { query } = await open();
    const DAY = 24 * HOUR;
    const times = [H0 - 40 * DAY, H0 - 39 * DAY + MINUTE, H0 - 2 * DAY, H0, H0 + MINUTE];
    await write(
      subject,
      times.map((t, i) => environmental('env-a', t, { temperature: i, humidity: 40, pressure: 1000 })),
    );

    const pages: RawPoint[][] = [];
    for await (const page of seriesPages(query, {
      deviceId: 'env-a',
      measure: 'temperature',
      from: H0 - 60 * DAY,
      to: NOW,
      limit: 2,
    }))
      pages.push(page);

    expect(pages.flat().map((p) => [p.time, p.value])).toEqual(times.map((t, i) => [t, i]));
  });

  it('answers hourly aggregates of every measure, and adjacent windows add up to the whole', async () => {
    const { query } = await open();
    await write(subject, ramp('env-a', H0, H0 + 3 * HOUR, 10 * MINUTE));
    await subject.rollup('env-a');
    const hours = (measure: string, from: number, to: number) =>
      query.buckets({ deviceId: 'env-a', measure, from, to, bucketMs: HOUR, limit: 100 });

    const whole = await hours('temperature', H0, H0 + 3 * HOUR);
    const split = [
      ...(await hours('temperature', H0, H0 + HOUR)),
      ...(await hours('temperature', H0 + HOUR, H0 + 3 * HOUR)),
    ];
    const humidity = await hours('humidity', H0, H0 + 3 * HOUR);

    expect(whole).toEqual([
      { time: H0, avg: 2.5, min: 0, max: 5, count: 6 },
      { time: H0 + HOUR, avg: 8.5, min: 6, max: 11, count: 6 },
      { time: H0 + 2 * HOUR, avg: 14.5, min: 12, max: 17, count: 6 },
    ]);
    expect(split).toEqual(whole);
    expect(humidity.map((b) => [b.avg, b.min, b.max, b.count])).toEqual([
      [40, 40, 40, 6],
      [40, 40, 40, 6],
      [40, 40, 40, 6],
    ]);
  });

  it('refuses an invalid device id before any query', async () => {
    const { query } = await open();

    await expect(query.latest("env' OR 1=1")).rejects.toThrow(RangeError);
  });
});
