/**
 * Persistence ports of the registry and of the operational state the API shows: device types with
 * their alert rules, applications, devices seen, recent message samples for the inspector, alerts.
 * DynamoDB in AWS, dynalite locally; both behind the same adapters.
 *
 * Errors are domain classes that only the API's entry file maps to a status: `ValidationError` 400,
 * `NotFoundError` 404, `ConflictError` 409.
 */
import type { ConditionState } from '../core/alert-state.js';
import type { Alert } from '../core/contract/messages.js';
import type { AlertRule, AlertSeverity, Application, DeviceType } from '../core/contract/registry.js';

// ---------------------------------------------------------------------------------------------------
// Errors.

export type EntityKind = 'deviceType' | 'application' | 'device' | 'ingestMapping' | 'alert';

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly entity: EntityKind,
    readonly id: string,
  ) {
    super(`${entity} "${id}" does not exist`);
  }
}

export type ConflictReason = 'already_exists' | 'duplicate_name' | 'version_mismatch' | 'in_use';

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly reason: ConflictReason,
  ) {
    super(message);
  }
}

/** Input the store refuses before any key is built: a malformed id, body or cursor. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------
// Registry: device types (with their alert rules) and applications.

export interface DeviceTypeRecord {
  /** The definition; `deviceType.version` is the stored version. */
  readonly deviceType: DeviceType;
  readonly alertRules: readonly AlertRule[];
  /** ISO 8601 UTC, set on every write. */
  readonly updatedAt: string;
}

export interface DeviceTypeInput {
  /** The definition; its `version` is ignored by `putDeviceType`, which bumps the stored one. */
  readonly deviceType: DeviceType;
  /** Replaces the rules; left out, the stored rules stay as they are (none for a new type). */
  readonly alertRules?: readonly AlertRule[];
}

export interface VersionCheck {
  /** When given, the write only happens while the stored version is this one (If-Match). */
  readonly expectedVersion?: number;
}

/** What list responses carry: everything but the private contact. */
export type ApplicationSummary = Omit<Application, 'contactEmail'>;

/** A registration: the store fills `applicationId` (uuid), `status` ('active') and the times. */
export type ApplicationInput = Omit<Application, 'applicationId' | 'status' | 'createdAt' | 'updatedAt'> &
  Partial<Pick<Application, 'applicationId' | 'status' | 'createdAt' | 'updatedAt'>>;

/** A partial update: fields left out (or `undefined`) keep their stored value. */
export type ApplicationPatch = Partial<Omit<Application, 'applicationId' | 'createdAt' | 'updatedAt'>>;

export interface ApplicationFilter {
  /** Exact device-type id (never a substring). */
  readonly deviceType?: string;
  readonly status?: Application['status'];
}

export interface DeviceTypeStore {
  /** All types, ordered by `typeId`. */
  listDeviceTypes(): Promise<DeviceTypeRecord[]>;
  getDeviceType(typeId: string): Promise<DeviceTypeRecord | undefined>;
  /**
   * Creates (version 1) or replaces (stored version + 1) a definition. `ConflictError`
   * (`version_mismatch`) when `expectedVersion` differs from the stored one or a concurrent write won.
   */
  putDeviceType(input: DeviceTypeInput, check?: VersionCheck): Promise<DeviceTypeRecord>;
  /** Creates a type keeping its given version (seeding, imports); `ConflictError` if it exists. */
  createDeviceType(input: DeviceTypeInput): Promise<DeviceTypeRecord>;
  /** `NotFoundError`; `ConflictError` (`in_use`) while active applications reference it. */
  deleteDeviceType(typeId: string, check?: VersionCheck): Promise<void>;
}

export interface ApplicationStore {
  /** Ordered by name; never carries `contactEmail`. */
  listApplications(filter?: ApplicationFilter): Promise<ApplicationSummary[]>;
  /** The full record, `contactEmail` included: for the owner/admin API only. */
  getApplication(applicationId: string): Promise<Application | undefined>;
  /** `ConflictError` (`duplicate_name`) when the name is taken in any letter case. */
  createApplication(input: ApplicationInput): Promise<Application>;
  updateApplication(applicationId: string, patch: ApplicationPatch): Promise<Application>;
  deleteApplication(applicationId: string): Promise<void>;
  /** Active applications registered for exactly this type id, ordered by name. */
  activeApplicationsFor(typeId: string): Promise<ApplicationSummary[]>;
}

