/**
 * Response shapes of the HTTP API (../shared/design/API.md). Registry and message shapes are the
 * contract's own types (functions/core/contract), imported as types only: nothing of the server is
 * bundled.
 */
import type { Application, DeviceType } from '../../functions/core/contract/registry.js';
import type { StatsSnapshot } from '../../functions/handlers/api/responses.js';
import type { MessageStage } from '../../functions/ports/registry.js';

export type {
  Alert,
  DlqRecord,
  EnrichedMessage,
  QualityVerdict,
} from '../../functions/core/contract/messages.js';
export type {
  AlertRule,
  Application,
  ConditionLeaf,
  DeviceType,
  GroupDefinition,
  ReadingDefinition,
} from '../../functions/core/contract/registry.js';
export type { MessageStage };

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

export interface Health {
  readonly status: 'ok' | 'degraded';
  readonly version: string;
  readonly components: Record<string, string>;
}

export interface DeviceTypeSummary {
  readonly typeId: string;
  readonly name: string;
  readonly category: string;
  readonly version: number;
  readonly measurementCount: number;
}

export type DeviceTypeDefinition = DeviceType & { readonly alertRules?: unknown[] };

export type ApplicationSummary = Omit<Application, 'contactEmail'> & { readonly contactEmail?: string };

export interface DeviceSummary {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly messageCount: number;
  readonly status: 'online' | 'offline' | 'unknown';
}

export interface LatestValue {
  readonly measure: string;
  readonly value: number | boolean | string;
  readonly unit?: string;
  readonly time: string;
  readonly quality: string;
}

export interface DeviceDetail extends DeviceSummary {
  readonly latest: LatestValue[];
}

export interface RawPoint {
  readonly time: string;
  readonly value: number | boolean | string;
  readonly quality?: string;
}

export interface Telemetry {
  readonly deviceId: string;
  readonly measure: string;
  readonly points: RawPoint[];
}

export interface MessageSample {
  readonly stage: MessageStage;
  readonly id: string;
  readonly time: string;
  readonly deviceId?: string;
  readonly body: unknown;
  readonly truncated?: boolean;
}

/** GET /api/stats, as the handler declares it. */
export type Stats = StatsSnapshot;

// --- Alert lifecycle (issue 15): raises carry their lifecycle (GET /api/alerts, POST .../acknowledge).
export type {
  AlertLifecycle,
  AlertLifecycleState,
  AlertRecord,
} from '../../functions/ports/registry.js';
