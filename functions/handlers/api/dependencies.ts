/**
 * What the API handler is given: each runtime's composition root (functions/lambda/api-dependencies.ts,
 * local/runtime.ts) maps its stores onto it.
 */
import type { Alert } from '../../core/contract/messages.js';
import type { ParquetEncoder } from '../../core/export.js';
import type { IngestMappingStore } from '../../ports/ingest-mappings.js';
import type { AlertStore, MessageStage, RegistryStore } from '../../ports/registry.js';
import type { TimeseriesQuery } from '../../ports/timeseries.js';
import type { DataOpsApi } from './data-ops.js';
import type { NotificationChannelsApi } from './notification-channels.js';
import type { PreviewDependencies } from './preview.js';
import type { ApiAuth } from './request.js';
import type { StatsSnapshot } from './responses.js';
import type { DeviceSummary } from './schemas.js';

/** What the API uses; each runtime's composition root maps its stores onto it. */
export interface ApiDependencies {
  readonly version: string;
  /** Device types and applications, reads and writes (DynamoDB in AWS, dynalite locally). */
  readonly registry: RegistryStore;
  readonly alerts: Pick<AlertStore, 'recent' | 'get' | 'acknowledge' | 'clear'>;
  /**
   * Issue 15: publishes an operator's clear event to iot.alerts (local runtime). Absent in AWS: there the
   * notifier reads the alerts table's stream, where the stored event arrives.
   */
  readonly publishAlert?: (alert: Alert) => Promise<void>;
  readonly devices: {
    list(query: {
      deviceType?: string;
      limit: number;
      cursor?: string;
    }): Promise<{ items: DeviceSummary[]; cursor?: string }>;
    get(deviceId: string): Promise<DeviceSummary | undefined>;
  };
  readonly timeseries: TimeseriesQuery;
  readonly messages: {
    recent(stage: MessageStage, query: { deviceId?: string; limit: number }): Promise<unknown[]>;
  };
  readonly stats: (windowMinutes: number) => Promise<StatsSnapshot>;
  /** Component name -> 'ok' | 'degraded'. */
  readonly health: () => Promise<Record<string, 'ok' | 'degraded'>>;
  /** Who may write; default `open` (local mode without a token). */
  readonly auth?: ApiAuth;
  /** Ingest mappings (issue 14); left out, their routes answer 503. */
  readonly ingestMappings?: IngestMappingStore;
  // ----- export (issue 16) -----
  /** Writes Parquet exports; default hyparquet-writer (pure JS, the Lambda path), DuckDB locally. */
  readonly parquet?: ParquetEncoder;
  /** Told about every 5xx (a bug or an outage), with the error. */
  readonly onError?: (error: unknown, route: string) => void;
  readonly now?: () => number;
  /** Notification channels (issue 15); absent = those routes answer 503 NOT_CONFIGURED. */
  readonly notifications?: NotificationChannelsApi;
  /** Issue 14: what the dry runs read (./preview.ts); left out, they compile the registry from the store. */
  readonly preview?: PreviewDependencies;
  /** Data operations (issue 16): triage, redrive, replay; left out, their routes answer 503. */
  readonly dataOps?: DataOpsApi;
}
