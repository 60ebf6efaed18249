/**
 * Test fixture (run as a child process by crash.test.ts): sends to a local log and commits offsets
 * until it is killed, printing `sent <n>` after each send resolved and `durable <n>`, a lower bound of the
 * offsets its consumer group committed durably.
 */
import { TOPICS } from '../../functions/shared/stream.js';
import { LocalLog } from './local-log.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-writer.fixture.ts <dataDir>');
const log = new LocalLog({ dataDir });
await log.open();
// When a partition's next batch arrives, its previous batches are committed durably: the first offset
// of each partition's records in an event is a lower bound of what the group has on disk.
const durable = new Map<number, number>();
log.subscribe({
  topic: TOPICS.raw,
  group: 'crash-test',
  name: 'crash-test',
  batchWindowMs: 1,
  handler: async (event) => {
    for (const records of Object.values(event.records)) {
      const first = records[0];
      if (first) durable.set(first.partition, Math.max(durable.get(first.partition) ?? 0, first.offset));
    }
    const total = [...durable.values()].reduce((sum, offset) => sum + offset, 0);
    process.stdout.write(`durable ${total}\n`);
    return undefined;
  },
});
for (let i = 0; ; i += 10) {
  await log.send(
    TOPICS.raw,
    Array.from({ length: 10 }, (_, j) => ({ key: `dev-${(i + j) % 7}`, value: Buffer.from(String(i + j)) })),
  );
  process.stdout.write(`sent ${i + 10}\n`);
}
