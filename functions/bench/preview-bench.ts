/**
 * Preview benchmark (issue 14): the API handler's two dry runs, in process, over the seed registry.
 * `POST /api/preview` on each payload of the core benchmark's corpus (latency percentiles per call),
 * and `POST /api/device-types/smart_breaker/preview` replaying a full inspector (500 kept samples of
 * each stage, the most a draft preview reads), the time of the whole call.
 * Usage: node --import tsx functions/bench/preview-bench.ts [--calls 2000] [--drafts 20]
 */
import { parseArgs } from 'node:util';
import { seedRegistry } from '../../registry-data/index.js';
import { MAX_SAMPLE_QUERY } from '../adapters/dynamodb/message-samples.js';
import { compileRegistry } from '../core/registry.js';
import { type ApiDependencies, createApiHandler } from '../handlers/api/index.js';
import { apiEvent, emptyAlertStore, seedRegistryFake } from '../handlers/api/test-support.js';
import { generateCorpus } from './corpus.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '2000' }, drafts: { type: 'string', default: '20' } },
});
const calls = Number(values.calls);
const drafts = Number(values.drafts);

const corpus = generateCorpus(Math.max(calls, MAX_SAMPLE_QUERY));
const registry = compileRegistry(seedRegistry);
/** As the runtimes keep a raw record: its JSON, or its bytes in base64 (the corpus holds bad payloads). */
function parseOrBase64(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return { payload_base64: Buffer.from(payload).toString('base64') };
  }
}
// The inspector's kept samples: raw payloads of the corpus (the draft preview replays them).
const kept = corpus.slice(0, MAX_SAMPLE_QUERY).map((message, i) => ({
  stage: 'raw',
  id: `raw.0.${i}`,
  time: new Date(Date.now() - i * 1000).toISOString(),
  body: parseOrBase64(message.payload),
}));
const unused = async (): Promise<never> => {
  throw new Error('not used by the previews');
};
const api = createApiHandler({
  version: 'bench',
  registry: seedRegistryFake(),
  alerts: emptyAlertStore(),
  devices: { list: unused, get: unused },
  timeseries: {} as ApiDependencies['timeseries'],
  messages: { recent: async (stage) => (stage === 'raw' ? kept : []) },
  stats: unused,
  health: async () => ({}),
  preview: { registry: async () => registry },
});

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

const payloadTimes: number[] = [];
for (let i = 0; i < calls; i++) {
  const message = corpus[i % corpus.length];
  const body = JSON.stringify({ topic: message?.topic, payload: message?.payload });
  const started = performance.now();
  const answer = await api(
    apiEvent({ method: 'POST', path: '/api/preview', body, headers: { 'content-type': 'application/json' } }),
  );
  payloadTimes.push(performance.now() - started);
  if (answer.statusCode !== 200) throw new Error(`preview answered ${answer.statusCode}: ${answer.body}`);
}

const definition = seedRegistry.deviceTypes.find((t) => t.typeId === 'smart_breaker');
const draftBody = JSON.stringify({
  ...definition,
  measurements: {
    ...definition?.measurements,
    temperature: { ...(definition?.measurements.temperature ?? {}), validRange: { min: -40, max: 60 } },
  },
});
const draftTimes: number[] = [];
let changed = 0;
for (let i = 0; i < drafts; i++) {
  const started = performance.now();
  const answer = await api(
    apiEvent({
      method: 'POST',
      path: '/api/device-types/smart_breaker/preview',
      body: draftBody,
      headers: { 'content-type': 'application/json' },
    }),
  );
  draftTimes.push(performance.now() - started);
  if (answer.statusCode !== 200)
    throw new Error(`draft preview answered ${answer.statusCode}: ${answer.body}`);
  changed = (JSON.parse(answer.body ?? '{}') as { changed: number }).changed;
}

payloadTimes.sort((a, b) => a - b);
draftTimes.sort((a, b) => a - b);
const ms = (value: number) => `${value.toFixed(2)} ms`;
console.log(
  `POST /api/preview, ${calls} calls: p50 ${ms(percentile(payloadTimes, 50))}, p99 ${ms(percentile(payloadTimes, 99))}`,
);
console.log(
  `POST /api/device-types/smart_breaker/preview, ${MAX_SAMPLE_QUERY} kept messages, ${drafts} calls: ` +
    `p50 ${ms(percentile(draftTimes, 50))}, max ${ms(draftTimes.at(-1) ?? Number.NaN)} (${changed} would change verdict)`,
);
