/**
 * Write units of a replay's rewrite on the DynamoDB time-series sink (issue 16), measured: 1,000
 * environmental-sensor telemetry messages (10 devices, 100 each, 30 s apart, all in closed hours) go
 * through the core and the real sink over dynalite, in batches of 100, first written, then rewritten
 * three ways: identical, one reading changed, one reading now BAD (dropped). Units are what dynalite
 * answers for `ReturnConsumedCapacity: TOTAL` (DynamoDB's billing rule), per table.
 *
 * Usage: npx tsx local/timeseries/dynamodb-rewrite-units.ts
 */
import {
  DynamoTimeseriesSink,
  timeseriesDocumentClient,
} from '../../functions/adapters/dynamodb/timeseries/index.js';
import type { EnrichedMessage } from '../../functions/core/contract/messages.js';
import { processMessage } from '../../functions/core/process-message.js';
import { compileRegistry } from '../../functions/core/registry.js';
import { toTimeSeriesPoints } from '../../functions/core/timeseries.js';
import type { MessagePointKey } from '../../functions/ports/timeseries.js';
import { seedRegistry } from '../../registry-data/index.js';
import { ensureTimeseriesTables, localTimeseriesTableNames, startDynalite } from '../dynamodb/index.js';

const registry = compileRegistry(seedRegistry);
const START = Date.parse('2026-11-23T08:00:00.000Z');
const BATCH = 100;

function telemetry(device: number, index: number, temperature: number): EnrichedMessage {
  const time = START + index * 30_000;
  const outcome = processMessage(
    JSON.stringify({
      device_id: `env-${device}`,
      device_type: 'environmental_sensor',
      timestamp: new Date(time).toISOString(),
      event_type: 'telemetry',
      measurements: { temperature, humidity: 40, pressure: 1000 },
    }),
    { receivedAt: time + 1000, processedAt: time + 1000 },
    { registry, service: 'rewrite-units', serviceVersion: '0' },
  );
  if (outcome.kind !== 'enriched') throw new Error(`not enriched: ${outcome.rejection.reason}`);
  return outcome.message;
}

const fleet = (temperature: (index: number) => number): EnrichedMessage[] =>
  Array.from({ length: 10 }, (_, device) =>
    Array.from({ length: 100 }, (_, index) => telemetry(device, index, temperature(index))),
  ).flat();

const keysOf = (messages: readonly EnrichedMessage[]): MessagePointKey[] =>
  messages.map((m) => ({ deviceId: m.device_id, kind: m.event_type, time: Date.parse(m.timestamp) }));

const dynalite = await startDynalite();
try {
  const names = localTimeseriesTableNames('rewrite-units');
  await ensureTimeseriesTables(dynalite.client, names);
  const tables = {
    points: names.timeseriesPoints,
    latest: names.timeseriesLatest,
    rollups: names.timeseriesRollups,
  };
  const units = new Map<string, number>();
  const sink = new DynamoTimeseriesSink({
    client: timeseriesDocumentClient(dynalite.client),
    tables,
    now: () => START + 3 * 3_600_000,
    onConsumedCapacity: ({ table, units: consumed }) => units.set(table, (units.get(table) ?? 0) + consumed),
  });
  const run = async (label: string, messages: EnrichedMessage[], replay: boolean) => {
    units.clear();
    for (let i = 0; i < messages.length; i += BATCH) {
      const part = messages.slice(i, i + BATCH);
      const points = part.flatMap(toTimeSeriesPoints);
      if (replay) await sink.rewrite(points, keysOf(part), part);
      else await sink.write(points, part);
    }
    const of = (table: string) => units.get(table) ?? 0;
    console.log(
      `${label.padEnd(34)} points ${of(tables.points)}, latest ${of(tables.latest)}, rollups ${of(tables.rollups)} WCU`,
    );
  };
  console.log('1,000 messages, batches of 100:');
  await run(
    'write',
    fleet((i) => 20 + (i % 5)),
    false,
  );
  await run(
    'rewrite, identical',
    fleet((i) => 20 + (i % 5)),
    true,
  );
  await run(
    'rewrite, temperature changed',
    fleet((i) => 21 + (i % 5)),
    true,
  );
  await run(
    'rewrite, temperature now BAD',
    fleet(() => 999),
    true,
  );
} finally {
  await dynalite.close();
}
