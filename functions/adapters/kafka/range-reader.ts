/**
 * Data operations (issue 16) on Kafka: a topic's retained records by time, for triage, redrive and
 * replay. The bounds come from ListOffsets by timestamp (KafkaJS `fetchTopicOffsetsByTimestamp`: per
 * partition the earliest offset whose timestamp is at or after the time, the end offset when none is),
 * taken once at the start, so records appended meanwhile are not visited. KafkaJS consumers need a
 * group: each read uses a throwaway group (`{groupPrefix}-{uuid}`) whose offsets are set to the
 * range's start before it joins; it commits nothing more, and stops once each partition has reached
 * its end.
 *
 * In AWS its IAM needs, beyond Connect: DescribeTopic and ReadData on the topic, DescribeGroup and
 * AlterGroup on `group/{cluster}/{groupPrefix}-*` (kafka-access.ts grants them).
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { RetainedRecord, TopicRangeReader } from '../../ports/data-ops.js';

export const DATA_OPS_GROUP_PREFIX = 'iot-cloud-data-ops';

export interface KafkaRangeReaderOptions {
  readonly kafka: Pick<Kafka, 'admin' | 'consumer'>;
  readonly groupPrefix?: string;
  /** Longest a read may take before it fails (a partition that never delivers its end). */
  readonly timeoutMs?: number;
}

const toRetained = (topic: string, partition: number, message: KafkaMessage): RetainedRecord => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = (Array.isArray(value) ? value[0] : value)?.toString() ?? '';
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    ...(message.key ? { key: message.key.toString() } : {}),
    value: message.value ?? Buffer.alloc(0),
    headers,
  };
};

export function kafkaRangeReader(options: KafkaRangeReaderOptions): TopicRangeReader {
  const { kafka } = options;
  const groupPrefix = options.groupPrefix ?? DATA_OPS_GROUP_PREFIX;
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  return {
    async readByTime(topic, range, visit) {
      const admin = kafka.admin();
      await admin.connect();
      const pending = new Map<number, { start: number; end: number }>();
      const groupId = `${groupPrefix}-${randomUUID()}`;
      try {
        const [starts, ends] = await Promise.all([
          admin.fetchTopicOffsetsByTimestamp(topic, range.from),
          admin.fetchTopicOffsetsByTimestamp(topic, range.to),
        ]);
        const endOf = new Map(ends.map((p) => [p.partition, Number(p.offset)]));
        for (const { partition, offset } of starts) {
          const start = Number(offset);
          const end = endOf.get(partition) ?? start;
          if (start < end) pending.set(partition, { start, end });
        }
        // The fresh group starts where the range does: its offsets are set before any member joins
        // (KafkaJS's consumer.seek needs a running consumer group, and would race the first fetch).
        if (pending.size > 0) {
          await admin.setOffsets({
            groupId,
            topic,
            partitions: [...pending].map(([partition, { start }]) => ({ partition, offset: String(start) })),
          });
        }
      } finally {
        await admin.disconnect();
      }
      if (pending.size === 0) return;

      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
      let finish: () => void = () => undefined;
      let fail: (error: unknown) => void = () => undefined;
      const finished = new Promise<void>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
      let over = false;
      const timer = setTimeout(
        () => fail(new Error(`reading ${topic} by time did not finish within ${timeoutMs} ms`)),
        timeoutMs,
      );
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic] });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, heartbeat }) => {
            const bounds = pending.get(batch.partition);
            if (over || !bounds) return;
            const records: RetainedRecord[] = [];
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset < bounds.start) continue;
              if (offset >= bounds.end) break;
              records.push(toRetained(topic, batch.partition, message));
            }
            if (records.length > 0) {
              try {
                if ((await visit(records)) === false) {
                  over = true;
                  finish();
                  return;
                }
              } catch (error) {
                over = true;
                fail(error);
                return;
              }
            }
            // The batch's last offset (or the high watermark's predecessor): a gap at the end, such as
            // a transaction marker, still ends the partition.
            if (Number(batch.lastOffset()) >= bounds.end - 1) {
              pending.delete(batch.partition);
              consumer.pause([{ topic, partitions: [batch.partition] }]);
              if (pending.size === 0) {
                over = true;
                finish();
              }
            }
            await heartbeat();
          },
        });
        await finished;
      } finally {
        clearTimeout(timer);
        await consumer.disconnect();
      }
    },
  };
}
