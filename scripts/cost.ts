/**
 * `npm run cost -- -c env=<name> --rate <msg/s>`: the monthly cost of an environment idle and at a
 * steady rate, per AWS service and per million messages (scripts/cost/model.ts), with message sizes
 * measured from the simulator's fleet (scripts/cost/measure.ts; the enrich Lambda's alerts-table writes
 * and metrics through its own batch function, scripts/cost/measure-enrich.ts) and us-east-1 list prices
 * (scripts/cost/prices.ts). Kafka bytes are priced gzip-compressed, as the producer sends them
 * (functions/adapters/kafka/producer.ts); the same traffic uncompressed is printed beside them (what
 * the producer cost before it compressed). Names the line that dominates. `--sink dynamodb|timestream` prices the other sink for comparison.
 */
import { parseArgs } from 'node:util';
import { TOPICS } from '../functions/shared/stream.js';
import { isTimeseriesSinkName } from '../functions/shared/timeseries-sink.js';
import type { EnvironmentConfig } from '../infra/lib/config.js';
import { ConfigurationError, topicPartitions } from '../infra/lib/config.js';
import { type MeasuredProfile, measureMessages } from './cost/measure.js';
import { type EnrichTraffic, measureEnrichTraffic } from './cost/measure-enrich.js';
import {
  ASSUMPTIONS,
  type CostEstimate,
  dominantLine,
  estimateMonthlyCost,
  HOURS_PER_MONTH,
  type MessageProfile,
  pipelineShape,
} from './cost/model.js';
import { PRICE_REGION, PRICES, PRICES_LOOKED_UP } from './cost/prices.js';
import { loadEnvironment, splitContextArgs, UsageError } from './environment-arg.js';

const USAGE = `Usage: npm run cost -- -c env=dev|staging|prod --rate <msg/s> [--sink dynamodb|timestream]

  --rate N     steady messages per second (default 100)
  --sink S     price this sink instead of the environment's (Timestream needs its settings; defaults
               for the comparison: 24 h memory store, 365 d magnetic store)`;

/** Settings used only to price the timestream sink for an environment configured with another one. */
const TIMESTREAM_COMPARISON = { memoryRetentionHours: 24, magneticRetentionDays: 365, ingestCell: 'cell1' };

/** A line above this share of the total is called dominant. */
const DOMINANT_SHARE = 0.4;

