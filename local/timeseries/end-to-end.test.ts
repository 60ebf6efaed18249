import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
import { seedRegistry } from '../../registry-data/index.js';
import { DuckDbTimeseriesStore } from './duckdb-store.js';

const registry = compileRegistry(seedRegistry);

function enrich(message: TestMessage) {
  const outcome = processMessage(
    JSON.stringify(message),
    { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
    { registry, service: 'enrich', serviceVersion: 'test' },
  );
  if (outcome.kind !== 'enriched') throw new Error(`expected enrichment, got ${outcome.rejection.reason}`);
  return outcome.message;
}

let dir: string;
let store: DuckDbTimeseriesStore | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'duckdb-e2e-'));
});

afterEach(async () => {
  try {
    await store?.close();
    store = undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('enriched messages to the DuckDB store', () => {
  it('writes the points of telemetry, trends, status and events and reads the latest back', async () => {
    store = await DuckDbTimeseriesStore.open({ path: join(dir, 'timeseries.duckdb') });
    const messages = [
      breakerTelemetry(),
      breakerTelemetry({
        timestamp: '2026-11-23T10:00:05.000Z',
        measurements: { voltage: { phase_a: 121.3 }, temperature: 46 },
      }),
      breakerTrends(),
      statusMessage(),
      eventMessage(),
    ].map(enrich);
    const points = messages.flatMap(toTimeSeriesPoints);
    expect(points.length).toBeGreaterThan(50);

    // Per message, as the pipeline would, then the whole lot again (a redelivery).
    await Promise.all(messages.map((message) => store?.write(toTimeSeriesPoints(message))));
    await store.write(points);
    expect(await store.count()).toBe(points.length);

    const latest = await store.latest(BREAKER_ID);
    const byMeasure = new Map(latest.map((value) => [value.measure, value]));
    expect(latest).toHaveLength(new Set(points.map((p) => p.measure)).size);
    expect(byMeasure.get('voltage.phase_a')).toEqual({
      measure: 'voltage.phase_a',
      value: 121.3,
      time: Date.parse('2026-11-23T10:00:05.000Z'),
      quality: 'GOOD',
    });
    expect(byMeasure.get('voltage.phase_a.avg')).toMatchObject({
      value: 120,
      time: Date.parse('2026-11-23T09:55:00.000Z'),
    });
    expect(byMeasure.get('voltage.phase_a.count')?.value).toBe(60);
    expect(byMeasure.get('protection.arc_fault_detected')?.value).toBe(false);
    expect(byMeasure.get('status.online')).toMatchObject({ value: true, time: Date.parse(TIMESTAMP) });
    expect(byMeasure.get('status.firmware_version')?.value).toBe('2.1.0');
    expect(byMeasure.get('event.type')?.value).toBe('trip');

    const series = await store.series({
      deviceId: BREAKER_ID,
      measure: 'voltage.phase_a',
      from: Date.parse(TIMESTAMP),
      to: Date.parse(TIMESTAMP) + 60_000,
      limit: 10,
    });
    expect(series.map((p) => p.value)).toEqual([120.1, 121.3]);
  });
});
