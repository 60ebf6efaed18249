/**
 * Time-series writer: records of `iot.enriched` -> points -> the time-series sink (Timestream in AWS,
 * DuckDB locally). Writes are idempotent on (device, measure, time), so the at-least-once delivery of
 * the event source never stores a point twice. A record that is not an enriched message (which the
 * enrich stage never produces) is reported as failed and ends in the DLQ after its retries.
 */
import type { EnrichedMessage } from '../core/contract/messages.js';
import { type TimeSeriesPoint, toTimeSeriesPoints } from '../core/timeseries.js';
import type { KafkaBatchResponse, KafkaEvent, KafkaEventRecord } from '../ports/stream.js';
import type { TimeseriesSink } from '../ports/timeseries.js';
import { eachRecord, failures, recordValue } from './kafka-records.js';

export interface TimeseriesWriterDependencies {
  readonly sink: TimeseriesSink;
  /** Told about every enriched message written, for device bookkeeping and the inspector. */
  readonly onWritten?: (message: EnrichedMessage, points: number) => void;
}

export function createTimeseriesWriterHandler(dependencies: TimeseriesWriterDependencies) {
  return async (event: KafkaEvent): Promise<KafkaBatchResponse> => {
    const points: TimeSeriesPoint[] = [];
    const written: { message: EnrichedMessage; points: number }[] = [];
    const failed: KafkaEventRecord[] = [];
    for (const record of eachRecord(event)) {
      try {
        const message = JSON.parse(recordValue(record).toString('utf8')) as EnrichedMessage;
        const messagePoints = toTimeSeriesPoints(message);
        for (const point of messagePoints) points.push(point);
        written.push({ message, points: messagePoints.length });
      } catch {
        failed.push(record);
      }
    }
    if (points.length > 0)
      await dependencies.sink.write(
        points,
        written.filter((entry) => entry.points > 0).map((entry) => entry.message),
      );
    if (dependencies.onWritten)
      for (const { message, points: count } of written) dependencies.onWritten(message, count);
    return failures(failed);
  };
}
