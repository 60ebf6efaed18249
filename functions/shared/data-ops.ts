/**
 * Data operations (issue 16: dead-letter triage, redrive, replay), declared once for the handlers, the
 * API, the local runtime and the CDK stack.
 */
import { TOPICS, type TopicName } from './stream.js';

/** Stream record headers a redrive or a replay adds to the records it sends back to `iot.raw`. */
export const DATA_OPS_HEADERS = {
  /** Redrives of the message so far, 1 on its first redrive: stamped on enrichment_info.redrive_count. */
  redriveCount: 'redrive_count',
  /** The replay that sent the record: enrichment_info.replay_id, and the writer rewrites its points. */
  replayId: 'replay_id',
} as const;

/** Bounds of one operation, so one request cannot occupy the pipeline for hours. */
export const DATA_OPS_LIMITS = {
  /** Longest time range of a triage, a redrive or a replay (the local log keeps a day by default). */
  maxRangeMs: 7 * 24 * 60 * 60 * 1000,
  /** Most dead letters one redrive sends back. */
  maxRedriveMessages: 10_000,
  /** Most raw messages one replay re-runs. */
  maxReplayMessages: 100_000,
  /** Newest examples returned per triage group. */
  examplesPerGroup: 3,
  /** Most dead letters one triage reads (the newest groups are still exact up to there). */
  maxTriageScan: 50_000,
  /** AWS: most on-failure documents (failed batches) one redrive reads from the S3 destination. */
  maxFailedBatches: 2_000,
} as const;

export const REDRIVE_ID_PATTERN = /^rd-[a-z0-9]{8,40}$/;
export const REPLAY_ID_PATTERN = /^rp-[a-z0-9]{8,40}$/;

/**
 * AWS: the data-ops function's timeout (Lambda's longest, 900 s), and so the lease of a replay's lock
 * on its device type: past it, a replay that never finished (its invocation timed out) holds nothing.
 */
export const DATA_OPS_TIMEOUT_SECONDS = 900;

/**
 * AWS: the longest an operation runs (its invocation's timeout). Past it from its start, an operation
 * still stored as running is over: its replay lock is free and its progress reads `interrupted`
 * (functions/handlers/data-ops.ts `settledOperation`). No margin: the operation's start is stamped
 * inside its invocation, so the invocation has ended by then.
 */
export const DATA_OPS_LEASE_MS = DATA_OPS_TIMEOUT_SECONDS * 1000;
// ----- Redrive from the event source mappings' on-failure destination (AWS, issue 16) -----------------

/**
 * Where Lambda writes the on-failure records of event source mappings in an S3 destination:
 * `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`
 * (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html; the Kafka page,
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html, shows the document but not its
 * key). A redrive lists this prefix only, and the data-ops role may read nothing else of the bucket
 * (the Timestream rejection reports share it under another prefix).
 */
export const ON_FAILURE_RECORDS_PREFIX = 'aws/lambda/';

/**
 * The topics whose consumers have an on-failure destination (enrich on iot.raw, the writer on
 * iot.enriched): a failed record goes back to the topic it came from, so its consumer runs it again.
 */
export const ON_FAILURE_REDRIVE_TOPICS: readonly TopicName[] = [TOPICS.raw, TOPICS.enriched];
