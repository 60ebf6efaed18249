/**
 * Data operations (issue 16) on the local log: a topic's retained records by time, found with the
 * log's lookup by timestamp (LocalLog.offsetForTimestamp), read partition by partition in batches.
 */
import type { RetainedRecord, TopicRangeReader } from '../../functions/ports/data-ops.js';
import { type LocalLog, OffsetBeforeLogStartError } from '../log/index.js';

const READ_BATCH = 500;

export function localLogRangeReader(log: LocalLog): TopicRangeReader {
  return {
    async readByTime(topic, range, visit) {
      const partitions = log.partitionCount(topic);
      for (let partition = 0; partition < partitions; partition++) {
        const end = await log.offsetForTimestamp(topic, partition, range.to);
        let offset = await log.offsetForTimestamp(topic, partition, range.from);
        while (offset < end) {
          let records: Awaited<ReturnType<LocalLog['read']>>;
          try {
            records = await log.read(topic, partition, offset, Math.min(READ_BATCH, end - offset));
          } catch (error) {
            // Retention deleted the segment meanwhile: what is left starts at the log start.
            if (!(error instanceof OffsetBeforeLogStartError)) throw error;
            offset = log.startOffset(topic, partition);
            continue;
          }
          const last = records.at(-1);
          if (!last) break;
          const retained: RetainedRecord[] = records.map((record) => ({
            topic,
            partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: Object.fromEntries(record.headers),
          }));
          if ((await visit(retained)) === false) return;
          offset = last.offset + 1;
        }
      }
    },
  };
}
