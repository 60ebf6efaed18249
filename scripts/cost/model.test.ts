import { describe, expect, it } from 'vitest';
import { type EnvironmentConfig, environmentConfigSchema } from '../../infra/lib/config.js';
import { stackInventory, writeUnitsWithIndexes } from './inventory.js';
import { kafkaBatchBytes, measureMessages } from './measure.js';
import { measureEnrichTraffic } from './measure-enrich.js';
import {
  ASSUMPTIONS,
  batchShape,
  type CostEstimate,
  distinctDevices,
  estimateMonthlyCost,
  type MessageProfile,
  sampleTrims,
} from './model.js';
import { declaredMetricSeries, PLATFORM_ASSUMPTIONS } from './platform-services.js';
import { PRICES } from './prices.js';

/** A small environment with round numbers: one partition per topic, batches of 10, a 1 s window. */
function smallConfig(timeseries: object = { sink: 'dynamodb' }): EnvironmentConfig {
  const consumer = { batchSize: 10, maxBatchingWindowSeconds: 1, minimumPollers: 1, maximumPollers: 2 };
  const parsed = environmentConfigSchema.parse({
    removalPolicy: 'destroy',
    logRetentionDays: 7,
    vpcCidr: '10.40.0.0/16',
    stream: {
      retentionHours: 24,
      partitions: { 'iot.raw': 1, 'iot.enriched': 1, 'iot.alerts': 1, 'iot.dlq': 1 },
    },
    ingest: { batchSize: 10, maxBatchingWindowSeconds: 1, maxConcurrency: 2, queueRetentionDays: 4 },
    consumers: {
      startingPosition: 'LATEST',
      pollerGroup: true,
      enrich: consumer,
      timeseriesWriter: consumer,
    },
    api: { throttleRateLimit: 10, throttleBurstLimit: 20 },
    timeseries,
    registryRefreshSeconds: 30,
  });
  return { ...parsed, name: 'dev', platformVersion: 'test' };
}

/** Round figures: 1,000-byte enriched records, 100-byte raw ones, no CPU time (overheads only). */
const PROFILE: MessageProfile = {
  messagesPerDevicePerSecond: 0.1,
  iotBilledMessages: 1,
  sqsBodyBytes: 200,
  rawBytes: 100,
  enrichedBytes: 1000,
  enrichedShare: 1,
  kafkaRawBytes: 100,
  kafkaEnrichedBytes: 1000,
  timestreamWriteUnits: 2,
  timestreamRecordBytes: 1500,
  retentionDays: 30,
  cpuMsPerMessage: { ingestBridge: 0, enrich: 0, timeseriesWriter: 0 },
  // One condition-state write every 10 messages, one alert event every 100 (1,000 B: 1 KB items).
  alertStateWritesPerMessage: 0.1,
  alertEventsPerMessage: 0.01,
  alertBytes: 1000,
  noDataDeviceShare: 0.5,
  registryBytes: 40_000,
  deviceTypes: 4,
  emfBytesPerInvocation: 2000,
};

const SECONDS_PER_MONTH = 730 * 3600;
const GIB = 1024 ** 3;
const line = (estimate: CostEstimate, item: string) => {
  const found = estimate.lines.find((candidate) => candidate.item.startsWith(item));
  if (!found) throw new Error(`no line ${item}`);
  return found;
};

