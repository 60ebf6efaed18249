import {
  QueryCommand,
  type QueryCommandOutput,
  TimestreamQueryClient,
  ValidationException,
} from '@aws-sdk/client-timestream-query';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidQueryInput, parseTimestreamTime, TimestreamTimeseriesQuery } from './query.js';

const timestream = mockClient(TimestreamQueryClient);
const store = () =>
  new TimestreamTimeseriesQuery({
    client: new TimestreamQueryClient({ region: 'eu-west-1' }),
    database: 'iot_cloud',
    table: 'telemetry',
    dimensionNames: ['site'],
  });

const FROM = Date.parse('2026-11-23T11:00:00.000Z');
const TO = Date.parse('2026-11-23T12:00:00.000Z');
const series = { deviceId: 'breaker-00001', measure: 'voltage.phase_a', from: FROM, to: TO, limit: 100 };

/** A Timestream Query response page in the service's shape: typed columns, rows of scalar data. */
function page(
  columns: [string, string][],
  rows: (string | null)[][],
  nextToken?: string,
): Partial<QueryCommandOutput> {
  return {
    QueryId: 'q-1',
    ColumnInfo: columns.map(([Name, ScalarType]) => ({ Name, Type: { ScalarType } })),
    Rows: rows.map((row) => ({
      Data: row.map((value) => (value === null ? { NullValue: true } : { ScalarValue: value })),
    })),
    ...(nextToken ? { NextToken: nextToken } : {}),
  } as Partial<QueryCommandOutput>;
}

/** A page of a raw series read: time, value and the record's suspect measures. */
const rawPage = (rows: (string | null)[][], options: { valueType?: string; nextToken?: string } = {}) =>
  page(
    [
      ['time_ms', 'BIGINT'],
      ['value', options.valueType ?? 'DOUBLE'],
      ['suspect_measures', 'VARCHAR'],
    ],
    rows,
    options.nextToken,
  );

/** A page of bucketed aggregates, one row per bucket: [bucket start ms, avg, min, max, count]. */
const bucketPage = (rows: string[][]) =>
  page(
    [
      ['bucket_ms', 'BIGINT'],
      ['avg_value', 'DOUBLE'],
      ['min_value', 'DOUBLE'],
      ['max_value', 'DOUBLE'],
      ['point_count', 'BIGINT'],
    ],
    rows,
  );
/** The condition that leaves out a voltage.phase_a a replay marked dropped (writer.ts `rewrite`). */
const NOT_DROPPED =
  " AND (dropped_measures IS NULL OR strpos(',' || dropped_measures || ',', ',voltage.phase_a,') = 0)";

const sqlOf = (call = 0): string =>
  timestream.commandCalls(QueryCommand)[call]?.args[0].input.QueryString ?? '';

beforeEach(() => {
  timestream.reset();
});

