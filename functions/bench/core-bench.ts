/**
 * Core benchmark: messages per second through the whole enrich stage (parse, check, detect, validate,
 * enrich, alerts, serialise the enriched message, alerts and dead letters) against a bare JSON.parse +
 * JSON.stringify of the same payloads, measured in alternating rounds in one process so machine noise
 * hits both alike. `npm run bench` bundles it with esbuild first, as the Lambda functions will be
 * bundled, so the figures are those of the deployed code shape (not of a dev-time transpiler).
 * Usage: npm run bench [-- --size 10000 --rounds 7]
 */
import { parseArgs } from 'node:util';
import { seedRegistry } from '../../registry-data/index.js';
import { toDlqRecord } from '../core/dlq.js';
import { processMessage } from '../core/process-message.js';
import { compileRegistry } from '../core/registry.js';
import { generateCorpus } from './corpus.js';

const { values } = parseArgs({
  options: { size: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '7' } },
});
const size = Number(values.size);
const rounds = Number(values.rounds);
const TARGET_RATIO = 0.5;

const corpus = generateCorpus(size);
const registry = compileRegistry(seedRegistry);
const receivedAt = Date.parse('2026-11-23T00:00:00.000Z') + size * 1000;
const options = { registry, service: 'iot-cloud-enrich', serviceVersion: 'bench' };

let sink = 0; // consumed output, so no work can be optimised away

function baselineRound(): number {
  const started = process.hrtime.bigint();
  for (const { payload } of corpus) {
    try {
      sink += JSON.stringify(JSON.parse(payload)).length;
    } catch {
      sink += 1;
    }
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const counts = { enriched: 0, rejected: 0, alerts: 0, rawBytes: 0, enrichedBytes: 0 };
function pipelineRound(count: boolean): number {
  const started = process.hrtime.bigint();
  for (const { payload, topic } of corpus) {
    const outcome = processMessage(payload, { receivedAt, processedAt: receivedAt, topic }, options);
    if (outcome.kind === 'enriched') {
      // charCodeAt flattens the spliced string, as producing it to Kafka would: no credit for laziness.
      sink += outcome.json.charCodeAt(outcome.json.length - 1);
      for (const alert of outcome.alerts) sink += JSON.stringify(alert).length;
      if (count) {
        counts.enriched++;
        counts.alerts += outcome.alerts.length;
        counts.rawBytes += payload.length;
        counts.enrichedBytes += outcome.json.length;
      }
    } else {
      const record = toDlqRecord({
        rejection: outcome.rejection,
        original: payload,
        receivedAt,
        failedAt: receivedAt,
        stage: 'enrich',
      });
      sink += JSON.stringify(record).length;
      if (count) counts.rejected++;
    }
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

// Warm-up: let V8 optimise both paths before timing.
baselineRound();
pipelineRound(true);
baselineRound();
pipelineRound(false);

const baselineRates: number[] = [];
const pipelineRates: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const baseline = corpus.length / baselineRound();
  const pipeline = corpus.length / pipelineRound(false);
  baselineRates.push(baseline);
  pipelineRates.push(pipeline);
  ratios.push(pipeline / baseline);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = median(ratios);
console.log(
  `corpus: ${corpus.length} messages (seed 42): ${counts.enriched} enriched, ${counts.rejected} rejected, ${counts.alerts} alerts`,
);
console.log(
  `sizes: raw avg ${Math.round(counts.rawBytes / counts.enriched)} B, enriched avg ${Math.round(counts.enrichedBytes / counts.enriched)} B`,
);
console.log(`rounds: ${rounds}, node ${process.version}, single thread`);
console.log(`baseline  JSON.parse + JSON.stringify : ${fmt(median(baselineRates))} msg/s (median)`);
console.log(`pipeline  parse..enrich..serialize   : ${fmt(median(pipelineRates))} msg/s (median)`);
console.log(
  `ratio pipeline/baseline (median of per-round ratios): ${ratio.toFixed(3)}  target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'}`,
);
if (sink === 0) console.log('(no output produced)');