describe('estimateMonthlyCost', () => {
  it('prices an idle environment as cluster, partitions, one EPU, idle SQS polls, alarms, dashboard, key and the scheduled jobs', () => {
    const idle = estimateMonthlyCost(smallConfig(), 0, PROFILE, PRICES);

    const cluster = 730 * 0.75;
    const partitions = 4 * 730 * 0.0015;
    const epu = 730 * 0.185;
    const sqsIdlePolls = ((5 * SECONDS_PER_MONTH) / 20 / 1e6) * 0.4;
    // Offset lag x2, errors of 7 functions (the rollup's with the dynamodb sink), two DLQ depths.
    const alarms = 11 * 0.1;
    const fixed = cluster + partitions + epu + sqsIdlePolls + alarms + 3 + 1;
    // What runs with no traffic: the no-data evaluator each minute, the rollup each hour, their metrics.
    const jobs = ['Scheduler invocations', 'noData ', 'timeseriesRollup ', 'no-data reads', 'custom metrics']
      .flatMap((item) => idle.lines.filter((candidate) => candidate.item.startsWith(item)))
      .reduce((sum, candidate) => sum + candidate.usd, 0);
    const logsAndTraces = ['logs ingested', 'logs stored', 'traces recorded']
      .map((item) => line(idle, item).usd)
      .reduce((sum, usd) => sum + usd, 0);
    expect(idle.total).toBeCloseTo(fixed + jobs + logsAndTraces, 6);
    expect(jobs).toBeGreaterThan(1);
    expect(jobs).toBeLessThan(5);
    expect(idle.perMillionMessages).toBeUndefined();
  });

  it('derives invocations, GB-seconds, MSK bytes and DynamoDB writes from the batch settings at 10 msg/s', () => {
    const busy = estimateMonthlyCost(smallConfig(), 10, PROFILE, PRICES);
    const messages = 10 * SECONDS_PER_MONTH;

    // Enrich: 10 msg/s on one partition with a 1 s window fills batches of 10: one invocation a second.
    expect(line(busy, 'enrich requests').quantity).toBeCloseTo(SECONDS_PER_MONTH, 3);
    // No CPU time in the profile: each invocation lasts the 40 ms overhead, at 1 GB.
    expect(line(busy, 'enrich GB-seconds').quantity).toBeCloseTo(SECONDS_PER_MONTH * 0.04, 3);
    // The bridge fills 2 batches side by side (maxConcurrency 2): batches of 5, two invocations a second.
    expect(line(busy, 'ingestBridge requests').quantity).toBeCloseTo(2 * SECONDS_PER_MONTH, 3);
    expect(line(busy, 'data in, iot.enriched').usd).toBeCloseTo(((messages * 1000) / GIB) * 0.1, 6);
    expect(line(busy, 'data out, iot.enriched').usd).toBeCloseTo(((messages * 1000) / GIB) * 0.05, 6);
    expect(line(busy, 'time-series sink writes').usd).toBeCloseTo(
      (messages * ASSUMPTIONS.dynamodbSinkUnitsPerMessage.writeUnits * 0.625) / 1e6,
      6,
    );
    expect(line(busy, 'messages').usd).toBeCloseTo(messages / 1e6, 6);
    // 10 msg/s at one message per device every 10 s is 100 devices, connected all month.
    expect(busy.devices).toBeCloseTo(100, 9);
    expect(busy.perMillionMessages).toBeCloseTo(busy.total / (messages / 1e6), 9);
  });

  it('takes the sink figure from the one named assumption', () => {
    const assumptions = {
      ...ASSUMPTIONS,
      dynamodbSinkUnitsPerMessage: { writeUnits: 5, readUnits: 1, pointItemBytes: 1024 },
    };

    const busy = estimateMonthlyCost(smallConfig(), 10, PROFILE, PRICES, assumptions);

    expect(line(busy, 'time-series sink writes').quantity).toBeCloseTo(10 * SECONDS_PER_MONTH * 5, 3);
    expect(line(busy, 'time-series sink reads').quantity).toBeCloseTo(10 * SECONDS_PER_MONTH, 3);
  });

  it('prices the timestream sink with its writes, stores and interface endpoint instead of DynamoDB points', () => {
    const config = smallConfig({
      sink: 'timestream',
      timestream: { memoryRetentionHours: 24, magneticRetentionDays: 365, ingestCell: 'cell1' },
    });

    const busy = estimateMonthlyCost(config, 10, PROFILE, PRICES);
    const idle = estimateMonthlyCost(config, 0, PROFILE, PRICES);

    expect(line(busy, 'writes (1 KB units)').usd).toBeCloseTo((10 * SECONDS_PER_MONTH * 2 * 0.5) / 1e6, 6);
    expect(busy.lines.some((candidate) => candidate.item.startsWith('time-series sink'))).toBe(false);
    expect(line(idle, 'Timestream ingest endpoint').usd).toBeCloseTo(2 * 730 * 0.01, 9);
    // No rollup function (and no errors alarm for it), two Timestream alarms instead.
    expect(line(idle, 'alarms').quantity).toBe(12);
    expect(idle.lines.some((candidate) => candidate.item.startsWith('timeseriesRollup'))).toBe(false);
  });

  it('rounds each mapping up to its own EPU without a poller group', () => {
    const config = { ...smallConfig(), consumers: { ...smallConfig().consumers, pollerGroup: false } };

    const idle = estimateMonthlyCost(config, 0, PROFILE, PRICES);

    expect(line(idle, 'event poller units').quantity).toBe(2 * 730);
  });
});