/**
 * Both, plus the rules across them: an application's device types must exist (`ValidationError`),
 * a type referenced by an active application cannot be deleted (`ConflictError`).
 */
export interface RegistryStore extends DeviceTypeStore, ApplicationStore {}

// ---------------------------------------------------------------------------------------------------
// Devices seen.

export interface DeviceRecord {
  readonly deviceId: string;
  /** The type of the newest message seen. */
  readonly deviceType: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly messageCount: number;
  /** From the newest status message, when the device sent one. */
  readonly online?: boolean;
  /**
   * Issue 15: reading path -> when it was last seen (ISO 8601 UTC with milliseconds), for the readings
   * some no-data rule of the device's type watches (functions/core/no-data.ts, watchedReadingsOf).
   */
  readonly readingsSeen?: Readonly<Record<string, string>>;
}

export interface SeenUpdate {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Epoch ms of the newest message of this batch. */
  readonly time: number;
  /** Messages to add to the count (at-least-once delivery: a redelivered batch counts again). */
  readonly count: number;
  /** From a status message; kept only when `time` is the newest seen. */
  readonly online?: boolean;
  /**
   * Issue 15: watched reading path -> epoch ms of the newest message of this batch that carried it
   * (each at most `time`); a stored time only ever moves forward.
   */
  readonly readingsSeen?: Readonly<Record<string, number>>;
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque; absent on the last page. */
  readonly nextCursor?: string;
}