const usd = (value: number) =>
  value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(3)}`;
const pad = (text: string, width: number) => text.padEnd(width);

function withSink(config: EnvironmentConfig, sink: string | undefined): EnvironmentConfig {
  if (sink === undefined || sink === config.timeseries.sink) return config;
  if (!isTimeseriesSinkName(sink)) throw new UsageError(`--sink must be dynamodb or timestream, got ${sink}`);
  return {
    ...config,
    timeseries: sink === 'timestream' ? { sink, timestream: TIMESTREAM_COMPARISON } : { sink },
  };
}

function serviceTable(idle: CostEstimate, busy: CostEstimate, uncompressed: CostEstimate): string[] {
  const services = [...new Set([...Object.keys(busy.byService), ...Object.keys(idle.byService)])].sort(
    (a, b) => (busy.byService[b] ?? 0) - (busy.byService[a] ?? 0),
  );
  const rows = [
    `${pad('service', 16)} ${pad('idle', 10)} ${pad(`${busy.rate} msg/s`, 12)} uncompressed`,
    ...services.map(
      (service) =>
        `${pad(service, 16)} ${pad(usd(idle.byService[service] ?? 0), 10)} ${pad(usd(busy.byService[service] ?? 0), 12)} ${usd(uncompressed.byService[service] ?? 0)}`,
    ),
    `${pad('total / month', 16)} ${pad(usd(idle.total), 10)} ${pad(usd(busy.total), 12)} ${usd(uncompressed.total)}`,
  ];
  if (busy.perMillionMessages !== undefined && uncompressed.perMillionMessages !== undefined) {
    const marginal = (estimate: CostEstimate) =>
      (estimate.total - idle.total) / (estimate.messagesPerMonth / 1e6);
    rows.push(
      `${pad('per million msgs', 16)} ${pad('', 10)} ${pad(usd(busy.perMillionMessages), 12)} ${usd(uncompressed.perMillionMessages)}   (all-in)`,
      `${pad('', 16)} ${pad('', 10)} ${pad(usd(marginal(busy)), 12)} ${usd(marginal(uncompressed))}   (above idle)`,
    );
  }
  return rows;
}

function lineTable(estimate: CostEstimate): string[] {
  return [...estimate.lines]
    .filter((line) => line.usd >= 0.005)
    .sort((a, b) => b.usd - a.usd)
    .map((line) => {
      const price = PRICES[line.price];
      const mark = price.found ? ' ' : '?';
      return `  ${pad(usd(line.usd), 9)}${mark} ${pad(line.service, 15)} ${line.item}: ${line.quantity.toLocaleString('en-US', { maximumFractionDigits: 2 })} x $${price.usd} per ${price.unit}`;
    });
}

type ReportProfile = MeasuredProfile & MessageProfile;

function report(config: EnvironmentConfig, rate: number, profile: ReportProfile): string {
  const gzipProfile = {
    ...profile,
    kafkaRawBytes: profile.kafkaRawBytesGzip,
    kafkaEnrichedBytes: profile.kafkaEnrichedBytesGzip,
  };
  const idle = estimateMonthlyCost(config, 0, gzipProfile, PRICES);
  const busy = estimateMonthlyCost(config, rate, gzipProfile, PRICES);
  const uncompressed = estimateMonthlyCost(config, rate, profile, PRICES);
  const out: string[] = [];
  out.push(
    `Monthly cost of ${config.name} (sink: ${config.timeseries.sink}), ${PRICE_REGION} list prices looked up ${PRICES_LOOKED_UP}, ${HOURS_PER_MONTH} h/month, no free tier`,
    `Messages measured from the simulator's fleet (${profile.messages.toLocaleString('en-US')} messages, ${profile.devices} devices, enriched by functions/core with registry-data/):`,
    `  raw ${profile.rawBytes.toFixed(0)} B, enriched ${profile.enrichedBytes.toFixed(0)} B (${(profile.enrichedBytes / profile.rawBytes).toFixed(1)}x), ${profile.pointsPerMessage.toFixed(1)} points; ` +
      `one device sends ${(1 / profile.messagesPerDevicePerSecond).toFixed(1)} s apart, so ${rate} msg/s is ${busy.devices.toFixed(0)} devices`,
    `  Kafka bytes per message (batches of ${profile.kafkaBatchRecords.raw.toFixed(0)} raw / ${profile.kafkaBatchRecords.enriched.toFixed(0)} enriched records per partition): ` +
      `iot.raw ${profile.kafkaRawBytes.toFixed(0)} B -> ${profile.kafkaRawBytesGzip.toFixed(0)} B gzip, iot.enriched ${profile.kafkaEnrichedBytes.toFixed(0)} B -> ${profile.kafkaEnrichedBytesGzip.toFixed(0)} B gzip`,
    `  Through the enrich Lambda: ${profile.alertStateWritesPerMessage.toFixed(3)} condition-state writes and ${profile.alertEventsPerMessage.toFixed(4)} alert events ` +
      `(${profile.alertBytes.toFixed(0)} B) per message, ${profile.emfBytesPerInvocation.toFixed(0)} B of EMF metrics per batch; ${(profile.noDataDeviceShare * 100).toFixed(0)}% of devices have no-data rules`,
    '',
    ...serviceTable(idle, busy, uncompressed),
    '',
    `Lines at ${rate} msg/s (? = price not found in a stored page, check it; see scripts/cost/prices.ts):`,
    ...lineTable(busy),
  );
  const top = dominantLine(busy);
  const idleTop = dominantLine(idle);
  out.push('');
  if (idleTop) {
    out.push(
      `Idle: ${idleTop.line.service} ${idleTop.line.item} is ${(idleTop.share * 100).toFixed(0)}% of ${usd(idle.total)}.`,
    );
  }
  if (top) {
    const [service, serviceUsd] = Object.entries(busy.byService).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    out.push(
      `${top.share >= DOMINANT_SHARE ? 'Dominant' : 'Largest line'} at ${rate} msg/s: ${top.line.service} ${top.line.item}, ${usd(top.line.usd)} (${(top.share * 100).toFixed(0)}% of ${usd(busy.total)}); ` +
        `largest service: ${service} ${usd(serviceUsd)} (${((serviceUsd / busy.total) * 100).toFixed(0)}%).`,
    );
  }
  const enrichedBytesCost = (estimate: CostEstimate) =>
    estimate.lines
      .filter((line) => line.service === 'MSK Serverless' && line.item.endsWith('iot.enriched'))
      .reduce((sum, line) => sum + line.usd, 0);
  out.push(
    `The enriched stream's bytes through MSK: ${usd(enrichedBytesCost(busy))} (${((enrichedBytesCost(busy) / busy.total) * 100).toFixed(0)}% of the total) gzip-compressed by the producer; ` +
      `${usd(enrichedBytesCost(uncompressed))} uncompressed (measured on the sample's own batches).`,
    `Estimates (scripts/cost/model.ts ASSUMPTIONS): DynamoDB sink ${ASSUMPTIONS.dynamodbSinkUnitsPerMessage.writeUnits} WRU per message, ` +
      `invocation overheads ${Object.values(ASSUMPTIONS.invocationOverheadMs).join('/')} ms, ${ASSUMPTIONS.logBytesPerInvocation} log bytes per invocation; ` +
      `notifications: ${ASSUMPTIONS.platform.notifications.snsChannels} sns channel wanting every alert, ${ASSUMPTIONS.platform.notifications.emailSubscriptions} e-mail subscription (none are deployed). ` +
      'Free or negligible (scripts/cost/platform-services.ts): DynamoDB Streams reads by the notifier (free for Lambda triggers), the data-ops function and its table (on demand, operator-invoked), ' +
      'the failure queue and failed-records bucket (failures only), the rollup rule. Not modelled: API Gateway, CloudFront, Cognito and S3 (no idle cost, priced per request or user), Timestream queries.',
  );
  return out.join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const { context, rest } = splitContextArgs(argv);
  const { values } = parseArgs({
    args: [...rest],
    options: {
      rate: { type: 'string', default: '100' },
      sink: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0)
    throw new UsageError(`--rate must be a positive number, got ${values.rate}`);
  const config = withSink(loadEnvironment(context), values.sink);
  // Compression depends on the batches this environment forms at this rate: records per partition.
  const shape = pipelineShape(config, rate);
  const partitions = topicPartitions(config);
  const measured = measureMessages({
    kafkaBatchRecords: {
      raw: Math.max(1, shape.ingestBridge.batch / partitions[TOPICS.raw]),
      enriched: Math.max(1, shape.enrich.batch / partitions[TOPICS.enriched]),
    },
  });
  // State writes and the metrics' log lines depend on how many messages share an enrich batch.
  const alerts: EnrichTraffic = await measureEnrichTraffic({ batchRecords: shape.enrich.batch });
  console.log(report(config, rate, { ...measured, ...alerts }));
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  const badOption = (error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS') === true;
  if (error instanceof UsageError || error instanceof ConfigurationError || badOption) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
