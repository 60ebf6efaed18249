/**
 * What the local runtime keeps of each enriched message the time-series writer stores (device
 * bookkeeping, latency), for both local sinks: DuckDB on its worker, the DynamoDB sink on the main thread.
 */
import type { EnrichedMessage } from '../../functions/core/contract/messages.js';
import { type WatchedReadings, watchedReadingsIn } from '../../functions/core/no-data.js';
import type { WrittenSummary } from './worker-protocol.js';

/** A written message's summary, with the device's own time (telemetry) for the latency. */
export type WrittenNote = Omit<WrittenSummary, 'latencyMs'> & { readonly deviceTime?: number };

/**
 * Taken as the message is parsed: small, so the message itself can be let go. `watched`: the readings
 * no-data rules watch (issue 15), of which the note keeps those the message carried.
 */
export const writtenNote = (message: EnrichedMessage, watched: WatchedReadings): WrittenNote => {
  const readings = watchedReadingsIn(message, watched);
  return {
    deviceId: message.device_id,
    deviceType: message.device_metadata.device_type,
    receivedAt: Date.parse(message.enrichment_info.received_at),
    ...(message.event_type === 'telemetry' ? { deviceTime: Date.parse(message.timestamp) } : {}),
    ...(message.event_type === 'status' ? { online: message.status.online } : {}),
    ...(readings.length > 0 ? { readings } : {}),
  };
};

/** The summaries once the points are stored at `storedAt`: the latency is device clock to stored. */
export const writtenSummaries = (notes: readonly WrittenNote[], storedAt: number): WrittenSummary[] =>
  notes.map(({ deviceTime, ...summary }) =>
    deviceTime === undefined ? summary : { ...summary, latencyMs: storedAt - deviceTime },
  );
