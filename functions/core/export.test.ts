import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import {
  csvChunks,
  csvField,
  type ExportRow,
  exportColumns,
  exportMeasureOf,
  type MeasureItem,
  mergeByTime,
} from './export.js';

const breaker = seedRegistry.deviceTypes.find((t) => t.typeId === 'smart_breaker');
if (!breaker) throw new Error('the seed registry has no smart_breaker');

async function* pages<T>(...items: T[][]): AsyncGenerator<T[]> {
  for (const page of items) yield page;
}

const collect = async <T>(source: AsyncIterable<T>) => {
  const all: T[] = [];
  for await (const item of source) all.push(item);
  return all;
};

describe('export core', () => {
  it('names columns with underscores and units, four per measure when bucketed', () => {
    const voltage = exportMeasureOf(breaker, 'voltage.phase_a');
    const trend = exportMeasureOf(breaker, 'voltage.phase_a.count');
    const online = exportMeasureOf(breaker, 'status.online');

    expect(exportMeasureOf(breaker, 'voltage.nope')).toBeUndefined();
    expect(online).toEqual({ measure: 'status.online', valueType: 'BOOLEAN' });
    expect(
      exportColumns(
        [voltage, trend].filter((m) => m !== undefined),
        false,
      ).map((c) => c.name),
    ).toEqual(['voltage_phase_a [V]', 'voltage_phase_a_count']);
    expect(exportColumns(voltage ? [voltage] : [], true).map((c) => [c.name, c.valueType])).toEqual([
      ['voltage_phase_a_avg [V]', 'DOUBLE'],
      ['voltage_phase_a_min [V]', 'DOUBLE'],
      ['voltage_phase_a_max [V]', 'DOUBLE'],
      ['voltage_phase_a_count', 'INT32'],
    ]);
  });

  it('merges streams by time across page boundaries, empty cells where a measure has no value', async () => {
    const a = pages<MeasureItem>(
      [
        { time: 1, cells: [10] },
        { time: 3, cells: [30] },
      ],
      [{ time: 4, cells: [40] }],
    );
    const b = pages<MeasureItem>(
      [],
      [
        { time: 2, cells: [true] },
        { time: 3, cells: [false] },
      ],
    );

    const batches = await collect(mergeByTime([a, b], [1, 1], 2));

    expect(batches.map((rows) => rows.length)).toEqual([2, 2]);
    expect(batches.flat()).toEqual([
      { time: 1, cells: [10, null] },
      { time: 2, cells: [null, true] },
      { time: 3, cells: [30, false] },
      { time: 4, cells: [40, null] },
    ]);
  });

  it('quotes CSV fields that need it and defuses text a spreadsheet would run', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(false)).toBe('false');
    expect(csvField('trip, phase "A"')).toBe('"trip, phase ""A"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('writes a header row and ISO 8601 UTC times', async () => {
    const rows: ExportRow[] = [{ time: Date.parse('2026-11-01T00:00:00Z'), cells: [1.5] }];
    const columns = exportColumns([{ measure: 'energy', unit: 'kWh', valueType: 'DOUBLE' }], false);

    const text = (await collect(csvChunks(columns, pages(rows)))).join('');

    expect(text).toBe('time,energy [kWh]\r\n2026-11-01T00:00:00.000Z,1.5\r\n');
  });
});