describe('the services beside the pipeline', () => {
  const at = (rate: number) => estimateMonthlyCost(smallConfig(), rate, PROFILE, PRICES);

  it('writes the measured condition states and stores each alert event with its claim, pointer and two index copies', () => {
    const busy = at(10);
    const messages = 10 * SECONDS_PER_MONTH;

    expect(line(busy, 'alert condition-state writes').quantity).toBeCloseTo(messages * 0.1, 3);
    // 1,000-byte alerts: 1 WRU into the table and 1 into each of its 2 indexes, plus claim and pointer.
    expect(line(busy, 'alert events stored (5 WRU each)').quantity).toBeCloseTo(messages * 0.01 * 5, 3);
  });

  it('invokes the notifier once per alert event and publishes to the assumed sns channel and its e-mail subscription', () => {
    const busy = at(10);
    const events = 10 * SECONDS_PER_MONTH * 0.01;

    expect(line(busy, 'notifier requests').quantity).toBeCloseTo(events, 3);
    expect(line(busy, 'notification publishes').usd).toBeCloseTo((events * 0.5) / 1e6, 9);
    expect(line(busy, 'e-mail deliveries').usd).toBeCloseTo((events * 20) / 1e6, 9);
    expect(line(at(0), 'notifier requests').quantity).toBe(0);
  });

  it('runs the no-data evaluator each minute, idle or not, and reads one state per device with no-data rules', () => {
    const idle = at(0);
    const busy = at(10);
    const runs = 730 * 60;

    expect(line(idle, 'Scheduler invocations').quantity).toBe(runs);
    expect(line(idle, 'noData requests').quantity).toBe(runs);
    // 10 msg/s is 100 devices, half of them with no-data rules: 50 state Queries a run, plus listing
    // and the registry (40 KB: 10 strongly consistent units, reloaded each run with a 30 s refresh).
    const listing = ((50 * PLATFORM_ASSUMPTIONS.deviceItemBytes) / 4096) * 0.5;
    expect(line(busy, 'no-data reads').quantity).toBeCloseTo(runs * (10 + listing + 50), 3);
    expect(line(idle, 'no-data reads').quantity).toBeCloseTo(runs * 10, 3);
  });

  it('scales the alert, notifier, no-data and rollup traffic and the backed-up storage with the rate', () => {
    const slow = at(10);
    const fast = at(100);
    const scaled = [
      'alert condition-state writes',
      'alert events stored',
      'notifier requests',
      'notification publishes',
      'rollup writes',
      'storage of devices, alerts',
      'point-in-time recovery',
    ];

    for (const item of scaled)
      expect(line(fast, item).quantity / line(slow, item).quantity, item).toBeCloseTo(10, 6);
    // The per-device part of the no-data reads grows with the fleet; the registry part does not.
    expect(line(fast, 'no-data reads').quantity).toBeGreaterThan(5 * line(slow, 'no-data reads').quantity);
    expect(line(fast, 'no-data reads').quantity).toBeLessThan(10 * line(slow, 'no-data reads').quantity);
  });

  it('backs up every table with point-in-time recovery: the points and the tables that grow with the fleet', () => {
    const busy = at(10);

    const points = line(busy, 'points stored').quantity;
    const others = line(busy, 'storage of devices, alerts').quantity;
    expect(line(busy, 'point-in-time recovery (12 tables)').usd).toBeCloseTo((points + others) * 0.2, 9);
    // 10 msg/s kept 30 days at 1,024 B a point is 26.5 GB; the other tables are a few percent of it.
    expect(points).toBeCloseTo((10 * 30 * 86_400 * 1024) / 1e9, 9);
    expect(others).toBeGreaterThan(0);
    expect(others).toBeLessThan(points / 5);
  });

  it('counts the index writes of device updates (lastSeen is an index key) and of inspector samples', () => {
    const busy = at(10);
    const enrichBatches = SECONDS_PER_MONTH; // one batch a second (see above)

    expect(line(busy, 'enrich device updates (3 WRU each').quantity).toBeGreaterThan(enrichBatches * 3 * 9);
    // Raw 100 B and enriched 1,000 B samples: 1 WRU each, 10 a batch, twice with the byDevice index.
    expect(line(busy, 'enrich inspector samples (20 WRU per batch').quantity).toBeCloseTo(
      enrichBatches * 20,
      3,
    );
  });

  it('ingests the log lines of every invocation and the EMF lines of each enrich batch', () => {
    const busy = at(10);
    // Requests of the three stages, the notifier, the no-data runs and the rollup runs.
    const requests = busy.lines
      .filter((candidate) => candidate.item.endsWith('requests') && candidate.service === 'Lambda')
      .reduce((sum, candidate) => sum + candidate.quantity, 0);
    const enrichBatches = line(busy, 'enrich requests').quantity;

    expect(line(busy, 'logs ingested').quantity).toBeCloseTo(
      (requests * ASSUMPTIONS.logBytesPerInvocation + enrichBatches * 2000) / 1e9,
      9,
    );
  });

  it("trims each device's samples past its newest 200, deleting most of a small fleet's samples", () => {
    const busy = at(10);
    // One batch a second, 10 samples: 4,320 a day per device and stage for 100 devices, 200 kept.
    const trimmed = 1 - 200 / ((10 * 86_400) / 100 / 2);

    expect(line(busy, 'inspector sample trims').quantity).toBeCloseTo(
      SECONDS_PER_MONTH * 10 * trimmed * 2,
      0,
    );
    // A fleet large enough that no device reaches 200 samples a day is never trimmed.
    expect(sampleTrims(SECONDS_PER_MONTH, 1_000_000, ASSUMPTIONS, 20, 1000).deleteUnits).toBe(0);
  });

  it('prices the custom metrics a busy pipeline publishes every hour, and those of the scheduled jobs idle', () => {
    expect(line(at(0), 'custom metrics').quantity).toBe(PLATFORM_ASSUMPTIONS.powertoolsMetrics.idle);
    expect(line(at(10), 'custom metrics').quantity).toBe(
      declaredMetricSeries(4, 1) + PLATFORM_ASSUMPTIONS.powertoolsMetrics.busy,
    );
  });
});

