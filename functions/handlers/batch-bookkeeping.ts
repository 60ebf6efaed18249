/**
 * The bookkeeping after a batch of the enrich stage, in one place for both runtimes: device records
 * (one update per device per batch), inspector samples and the pipeline-stats counters, written
 * through ports (functions/ports/registry.ts) so the Lambda entry (DynamoDB) and the local runtime
 * (dynalite on its write worker) differ only in what they pass in.
 *
 * Alerts are what operators act on: a failed alert write fails the batch (the caller's retry; every
 * write is idempotent). Devices, samples and stats are views: their failures are counted and reported,
 * never retried.
 */
import { createHash } from 'node:crypto';
import { isDeviceId, MESSAGE_ID_PATTERN } from '../core/contract/identifiers.js';
import type { Alert, EnrichedMessage } from '../core/contract/messages.js';
import { type WatchedReadings, watchedReadingsIn } from '../core/no-data.js';
import {
  type AlertStore,
  type DeviceStore,
  type MessageSampleInput,
  type MessageSampleStore,
  type MessageStage,
  type SeenUpdate,
  ValidationError,
} from '../ports/registry.js';
import type { KafkaEvent, StreamRecord } from '../ports/stream.js';
import { forEachLimited } from '../shared/concurrency.js';
import type { EnrichOutcomeSummary } from './enrich.js';
import { eachRecord, recordValue } from './kafka-records.js';

/**
 * Inspector samples per stage per batch: the inspector shows the latest few hundred, not every message.
 * Issue 14: nothing flagged is out of sight, so enriched messages whose verdict is not GOOD and every
 * dead letter are kept besides these (the sample store bounds each device's samples).
 */
export const SAMPLES_PER_BATCH: Readonly<Record<MessageStage, number>> = {
  raw: 5,
  enriched: 5,
  dlq: 25,
  alerts: 25,
};
/** Sample writes in flight at once: a batch of rejections may hold thousands. */
const SAMPLE_WRITE_CONCURRENCY = 16;

/**
 * Device bookkeeping gathered over a batch (or, locally, over a few seconds): per device its newest
 * receive time, how many messages, the online flag of its newest status, and (issue 15) the newest
 * receive time of each watched reading its messages carried (watchedReadingsIn, core/no-data.ts).
 */
export class DeviceSeenBatch {
  private readonly byDevice = new Map<
    string,
    { deviceType: string; time: number; count: number; online?: boolean; readings?: Map<string, number> }
  >();

  get size(): number {
    return this.byDevice.size;
  }

  /**
   * One message of `deviceId`; `online` is set by status messages only; `readings`: the watched ones
   * it carried (each keeps the newest time it was carried at).
   */
  add(
    deviceId: string,
    deviceType: string,
    time: number,
    online?: boolean,
    readings?: readonly string[],
  ): void {
    const entry = this.byDevice.get(deviceId);
    const newest = entry === undefined || time >= entry.time;
    const latestOnline = online !== undefined && newest ? online : entry?.online;
    let seen = entry?.readings;
    if (readings && readings.length > 0) {
      seen ??= new Map();
      for (const path of readings) seen.set(path, Math.max(seen.get(path) ?? 0, time));
    }
    this.byDevice.set(deviceId, {
      deviceType,
      time: Math.max(entry?.time ?? 0, time),
      count: (entry?.count ?? 0) + 1,
      ...(latestOnline === undefined ? {} : { online: latestOnline }),
      ...(seen ? { readings: seen } : {}),
    });
  }

  /** The updates gathered so far, one per device; the batch starts empty again. */
  drain(): SeenUpdate[] {
    const updates = [...this.byDevice].map(([deviceId, { readings, ...update }]) => ({
      deviceId,
      ...update,
      ...(readings ? { readingsSeen: Object.fromEntries(readings) } : {}),
    }));
    this.byDevice.clear();
    return updates;
  }
}

/** The devices of a batch of enriched messages, one update each, with the watched readings seen. */
export function deviceUpdatesOf(
  messages: readonly EnrichedMessage[],
  watched: WatchedReadings,
): SeenUpdate[] {
  const batch = new DeviceSeenBatch();
  for (const message of messages)
    batch.add(
      message.device_id,
      message.device_metadata.device_type,
      Date.parse(message.enrichment_info.received_at),
      message.event_type === 'status' ? message.status.online : undefined,
      watchedReadingsIn(message, watched),
    );
  return batch.drain();
}

/** The ports the post-batch bookkeeping writes through. */
export interface BatchBookkeepingPorts {
  readonly devices: Pick<DeviceStore, 'recordSeen'>;
  readonly samples: Pick<MessageSampleStore, 'add'>;
  readonly alerts: Pick<AlertStore, 'add'>;
  /** The pipeline-stats counters of the batch's outcomes. */
  readonly stats: { recordOutcomes(outcomes: readonly EnrichOutcomeSummary[]): Promise<void> };
  /** Told when the alert store refuses alerts as invalid: they stay in iot.alerts. */
  readonly onAlertsRefused: (error: ValidationError, count: number) => void;
}

