import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KafkaEvent, KafkaHandler } from '../../functions/ports/stream.js';
import { TOPICS } from '../../functions/shared/stream.js';
import { LocalLog } from './local-log.js';
import { partitionForKey } from './partitioner.js';
import { TailSampler } from './tail-sampler.js';
import { decode, keyOnPartition, makeTempDir, record, removeDir } from './test-helpers.js';

let dataDir: string;
let log: LocalLog;
const samplers: TailSampler[] = [];

beforeEach(async () => {
  dataDir = await makeTempDir();
  log = new LocalLog({ dataDir, onWarning: () => {} });
  await log.open();
});

afterEach(async () => {
  try {
    for (const sampler of samplers.splice(0)) await sampler.stop();
    await log.close();
  } finally {
    await removeDir(dataDir);
  }
});

const partitions = () => log.endOffsets(TOPICS.raw).length;
const keyOn = (partition: number) => keyOnPartition((key) => partitionForKey(key, partitions()), partition);

function sampler(handler: KafkaHandler, onError?: (error: unknown) => void): TailSampler {
  const created = new TailSampler(log, {
    topic: TOPICS.raw,
    name: 'inspector-raw',
    // The test takes its samples itself (sampleNow); the timer stays out of the way.
    intervalMs: 3_600_000,
    handler,
    ...(onError ? { onError } : {}),
  });
  samplers.push(created);
  return created;
}

/** A sampler whose handler keeps every event it is given. */
function recordingSampler(events: KafkaEvent[]): TailSampler {
  return sampler(async (event) => {
    events.push(event);
    return undefined;
  });
}

const values = (event: KafkaEvent | undefined) =>
  Object.values(event?.records ?? {})
    .flat()
    .map((r) => `${r.partition}@${r.offset}:${decode(r.value)}`);

describe('TailSampler', () => {
  it('hands over the newest record of each partition that grew, as an MSK event, and nothing else', async () => {
    const [a, b] = [keyOn(0), keyOn(1)];
    await log.send(TOPICS.raw, [record(a, 'old')]);
    const events: KafkaEvent[] = [];
    const tail = recordingSampler(events);

    await tail.sampleNow();
    expect(events).toEqual([]); // what was there before the sampler started is history

    await log.send(TOPICS.raw, [record(a, 'a1'), record(a, 'a2'), record(b, 'b1')]);
    await tail.sampleNow();
    expect(events).toHaveLength(1);
    expect(events[0]?.eventSource).toBe('aws:kafka');
    expect(values(events[0]).sort()).toEqual(['0@2:a2', '1@0:b1']);

    await tail.sampleNow();
    expect(events).toHaveLength(1); // nothing new, no call

    await log.send(TOPICS.raw, [record(b, 'b2')]);
    await tail.sampleNow();
    expect(values(events[1])).toEqual(['1@1:b2']);
    expect(tail.statusLine()).toContain('sampled 3');
  });

  it('reports a failing handler and keeps sampling', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const tail = sampler(
      async () => {
        calls++;
        if (calls === 1) throw new Error('sample store down');
        return undefined;
      },
      (error) => errors.push(error),
    );
    await log.send(TOPICS.raw, [record(keyOn(0), 'x')]);
    await tail.sampleNow();
    await log.send(TOPICS.raw, [record(keyOn(0), 'y')]);
    await tail.sampleNow();
    expect(calls).toBe(2);
    expect(errors.map(String)).toEqual(['Error: sample store down']);
    expect(tail.stats()).toEqual({ lag: 0, state: 'running' });
  });

  it('takes no sample once stopped', async () => {
    const events: KafkaEvent[] = [];
    const tail = recordingSampler(events);
    await tail.stop();
    await log.send(TOPICS.raw, [record(keyOn(0), 'late')]);
    await tail.sampleNow();
    expect(events).toEqual([]);
    expect(tail.stats().state).toBe('stopped');
  });
});
