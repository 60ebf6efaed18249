/**
 * The stream the local runtime runs on: the local log (default) or a real Kafka cluster
 * (`--kafka-brokers`), behind one small interface, so the runtime wires the same handlers either way.
 */
import { join } from 'node:path';
import { localLogRangeReader } from './data-ops/log-range-reader.js';
import { connectKafkaStream } from './kafka/index.js';
import { LocalLog, TailSampler } from './log/index.js';
import type { PipelineStream } from './pipeline-stream.js';

export type { PipelineStream, StreamConsumer, StreamConsumerSpec } from './pipeline-stream.js';

/** Retention of the local log per partition (see LocalLogOptions). */
export interface LogRetention {
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
}

export async function openLocalLogStream(
  dataDir: string,
  warn: (message: string) => void,
  retention: LogRetention = {},
): Promise<PipelineStream> {
  const stream = new LocalLog({ dataDir: join(dataDir, 'log'), onWarning: warn, ...retention });
  await stream.open();
  return {
    description: `local log in ${join(dataDir, 'log')}`,
    producer: stream,
    subscribe: async (spec) => stream.subscribe(spec),
    sampleNewest: (spec) => new TailSampler(stream, spec),
    endOffsetTotal: (topic) => stream.endOffsets(topic).reduce((a, b) => a + b, 0),
    rangeReader: localLogRangeReader(stream),
    close: () => stream.close(),
  };
}

export async function openKafkaStream(
  brokers: readonly string[],
  warn: (message: string) => void,
): Promise<PipelineStream> {
  return connectKafkaStream({ brokers, onWarning: warn });
}