/** What one enrich batch produced and consumed. */
export interface EnrichBatch {
  readonly event: KafkaEvent;
  readonly outcomes: readonly EnrichOutcomeSummary[];
  readonly enriched: readonly EnrichedMessage[];
  readonly alerts: readonly Alert[];
  readonly deadLetters: readonly StreamRecord[];
  /** Issue 15: the readings recorded on each device record (watchedReadingsOf of the batch's registry). */
  readonly watchedReadings: WatchedReadings;
}

export interface BookkeepingResult {
  /** View writes (devices, samples, stats) that failed. */
  readonly failedViews: number;
  readonly firstFailure?: string;
}

/** Writes the batch's alerts (throws on a failure but a refusal), then its views (never throws). */
export async function recordEnrichBatch(
  ports: BatchBookkeepingPorts,
  batch: EnrichBatch,
): Promise<BookkeepingResult> {
  // An alert the store refuses as invalid would be refused on every retry: it stays in iot.alerts
  // and is reported, rather than blocking the partition.
  if (batch.alerts.length > 0) {
    await ports.alerts.add(batch.alerts).catch((error: unknown) => {
      if (!(error instanceof ValidationError)) throw error;
      ports.onAlertsRefused(error, batch.alerts.length);
    });
  }
  const views = await Promise.allSettled([
    ports.stats.recordOutcomes(batch.outcomes),
    ...deviceUpdatesOf(batch.enriched, batch.watchedReadings).map((update) =>
      ports.devices.recordSeen(update),
    ),
    forEachLimited(samplesOf(batch), SAMPLE_WRITE_CONCURRENCY, ([stage, sample]) =>
      ports.samples.add(stage, sample),
    ),
  ]);
  const failed = views.filter((result) => result.status === 'rejected');
  return {
    failedViews: failed.length,
    ...(failed.length > 0 ? { firstFailure: String((failed[0] as PromiseRejectedResult).reason) } : {}),
  };
}

/** A sample id from any text: the id alphabet, at most 128 characters. */
function sampleId(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 128);
  return MESSAGE_ID_PATTERN.test(cleaned)
    ? cleaned
    : `h${createHash('sha256').update(text).digest('hex').slice(0, 40)}`;
}

const decodeKey = (key: string | undefined) =>
  key ? Buffer.from(key, 'base64').toString('utf8') : undefined;

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The inspector samples of a batch: the first few of each stage, and everything flagged (issue 14). */
export function samplesOf(batch: EnrichBatch): [MessageStage, MessageSampleInput][] {
  return [
    ...rawSamples(batch.event),
    ...enrichedSamples(batch.enriched),
    ...deadLetterSamples(batch.deadLetters),
    ...batch.alerts.slice(0, SAMPLES_PER_BATCH.alerts).map((alert): [MessageStage, MessageSampleInput] => [
      'alerts',
      {
        id: sampleId(alert.alert_id),
        time: Date.parse(alert.raised_at),
        deviceId: alert.device_id,
        body: alert,
      },
    ]),
  ];
}

function rawSamples(event: KafkaEvent): [MessageStage, MessageSampleInput][] {
  const samples: [MessageStage, MessageSampleInput][] = [];
  for (const record of eachRecord(event)) {
    if (samples.length >= SAMPLES_PER_BATCH.raw) break;
    const key = decodeKey(record.key);
    samples.push([
      'raw',
      {
        id: sampleId(`raw.${record.partition}.${record.offset}`),
        time: record.timestamp,
        ...(key && isDeviceId(key) ? { deviceId: key } : {}),
        body: parseJson(recordValue(record)) ?? { payload_base64: record.value },
      },
    ]);
  }
  return samples;
}

/** The first few of the batch, and every flagged one (issue 14). */
function enrichedSamples(enriched: readonly EnrichedMessage[]): [MessageStage, MessageSampleInput][] {
  return enriched
    .filter((message, index) => index < SAMPLES_PER_BATCH.enriched || message.data_quality.verdict !== 'GOOD')
    .map((message) => [
      'enriched',
      {
        id: sampleId(message.enrichment_info.message_id),
        time: Date.parse(message.enrichment_info.received_at),
        deviceId: message.device_id,
        body: message,
      },
    ]);
}

/** Every dead letter (issue 14); SAMPLES_PER_BATCH.dlq no longer caps them. */
function deadLetterSamples(deadLetters: readonly StreamRecord[]): [MessageStage, MessageSampleInput][] {
  return deadLetters.map((letter) => {
    const body = parseJson(letter.value) as { failed_at?: string } | undefined;
    return [
      'dlq',
      {
        id: `dlq.${createHash('sha256').update(letter.value).digest('hex').slice(0, 32)}`,
        time: Date.parse(body?.failed_at ?? '') || (letter.timestamp ?? Date.now()),
        ...(isDeviceId(letter.key) && letter.key !== 'unknown' ? { deviceId: letter.key } : {}),
        body,
      },
    ];
  });
}
