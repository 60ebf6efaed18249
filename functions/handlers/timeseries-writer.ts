/**
 * Time-series writer: records of `iot.enriched` -> points -> the time-series sink (Timestream in AWS,
 * DuckDB locally). Writes are idempotent on (device, measure, time), so the at-least-once delivery of
 * the event source never stores a point twice. A record that is not an enriched message (which the
 * enrich stage never produces) is reported as failed and ends in the DLQ after its retries.
 */
import type { EnrichedMessage } from '../core/contract/messages.js';
import { type TimeSeriesPoint, toTimeSeriesPoints } from '../core/timeseries.js';
import type { KafkaBatchResponse, KafkaEvent, KafkaEventRecord } from '../ports/stream.js';
import type { MessagePointKey, TimeseriesSink } from '../ports/timeseries.js';
import { eachRecord, failures, recordValue } from './kafka-records.js';

export interface TimeseriesWriterDependencies<Note = never> {
  readonly sink: TimeseriesSink;
  /**
   * What to keep of each message written, taken as the message is parsed: keep it small. The parsed
   * messages are let go once the sink has them, because a batch of them held across the write (a
   * DuckDB group commit, locally) doubled the garbage collection of the local time-series worker
   * under `npm run bench:e2e`.
   */
  readonly note?: (message: EnrichedMessage, points: number) => Note;
  /** Told once the batch's points are stored, with the note of every message written. */
  readonly onWritten?: (notes: Note[]) => void;
}

/** A batch parsed: its points, the messages that have some, the callers' notes, the failed records. */
interface ParsedBatch<Note> {
  readonly points: TimeSeriesPoint[];
  /** For sinks that write per message (Timestream's multi-measure records); let go once written. */
  messages: EnrichedMessage[] | undefined;
  readonly notes: Note[];
  readonly failed: KafkaEventRecord[];
  /** Data operations (issue 16): replayed messages, whose points replace what is stored for them. */
  readonly replayed: { points: TimeSeriesPoint[]; keys: MessagePointKey[]; messages: EnrichedMessage[] };
}

export function createTimeseriesWriterHandler<Note = never>(
  dependencies: TimeseriesWriterDependencies<Note>,
) {
  const { sink, note, onWritten } = dependencies;

  const parse = (event: KafkaEvent): ParsedBatch<Note> => {
    const batch: ParsedBatch<Note> = {
      points: [],
      messages: [],
      notes: [],
      failed: [],
      replayed: { points: [], keys: [], messages: [] },
    };
    for (const record of eachRecord(event)) {
      let message: EnrichedMessage;
      let messagePoints: TimeSeriesPoint[];
      try {
        message = JSON.parse(recordValue(record).toString('utf8')) as EnrichedMessage;
        messagePoints = toTimeSeriesPoints(message);
      } catch {
        batch.failed.push(record);
        continue;
      }
      // Optional chaining: a record that is no enriched message still reaches toTimeSeriesPoints' checks.
      if (message.enrichment_info?.replay_id !== undefined && sink.rewrite) {
        batch.replayed.keys.push(messagePointKey(message));
        batch.replayed.messages.push(message); // the DynamoDB sink's retention, Timestream's records
        for (const point of messagePoints) batch.replayed.points.push(point);
        if (note) batch.notes.push(note(message, messagePoints.length));
        continue;
      }
      for (const point of messagePoints) batch.points.push(point);
      if (messagePoints.length > 0) batch.messages?.push(message);
      if (note) batch.notes.push(note(message, messagePoints.length));
    }
    return batch;
  };

  const store = async (batch: ParsedBatch<Note>): Promise<KafkaBatchResponse> => {
    if (batch.points.length > 0) {
      const written = sink.write(batch.points, batch.messages ?? []);
      batch.messages = undefined; // not held while the write is awaited (see `note`)
      await written;
    }
    const { replayed } = batch;
    if (replayed.keys.length > 0) await sink.rewrite?.(replayed.points, replayed.keys, replayed.messages);
    onWritten?.(batch.notes);
    return failures(batch.failed);
  };

  // Not an async function: the event (every record, base64) is let go once parsed, not held while
  // the write is awaited.
  return (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    let batch: ParsedBatch<Note>;
    try {
      batch = parse(event);
    } catch (error) {
      return Promise.reject(error);
    }
    return store(batch);
  };
}

/** The key of a message's points: its device, kind and time (a trend window's start). */
export function messagePointKey(message: EnrichedMessage): MessagePointKey {
  return {
    deviceId: message.device_id,
    kind: message.event_type,
    time: Date.parse(message.event_type === 'trends' ? message.window.start : message.timestamp),
  };
}
