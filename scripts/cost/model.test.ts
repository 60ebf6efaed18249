import { describe, expect, it } from 'vitest';
import { type EnvironmentConfig, environmentConfigSchema } from '../../infra/lib/config.js';
import { kafkaBatchBytes, measureMessages } from './measure.js';
import {
  ASSUMPTIONS,
  batchShape,
  type CostEstimate,
  distinctDevices,
  estimateMonthlyCost,
  type MessageProfile,
} from './model.js';
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
};

const SECONDS_PER_MONTH = 730 * 3600;
const GIB = 1024 ** 3;
const line = (estimate: CostEstimate, item: string) => {
  const found = estimate.lines.find((candidate) => candidate.item.startsWith(item));
  if (!found) throw new Error(`no line ${item}`);
  return found;
};

describe('estimateMonthlyCost', () => {
  it('prices an idle environment as cluster, partitions, one EPU, idle SQS polls, alarms, dashboard and key', () => {
    const idle = estimateMonthlyCost(smallConfig(), 0, PROFILE, PRICES);

    const cluster = 730 * 0.75;
    const partitions = 4 * 730 * 0.0015;
    const epu = 730 * 0.185;
    const sqsIdlePolls = ((5 * SECONDS_PER_MONTH) / 20 / 1e6) * 0.4;
    const alarms = 8 * 0.1;
    expect(idle.total).toBeCloseTo(cluster + partitions + epu + sqsIdlePolls + alarms + 3 + 1, 6);
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
    expect(line(idle, 'alarms').quantity).toBe(9);
  });

  it('rounds each mapping up to its own EPU without a poller group', () => {
    const config = { ...smallConfig(), consumers: { ...smallConfig().consumers, pollerGroup: false } };

    const idle = estimateMonthlyCost(config, 0, PROFILE, PRICES);

    expect(line(idle, 'event poller units').quantity).toBe(2 * 730);
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
  });
});
