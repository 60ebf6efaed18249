/**
 * `--kafka-brokers`: the pipeline on a real Kafka cluster, through the AWS runtime's KafkaJS producer
 * (functions/adapters/kafka) and this folder's consumer groups. The topics are created (or grown) from
 * the shared declarations on start; their record totals for the status line and `/api/stats`, and the
 * consumers' lag, come from the cluster's high watermarks, refreshed twice a second.
 */
import type { Admin, Kafka } from 'kafkajs';
import { ensureTopics } from '../../functions/adapters/kafka/admin.js';
import { createKafka } from '../../functions/adapters/kafka/client.js';
import { KafkaStreamProducer } from '../../functions/adapters/kafka/producer.js';
import { kafkaRangeReader } from '../../functions/adapters/kafka/range-reader.js';
import { TOPIC_PARTITIONS } from '../../functions/shared/stream.js';
import type { PipelineStream } from '../pipeline-stream.js';
import { KafkaGroupConsumer } from './consumer.js';

export const LOCAL_KAFKA_CLIENT_ID = 'iot-cloud-local';
// The record totals behind the status line and /api/stats (bench:e2e waits on them): four ListOffsets
// round trips, cheap enough twice a second.
const OFFSETS_REFRESH_MS = 500;
/** How long a start waits for the topics it just created to answer offset requests. */
const NEW_TOPIC_LEADERS_MS = 15_000;

export interface KafkaStreamOptions {
  readonly brokers: readonly string[];
  readonly onWarning: (message: string) => void;
  /** Tests pass a mocked client. */
  readonly kafka?: Pick<Kafka, 'admin' | 'producer' | 'consumer'>;
}

/** Each pipeline topic's high watermark per partition, as the cluster answers them now. */
async function highWatermarks(admin: Admin): Promise<Map<string, Map<number, number>>> {
  const byTopic = new Map<string, Map<number, number>>();
  for (const topic of Object.keys(TOPIC_PARTITIONS)) {
    const partitions = await admin.fetchTopicOffsets(topic);
    byTopic.set(topic, new Map(partitions.map((p) => [p.partition, Number(p.high)])));
  }
  return byTopic;
}

const sumOf = (partitions: ReadonlyMap<number, number> | undefined) =>
  [...(partitions?.values() ?? [])].reduce((sum, high) => sum + high, 0);

/**
 * Retries `task` while it fails with an error KafkaJS marks retriable, up to `withinMs`. A topic just
 * created answers ListOffsets with NOT_LEADER_OR_FOLLOWER until its leader has taken over (seen on
 * Apache Kafka 4.4 within milliseconds of CreateTopics returning), and KafkaJS's fetchTopicOffsets
 * gives up at once on any error but an unknown topic.
 */
export async function retryRetriable<T>(task: () => Promise<T>, withinMs: number, pauseMs = 200): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await task();
    } catch (error) {
      if ((error as { retriable?: unknown }).retriable !== true || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

export async function connectKafkaStream(options: KafkaStreamOptions): Promise<PipelineStream> {
  const kafka = options.kafka ?? createKafka({ brokers: options.brokers, clientId: LOCAL_KAFKA_CLIENT_ID });
  const admin = kafka.admin();
  const producer = new KafkaStreamProducer({ kafka });
  const consumers: KafkaGroupConsumer[] = [];
  let watermarks = new Map<string, Map<number, number>>();
  let refresh: NodeJS.Timeout | undefined;
  try {
    await admin.connect();
    await ensureTopics(
      admin,
      Object.entries(TOPIC_PARTITIONS).map(([name, partitions]) => ({ name, partitions })),
    );
    watermarks = await retryRetriable(() => highWatermarks(admin), NEW_TOPIC_LEADERS_MS);
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw new Error(
      `Kafka at ${options.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let warned = false;
  let refreshing = false;
  refresh = setInterval(() => {
    // A slow cluster must not pile up refreshes: one at a time.
    if (refreshing) return;
    refreshing = true;
    highWatermarks(admin)
      .then(
        (next) => {
          watermarks = next;
          warned = false;
        },
        (error: unknown) => {
          if (!warned) options.onWarning(`Kafka offsets could not be read: ${String(error)}`);
          warned = true;
        },
      )
      .finally(() => {
        refreshing = false;
      });
  }, OFFSETS_REFRESH_MS);
  const source = {
    // A self-managed cluster has no ARN; the event keeps the MSK shape with a made-up one.
    eventSourceArn: `arn:aws:kafka:local:000000000000:cluster/${LOCAL_KAFKA_CLIENT_ID}/kafka`,
    bootstrapServers: options.brokers.join(','),
  };
  return {
    description: `Kafka at ${options.brokers.join(',')}`,
    producer,
    subscribe: async (spec) => {
      const consumer = new KafkaGroupConsumer({
        kafka,
        producer,
        source,
        topic: spec.topic,
        group: spec.group,
        name: spec.name,
        handler: spec.handler,
        batchSize: spec.batchSize,
        ...(spec.dlqTopic === false ? { dlqTopic: false as const } : {}),
        onError: (error, context) => spec.onError(error, context),
        // A consumer learns a partition's high watermark only from what it fetches: between fetches its
        // lag would read 0 with records waiting (bench:e2e then counted points too early).
        knownHighWatermark: (partition) => watermarks.get(spec.topic)?.get(partition),
      });
      consumers.push(consumer);
      return consumer.start();
    },
    endOffsetTotal: (topic) => sumOf(watermarks.get(topic)),
    // Data operations (issue 16): records by time through ListOffsets by timestamp.
    rangeReader: kafkaRangeReader({ kafka }),
    close: async () => {
      if (refresh) clearInterval(refresh);
      refresh = undefined;
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