export interface DeviceListQuery {
  /** Exact type id; with it the list is ordered by `lastSeen`, newest first. */
  readonly deviceType?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface DeviceStore {
  /**
   * Adds `count` messages; `firstSeen` keeps the earliest time, `lastSeen` the newest, and each of
   * `readingsSeen` the newest.
   */
  recordSeen(update: SeenUpdate): Promise<void>;
  getDevice(deviceId: string): Promise<DeviceRecord | undefined>;
  /** `ValidationError` for a malformed cursor or one from another query. */
  listDevices(query: DeviceListQuery): Promise<Page<DeviceRecord>>;
}

// ---------------------------------------------------------------------------------------------------
// Message samples for the inspector.

export const MESSAGE_STAGES = ['raw', 'enriched', 'dlq', 'alerts'] as const;
export type MessageStage = (typeof MESSAGE_STAGES)[number];

export interface MessageSampleInput {
  /** Message id (or any stable id of the sample), same alphabet as device ids. */
  readonly id: string;
  /** Epoch ms: when the message was received (or failed, for the DLQ). */
  readonly time: number;
  /** A valid device id, or left out (a DLQ record of a message without a usable id). */
  readonly deviceId?: string;
  /** The message as JSON-compatible data (a DLQ record carries `reason` and the original payload). */
  readonly body: unknown;
}

export interface MessageSample {
  readonly stage: MessageStage;
  readonly id: string;
  /** ISO 8601 UTC with milliseconds. */
  readonly time: string;
  readonly deviceId?: string;
  readonly body: unknown;
  /** True when the body was too large to keep and was replaced by a placeholder. */
  readonly truncated?: boolean;
}

export interface MessageSampleStore {
  /** Keeps a sample until its expiry; the same (time, id) written twice is one sample. */
  add(stage: MessageStage, sample: MessageSampleInput): Promise<void>;
  /** Newest first, expired samples left out. */
  recent(
    stage: MessageStage,
    query: { readonly deviceId?: string; readonly limit: number },
  ): Promise<MessageSample[]>;
}

// ---------------------------------------------------------------------------------------------------
// Alerts.

export interface AlertQuery {
  readonly deviceId?: string;
  readonly severity?: AlertSeverity;
  readonly limit: number;
  // --- Alert lifecycle (issue 15). With `state`, raises only (clear events have no state).
  readonly state?: AlertLifecycleState;
  readonly ruleId?: string;
}

// --- Alert lifecycle (issue 15): kept as attributes of the raise's record (alert-contract.md).
export type AlertLifecycleState = 'active' | 'acknowledged' | 'cleared';

export interface AlertLifecycle {
  /** cleared wins over acknowledged: an alert can be both. */
  readonly state: AlertLifecycleState;
  readonly acknowledged_at?: string;
  readonly acknowledged_by?: string;
  readonly note?: string;
  readonly cleared_at?: string;
  readonly cleared_by?: 'condition' | 'operator';
  /** For an operator clear: who. */
  readonly cleared_by_user?: string;
}

/** A stored alert event; a raise carries its lifecycle. */
export type AlertRecord = Alert & { readonly lifecycle?: AlertLifecycle };

export interface OperatorAction {
  /** The caller's identity (JWT subject in AWS). */
  readonly by: string;
  /** Epoch ms. */
  readonly at: number;
  readonly note?: string;
}

export interface AlertStore {
  /**
   * Idempotent on `alert_id`: a redelivered alert (even with a later `raised_at`) is stored once. A clear
   * event also marks the raise it ends as cleared.
   */
  add(alerts: readonly Alert[]): Promise<void>;
  /** Newest `raised_at` first, expired alerts left out. */
  recent(query: AlertQuery): Promise<AlertRecord[]>;
  /** The raise `alertId` with its lifecycle; NotFoundError when unknown. */
  get(alertId: string): Promise<AlertRecord>;
  /** Acknowledges a raise (the first acknowledgement stands); NotFoundError when unknown. */
  acknowledge(alertId: string, action: OperatorAction): Promise<AlertRecord>;
  /**
   * Clears a raise as an operator: stores the clear event (alert-contract: `cleared_by: 'operator'`) and
   * returns it with the updated raise; no event when the raise was already cleared.
   */
  clear(alertId: string, action: OperatorAction): Promise<{ record: AlertRecord; event?: Alert }>;
}

/**
 * The condition state of each (device, rule) for edge-triggered alerts (functions/core/alert-state.ts).
 * The store is the source of truth: the enrich stage reads it at every batch and writes only
 * transitions, each conditional on the version it read.
 */
export interface AlertStateStore {
  /** The stored states of these devices, by device id then rule id (strongly consistent reads). */
  load(deviceIds: readonly string[]): Promise<Record<string, Record<string, ConditionState>>>;
  /**
   * Stores new states; each write succeeds only while the stored version is `version - 1` (absent for
   * 1). Throws `AlertStateConflict` otherwise: another consumer changed it; reload and decide again.
   */
  save(deviceId: string, states: Readonly<Record<string, ConditionState>>): Promise<void>;
}

export class AlertStateConflict extends Error {
  override readonly name = 'AlertStateConflict';
  constructor(
    readonly deviceId: string,
    readonly ruleId: string,
  ) {
    super(`alert state of device "${deviceId}", rule "${ruleId}" was changed concurrently`);
  }
}

/**
 * The same contract in memory: for tests, benchmarks and a handler composed without a store (one
 * process, which then is the only consumer of its stream).
 */
export class InMemoryAlertStateStore implements AlertStateStore {
  private readonly states = new Map<string, Map<string, ConditionState>>();

  async load(deviceIds: readonly string[]): Promise<Record<string, Record<string, ConditionState>>> {
    return Object.fromEntries(
      deviceIds.map((id) => [id, Object.fromEntries(this.states.get(id) ?? new Map())]),
    );
  }

  async save(deviceId: string, states: Readonly<Record<string, ConditionState>>): Promise<void> {
    const device = this.states.get(deviceId) ?? new Map<string, ConditionState>();
    for (const [ruleId, state] of Object.entries(states)) {
      if ((device.get(ruleId)?.version ?? 0) !== state.version - 1) {
        throw new AlertStateConflict(deviceId, ruleId);
      }
    }
    for (const [ruleId, state] of Object.entries(states)) device.set(ruleId, state);
    this.states.set(deviceId, device);
  }
}