describe('declaredMetricSeries', () => {
  it('multiplies each declared EMF metric by its services and label values, leaving failure reasons out', () => {
    // stage 3x4, severity 4, type x verdict 4x3, three histograms per handler 3+3, two single series,
    // deliveries by channel and outcome 1x2.
    expect(declaredMetricSeries(4, 1)).toBe(12 + 4 + 12 + 3 + 3 + 1 + 1 + 2);
    expect(declaredMetricSeries(5, 1) - declaredMetricSeries(4, 1)).toBe(3);
  });
});

describe('stackInventory', () => {
  it('lists the tables, the stream and the alarms the stacks create for each sink', () => {
    const dynamo = stackInventory(smallConfig());
    const timestream = stackInventory(
      smallConfig({
        sink: 'timestream',
        timestream: { memoryRetentionHours: 24, magneticRetentionDays: 365, ingestCell: 'cell1' },
      }),
    );

    expect(Object.keys(dynamo.tables)).toHaveLength(12);
    expect(Object.keys(timestream.tables)).toHaveLength(9);
    expect(dynamo.streamTables).toEqual(['alerts']);
    expect([dynamo.alarms, timestream.alarms]).toEqual([11, 12]);
    expect([dynamo.hourlyRules, timestream.hourlyRules]).toEqual([1, 0]);
  });

  it('counts one more write per index an item enters, two where an update moves an index key', () => {
    const withIndex = { partitionKey: { name: 'id', type: 'S' }, globalSecondaryIndexes: [{}, {}] } as never;
    expect(writeUnitsWithIndexes(withIndex, 1500, 'insert')).toBe(2 * 3);
    expect(writeUnitsWithIndexes(withIndex, 100, 'indexKeyChange')).toBe(1 + 2 * 2);
  });
});

