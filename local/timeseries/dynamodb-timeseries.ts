/**
 * `npm start -- --timeseries dynamodb`: the AWS DynamoDB time-series sink over the local dynalite, in
 * place of DuckDB. Its tables are created from TIMESERIES_TABLES; the writer handler runs on the main
 * thread (its work is a few UpdateItem calls per message, served by dynalite on the DynamoDB worker's
 * thread), and the hourly rollup job runs on a timer, as an EventBridge schedule runs it in AWS.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoTimeseriesQuery,
  DynamoTimeseriesRollups,
  DynamoTimeseriesSink,
  timeseriesDocumentClient,
} from '../../functions/adapters/dynamodb/timeseries/index.js';
import { timedSink } from '../../functions/adapters/timed-sink.js';
import { createTimeseriesWriterHandler } from '../../functions/handlers/timeseries-writer.js';
import { type MetricsRecorder, NO_METRICS } from '../../functions/shared/metrics.js';
import { ensureTimeseriesTables, localTimeseriesTableNames } from '../dynamodb/index.js';
import type { TimeseriesWorker } from './worker-host.js';
import { writtenNote, writtenSummaries } from './written.js';

/** Locally the job runs more often than hourly, so a short session sees a rollup. */
export const DEFAULT_LOCAL_ROLLUP_INTERVAL_MS = 5 * 60_000;

export interface DynamoTimeseriesOptions {
  /** An SDK client of the local dynalite. */
  readonly client: DynamoDBClient;
  /** The devices table (lastSeen): which devices the rollup job visits. */
  readonly devicesTable: string;
  readonly rollupIntervalMs?: number;
  readonly log: (line: string) => void;
  /** Where store write durations are recorded. */
  readonly metrics?: MetricsRecorder;
}

export async function startDynamoTimeseries(options: DynamoTimeseriesOptions): Promise<TimeseriesWorker> {
  const names = localTimeseriesTableNames();
  const created = await ensureTimeseriesTables(options.client, names);
  if (created.length > 0) options.log(`created the time-series tables: ${created.join(', ')}`);
  const client = timeseriesDocumentClient(options.client);
  const tables = {
    points: names.timeseriesPoints,
    latest: names.timeseriesLatest,
    rollups: names.timeseriesRollups,
  };
  const sink = new DynamoTimeseriesSink({
    client,
    tables,
    onUnstorableTime: (points) =>
      options.log(
        `time series: ${points.length} point(s) with a time before 1970 not stored (${points[0]?.deviceId})`,
      ),
  });
  const query = new DynamoTimeseriesQuery({ client, tables });
  // The same run the scheduled Lambda makes (functions/lambda/timeseries-rollup.ts).
  const rollups = new DynamoTimeseriesRollups({ client, tables, devicesTable: options.devicesTable });

  const runRollups = async () => {
    const summary = await rollups.rollupDevicesSeen();
    if (summary.written > 0 || summary.failed.length > 0)
      options.log(
        `rollups: ${summary.written} written, ${summary.unchanged} unchanged, ${summary.failed.length} failed over ${summary.devices} devices`,
      );
  };
  let rollupRun: Promise<void> = Promise.resolve();
  const scheduleRollups = () => {
    rollupRun = rollupRun
      .then(runRollups)
      .catch((error: unknown) => options.log(`rollups failed: ${String(error)}`));
  };
  // Once at start (hours closed while the platform was stopped), then on the timer.
  scheduleRollups();
  const timer = setInterval(scheduleRollups, options.rollupIntervalMs ?? DEFAULT_LOCAL_ROLLUP_INTERVAL_MS);

  return {
    writer: (onWritten, watchedReadings) =>
      createTimeseriesWriterHandler({
        sink: timedSink(sink, options.metrics ?? NO_METRICS, 'dynamodb'),
        note: (message) => writtenNote(message, watchedReadings()),
        onWritten: (notes) => {
          for (const summary of writtenSummaries(notes, Date.now())) onWritten(summary);
        },
      }),
    latest: (deviceId) => query.latest(deviceId),
    series: (q) => query.series(q),
    seriesPage: (q) => query.seriesPage(q),
    buckets: (q) => query.buckets(q),
    count: () => query.count(),
    messageCounts: (deviceIds) => query.messageCounts(deviceIds),
    close: async () => {
      clearInterval(timer);
      await rollupRun;
    },
  };
}