describe('Timestream time-series queries', () => {
  it('reads a raw series with quoted identifiers, checked values and quality from suspect_measures', async () => {
    timestream.on(QueryCommand).resolves(
      rawPage([
        [String(FROM + 1000), '120.5', null],
        [String(FROM + 2000), '121', 'current,voltage.phase_a'],
        [String(FROM + 3000), '119.75', '*'],
      ]),
    );

    const points = await store().series(series);

    expect(sqlOf()).toBe(
      `SELECT to_milliseconds(time) AS time_ms, "voltage.phase_a" AS value, suspect_measures FROM "iot_cloud"."telemetry" ` +
        `WHERE device_id = 'breaker-00001' AND time >= from_milliseconds(${FROM}) AND time < from_milliseconds(${TO}) ` +
        `AND "voltage.phase_a" IS NOT NULL${NOT_DROPPED} ORDER BY time ASC LIMIT 100`,
    );
    expect(points).toEqual([
      { time: FROM + 1000, value: 120.5, quality: 'GOOD' },
      { time: FROM + 2000, value: 121, quality: 'SUSPECT' },
      { time: FROM + 3000, value: 119.75, quality: 'SUSPECT' },
    ]);
  });

  it('follows NextToken across pages and stops at the limit', async () => {
    const row = (n: number) => [String(FROM + n), String(n), null];
    const valueType = 'BIGINT';
    timestream
      .on(QueryCommand)
      .resolvesOnce(rawPage([row(1), row(2)], { valueType, nextToken: 'token-1' }))
      .resolvesOnce(rawPage([], { valueType, nextToken: 'token-2' }))
      .resolvesOnce(rawPage([row(3), row(4)], { valueType, nextToken: 'token-3' }))
      .resolvesOnce(rawPage([row(5)], { valueType }));

    const points = await store().series({ ...series, limit: 4 });

    expect(points.map((p) => p.value)).toEqual([1, 2, 3, 4]);
    const calls = timestream.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls.map((input) => input.NextToken)).toEqual([undefined, 'token-1', 'token-2']);
    expect(new Set(calls.map((input) => input.QueryString)).size).toBe(1);
  });

  it('aggregates numeric buckets with bin()', async () => {
    timestream.on(QueryCommand).resolves(bucketPage([[String(FROM), '120', '119', '121', '60']]));

    const buckets = await store().buckets({ ...series, bucketMs: 300_000 });

    expect(sqlOf()).toContain(
      'to_milliseconds(bin(time, 300000ms)) AS bucket_ms, avg("voltage.phase_a") AS avg_value',
    );
    expect(sqlOf()).toContain('GROUP BY bin(time, 300000ms) ORDER BY bucket_ms ASC LIMIT 100');
    expect(buckets).toEqual([{ time: FROM, avg: 120, min: 119, max: 121, count: 60 }]);
  });

  // ----- export (issue 16): hourly aggregates and paged raw reads, by their query text -----------

  it('answers hourly aggregates (avg, min, max, count) over a half-open window', async () => {
    timestream.on(QueryCommand).resolves(bucketPage([[String(FROM), '120.5', '118', '123', '3600']]));

    const hours = await store().buckets({ ...series, bucketMs: 3_600_000 });

    expect(sqlOf()).toBe(
      'SELECT to_milliseconds(bin(time, 3600000ms)) AS bucket_ms, avg("voltage.phase_a") AS avg_value, ' +
        'min("voltage.phase_a") AS min_value, max("voltage.phase_a") AS max_value, ' +
        'count("voltage.phase_a") AS point_count FROM "iot_cloud"."telemetry" ' +
        `WHERE device_id = 'breaker-00001' AND time >= from_milliseconds(${FROM}) AND time < from_milliseconds(${TO}) ` +
        `AND "voltage.phase_a" IS NOT NULL${NOT_DROPPED} GROUP BY bin(time, 3600000ms) ORDER BY bucket_ms ASC LIMIT 100`,
    );
    expect(hours).toEqual([{ time: FROM, avg: 120.5, min: 118, max: 123, count: 3600 }]);
  });

  it('reads a page of a raw range with one record more, which is where the next page starts', async () => {
    timestream
      .on(QueryCommand)
      .resolvesOnce(rawPage([1, 2, 3].map((n) => [String(FROM + n), String(n), null])))
      .resolvesOnce(rawPage([[String(FROM + 3), '3', null]]));

    const first = await store().seriesPage({ ...series, limit: 2 });
    const last = await store().seriesPage({ ...series, from: FROM + 3, limit: 2 });

    expect(sqlOf(0)).toContain('ORDER BY time ASC LIMIT 3');
    expect(first).toEqual({
      points: [
        { time: FROM + 1, value: 1, quality: 'GOOD' },
        { time: FROM + 2, value: 2, quality: 'GOOD' },
      ],
      next: FROM + 3,
    });
    expect(sqlOf(1)).toContain(`time >= from_milliseconds(${FROM + 3})`);
    expect(last).toEqual({ points: [{ time: FROM + 3, value: 3, quality: 'GOOD' }] });
  });

  it('returns the latest value of each measure from the newest records, skipping dimensions', async () => {
    timestream.on(QueryCommand).resolves(
      page(
        [
          ['device_id', 'VARCHAR'],
          ['device_type', 'VARCHAR'],
          ['site', 'VARCHAR'],
          ['measure_name', 'VARCHAR'],
          ['time', 'TIMESTAMP'],
          ['quality_score', 'DOUBLE'],
          ['suspect_measures', 'VARCHAR'],
          ['voltage.phase_a', 'DOUBLE'],
          ['tripped', 'BOOLEAN'],
          ['status.firmware_version', 'VARCHAR'],
        ],
        [
          [
            'b-1',
            'smart_breaker',
            'north',
            'telemetry',
            '2026-11-23 12:00:02.500000000',
            '1',
            'tripped',
            '120.1',
            'false',
            null,
          ],
          [
            'b-1',
            'smart_breaker',
            'north',
            'telemetry',
            '2026-11-23 12:00:01.000000000',
            '1',
            null,
            '119.9',
            'true',
            null,
          ],
          [
            'b-1',
            'smart_breaker',
            'north',
            'status',
            '2026-11-23 11:59:00.000000000',
            '1',
            null,
            null,
            null,
            '2.1.0',
          ],
        ],
      ),
    );

    const latest = await store().latest('b-1');

    expect(sqlOf()).toBe(
      `SELECT * FROM "iot_cloud"."telemetry" WHERE device_id = 'b-1' AND time >= ago(7d) ORDER BY time DESC LIMIT 200`,
    );
    expect(latest).toEqual([
      {
        measure: 'status.firmware_version',
        value: '2.1.0',
        time: Date.parse('2026-11-23T11:59:00.000Z'),
        quality: 'GOOD',
      },
      { measure: 'tripped', value: false, time: Date.parse('2026-11-23T12:00:02.500Z'), quality: 'SUSPECT' },
      {
        measure: 'voltage.phase_a',
        value: 120.1,
        time: Date.parse('2026-11-23T12:00:02.500Z'),
        quality: 'GOOD',
      },
    ]);
  });

  it('answers an empty series for a measure never written (Timestream: unknown column)', async () => {
    timestream
      .on(QueryCommand)
      .rejects(
        new ValidationException({ message: "line 1:45: Column 'nothing' does not exist", $metadata: {} }),
      );

    expect(await store().series({ ...series, measure: 'nothing' })).toEqual([]);
    expect(await store().buckets({ ...series, measure: 'nothing', bucketMs: 60_000 })).toEqual([]);
  });

  it('passes other service errors on (an outage is not an empty result)', async () => {
    timestream.on(QueryCommand).rejects(new Error('ThrottlingException'));

    await expect(store().series(series)).rejects.toThrow('ThrottlingException');
  });

  it.each([
    ['deviceId', "b-1' OR '1'='1"],
    ['deviceId', 'b-1"; DROP TABLE x; --'],
    ['deviceId', '<script>'],
    ['measure', 'voltage" FROM x --'],
    ['measure', "temperature') OR 1=1 --"],
    ['measure', 'Voltage'],
  ])('rejects an injection attempt in %s before any query is sent: %s', async (field, value) => {
    await expect(store().series({ ...series, [field]: value })).rejects.toThrow(InvalidQueryInput);
    await expect(store().buckets({ ...series, [field]: value, bucketMs: 60_000 })).rejects.toThrow(
      InvalidQueryInput,
    );
    if (field === 'deviceId') await expect(store().latest(value)).rejects.toThrow(InvalidQueryInput);
    expect(timestream.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('rejects non-integer or out-of-range numbers before they reach SQL', async () => {
    for (const bad of [
      { from: Number.NaN },
      { to: 1.5 },
      { from: -1 },
      { limit: 0 },
      { limit: 10_001 },
      { limit: Number.POSITIVE_INFINITY },
    ]) {
      await expect(store().series({ ...series, ...bad })).rejects.toThrow(InvalidQueryInput);
    }
    await expect(store().buckets({ ...series, bucketMs: 1 })).rejects.toThrow(InvalidQueryInput);
    expect(timestream.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it("refuses database or table names outside Timestream's alphabet", () => {
    const client = new TimestreamQueryClient({ region: 'eu-west-1' });
    expect(() => new TimestreamTimeseriesQuery({ client, database: 'db"; --', table: 'telemetry' })).toThrow(
      InvalidQueryInput,
    );
    expect(() => new TimestreamTimeseriesQuery({ client, database: 'iot', table: "t' x" })).toThrow(
      InvalidQueryInput,
    );
  });

  it('counts records', async () => {
    timestream.on(QueryCommand).resolves(page([['records', 'BIGINT']], [['4321']]));

    expect(await store().count()).toBe(4321);
    expect(sqlOf()).toBe('SELECT count(*) AS records FROM "iot_cloud"."telemetry"');
  });

  it('parses Timestream timestamps (UTC, up to nanoseconds)', () => {
    expect(parseTimestreamTime('2026-11-23 12:00:00.123456789')).toBe(Date.parse('2026-11-23T12:00:00.123Z'));
    expect(parseTimestreamTime('2026-11-23 12:00:00')).toBe(Date.parse('2026-11-23T12:00:00.000Z'));
    expect(parseTimestreamTime('yesterday')).toBeNaN();
  });

  describe('readings a replay marked dropped (issue 16)', () => {
    it('leaves a dropped measure out of latest and takes its value from an older row', async () => {
      timestream.on(QueryCommand).resolves(
        page(
          [
            ['device_id', 'VARCHAR'],
            ['measure_name', 'VARCHAR'],
            ['time', 'TIMESTAMP'],
            ['temperature', 'DOUBLE'],
            ['dropped_measures', 'VARCHAR'],
          ],
          [
            ['e-1', 'telemetry', '2026-11-23 12:00:01.000000000', '99', 'temperature'],
            ['e-1', 'telemetry', '2026-11-23 12:00:00.000000000', '21', null],
          ],
        ),
      );

      const latest = await store().latest('e-1');

      expect(latest).toEqual([
        { measure: 'temperature', value: 21, time: Date.parse('2026-11-23T12:00:00.000Z'), quality: 'GOOD' },
      ]);
    });

    it('reads without the filter while the table has no dropped_measures column, and remembers it', async () => {
      const columns: [string, string][] = [
        ['time_ms', 'BIGINT'],
        ['value', 'DOUBLE'],
        ['suspect_measures', 'VARCHAR'],
      ];
      timestream
        .on(QueryCommand)
        .rejectsOnce(
          new ValidationException({
            message: "line 1:200: Column 'dropped_measures' does not exist",
            $metadata: {},
          }),
        )
        .resolves(page(columns, [[String(FROM), '120', null]]));
      const query = store();

      const first = await query.series(series);
      await query.series(series);

      expect(first).toEqual([{ time: FROM, value: 120, quality: 'GOOD' }]);
      expect(sqlOf(0)).toContain(NOT_DROPPED);
      expect(sqlOf(1)).not.toContain('dropped_measures');
      expect(sqlOf(2)).not.toContain('dropped_measures');
    });
  });
});