describe('batchShape', () => {
  it('forms no batch at rest and caps a batch at the batch size', () => {
    expect(batchShape(0, 100, 1, 2)).toEqual({ batch: 0, invocationsPerSecond: 0 });
    expect(batchShape(1000, 100, 1, 2)).toEqual({ batch: 100, invocationsPerSecond: 10 });
    expect(batchShape(10, 100, 1, 2)).toEqual({ batch: 5, invocationsPerSecond: 2 });
  });
});

describe('distinctDevices', () => {
  it('expects fewer distinct devices than messages when devices repeat in a batch', () => {
    expect(distinctDevices(2, 2)).toBeCloseTo(1.5, 9);
    expect(distinctDevices(1, 10)).toBe(1);
    expect(distinctDevices(1_000_000, 10)).toBeCloseTo(10, 3);
  });
});

describe('PRICES', () => {
  it('names the AWS pricing page of every price and where each figure was found, or that it was not', () => {
    for (const [key, price] of Object.entries(PRICES)) {
      expect(price.source, key).toMatch(/^https:\/\/aws\.amazon\.com\/[a-z0-9-]+\/pricing\//);
      expect(price.usd, key).toBeGreaterThan(0);
      if (price.found) expect(price.foundAt, key).toMatch(/^https:\/\//);
      else expect(price.foundAt, key).toContain('not found');
    }
  });
});

describe('kafkaBatchBytes', () => {
  it('encodes a record as Kafka does: length, attributes, deltas, key, value, headers, after a 61-byte header', () => {
    // body: attributes 1 + timestamp delta 1 + offset delta 1 + key 1+1 + value 1+1 + header count 1 = 8; length 1.
    expect(kafkaBatchBytes([{ key: 'a', value: Buffer.from('b') }], 'none')).toBe(61 + 9);
  });

  it('shrinks a batch of similar JSON records with gzip', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      key: `device-${i}`,
      value: Buffer.from(
        JSON.stringify({ device_id: `device-${i}`, metadata: { site: 'plant-1', unit: 'V' } }),
      ),
    }));

    expect(kafkaBatchBytes(records, 'gzip')).toBeLessThan(kafkaBatchBytes(records, 'none') / 2);
  });
});

describe('measureMessages', () => {
  it("measures the simulator's messages and their enriched form", () => {
    const profile = measureMessages({ devicesPerType: 2, seconds: 60, timingRounds: 1 });

    expect(profile.messages).toBeGreaterThan(0);
    expect(profile.enrichedShare).toBe(1);
    expect(profile.enrichedBytes).toBeGreaterThan(profile.rawBytes);
    expect(profile.kafkaEnrichedBytesGzip).toBeLessThan(profile.kafkaEnrichedBytes);
    expect(profile.messagesPerDevicePerSecond).toBeGreaterThan(0);
    expect(profile.cpuMsPerMessage.enrich).toBeGreaterThan(0);
    expect(profile.noDataDeviceShare).toBeGreaterThan(0);
    expect(profile.noDataDeviceShare).toBeLessThan(1);
  });
});

describe('measureEnrichTraffic', () => {
  it('counts condition-state writes, alert events and EMF bytes through the enrich Lambda, no more state writes in bigger batches', async () => {
    const small = await measureEnrichTraffic({ devicesPerType: 5, seconds: 300, batchRecords: 1 });
    const big = await measureEnrichTraffic({ devicesPerType: 5, seconds: 300, batchRecords: 1000 });

    // The rate-of-change rule stores its sample about every reading of the environmental sensors.
    expect(small.alertStateWritesPerMessage).toBeGreaterThan(0.01);
    expect(small.alertStateWritesPerMessage).toBeLessThan(1);
    expect(big.alertStateWritesPerMessage).toBeLessThanOrEqual(small.alertStateWritesPerMessage);
    // Transitions are decided in stream order whatever the batching: the same events either way.
    expect(big.alertEventsPerMessage).toBeCloseTo(small.alertEventsPerMessage, 9);
    // A batch's metrics are one EMF line per label set: a bigger batch has more of them, not 1,000x.
    expect(small.emfBytesPerInvocation).toBeGreaterThan(500);
    expect(big.emfBytesPerInvocation).toBeGreaterThan(small.emfBytesPerInvocation);
    expect(big.emfBytesPerInvocation).toBeLessThan(20 * small.emfBytesPerInvocation);
  });
});
