/**
 * Dead-letter records: the reason, where the message came from, and the original bytes unchanged
 * (base64), so nothing is lost and a fixed message can be replayed.
 */
import { CONTRACT_VERSION, type DlqRecord, type PipelineFailureReason } from './contract/messages.js';
import type { Rejection } from './parse.js';

export interface DlqSource {
  readonly mqttTopic?: string;
  readonly kafkaTopic?: string;
  readonly partition?: number;
  readonly offset?: string;
}

/** A stage's own reason for giving up on a record, in the shape of a core rejection. */
export interface PipelineFailure {
  readonly reason: PipelineFailureReason;
  readonly detail: string;
  readonly path?: string;
  readonly deviceId?: string;
}

export interface DlqInput {
  readonly rejection: Rejection | PipelineFailure;
  readonly original: string | Uint8Array;
  readonly receivedAt: number;
  readonly failedAt: number;
  /** Which stage gave up: `enrich`, `timeseries-writer`, ... */
  readonly stage: string;
  readonly source?: DlqSource;
  /** Redrives of the message so far (issue 16), carried so a repeated failure keeps its count. */
  readonly redriveCount?: number;
}

export function toDlqRecord(input: DlqInput): DlqRecord {
  const bytes =
    typeof input.original === 'string'
      ? Buffer.from(input.original, 'utf8')
      : Buffer.from(input.original.buffer, input.original.byteOffset, input.original.byteLength);
  const record: DlqRecord = {
    contract_version: CONTRACT_VERSION,
    reason: input.rejection.reason,
    detail: input.rejection.detail.slice(0, 1024),
    received_at: new Date(input.receivedAt).toISOString(),
    failed_at: new Date(input.failedAt).toISOString(),
    stage: input.stage,
    original_base64: bytes.toString('base64'),
    original_size_bytes: bytes.byteLength,
  };
  if (input.rejection.path !== undefined) record.path = input.rejection.path.slice(0, 256);
  if (input.rejection.deviceId !== undefined) record.device_id = input.rejection.deviceId;
  if (input.redriveCount !== undefined) record.redrive_count = input.redriveCount;
  if (input.source) {
    const source: NonNullable<DlqRecord['source']> = {};
    if (input.source.mqttTopic !== undefined) source.mqtt_topic = input.source.mqttTopic.slice(0, 256);
    if (input.source.kafkaTopic !== undefined) source.kafka_topic = input.source.kafkaTopic;
    if (input.source.partition !== undefined) source.partition = input.source.partition;
    if (input.source.offset !== undefined) source.offset = input.source.offset;
    record.source = source;
  }
  return record;
}
