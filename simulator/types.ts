/**
 * The simulator's shared shapes: what a device model produces, what a simulated device publishes, and
 * what a transport must do. Models are physics; devices turn readings into contract messages;
 * transports move bytes.
 */
import type { DeviceType, EventType } from '../functions/core/index.js';
import type { Random } from './random.js';

export type Scalar = number | boolean | string;

/** Telemetry readings in wire form (hex strings where the registry declares an encoding). */
export type Measurements = Record<string, Scalar | Record<string, Scalar>>;

/** Something that happened inside the device: a trip, a reset, a forced door. */
export interface ModelEvent {
  readonly type: string;
  readonly severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  readonly message?: string;
  readonly data?: Record<string, Scalar | null>;
}

export interface ModelStep {
  readonly measurements: Measurements;
  /** Events since the previous step, in the order they happened. */
  readonly events: readonly ModelEvent[];
}

/** Fault hooks a model may offer; the fault injector calls those that exist. */
export interface ModelFaultHooks {
  /** Raise the load to `factor` times its normal value for `durationMs` (breakers, meters). */
  overload?(factor: number, durationMs: number): void;
  groundFault?(): void;
  arcFault?(): void;
}

export interface DeviceModel {
  readonly deviceType: string;
  /**
   * Advances the physics to `time` (epoch ms; never earlier than the previous call) and reads every
   * sensor. The readings must satisfy the registry: inside valid ranges, allowed values, required
   * measurements present.
   */
  step(time: number): ModelStep;
  readonly faults?: ModelFaultHooks;
}

export interface ModelOptions {
  readonly deviceId: string;
  /** The registry definition the model reads ratings, ranges, units and encodings from. */
  readonly definition: DeviceType;
  readonly random: Random;
  /** Simulated time of the first step, epoch ms. */
  readonly startTime: number;
  readonly settings?: ModelSettings;
}

/** Tunables shared by models (each uses what applies to it). */
export interface ModelSettings {
  /** How long a tripped breaker stays open before it resets (default 60 s). */
  readonly tripResetMs?: number;
  /** Operating hours after which maintenance is due (default 8,760 h). */
  readonly maintenanceThresholdHours?: number;
  /** Grid frequency: 50 or 60 Hz (default: the type's rated nominalFrequencyHz, else 60). */
  readonly nominalFrequencyHz?: number;
}

export type ModelFactory = (options: ModelOptions) => DeviceModel;

/** One message ready to publish. */
export interface SimMessage {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly kind: EventType;
  /** `dt/{deviceType}/{deviceId}/{kind}` */
  readonly topic: string;
  readonly payload: string;
  /** Simulated time the message stands for, epoch ms. */
  readonly time: number;
  /** Set when a fault made this message deliberately wrong (for counters and tests). */
  readonly fault?: string;
}

/** Delivery counters: sent = handed to the client, acked = PUBACK received, failed = error or timeout. */
export interface DeliveryCounters {
  sent: number;
  acked: number;
  failed: number;
}

/** What the fleet needs to know about a device to connect it. */
export interface TransportDevice {
  readonly deviceId: string;
  readonly deviceType: string;
  /** The MQTT last will: published by the broker if the device drops off without disconnecting. */
  readonly lastWill: SimMessage;
}

export interface Transport {
  /** Connects (per device or shared, as the transport is configured). Rejects with a clear error. */
  connect(devices: readonly TransportDevice[]): Promise<void>;
  /** Publishes at QoS 1; resolves on PUBACK, rejects on failure. Counters are updated either way. */
  publish(message: SimMessage): Promise<void>;
  readonly counters: Readonly<DeliveryCounters>;
  /** Disconnects cleanly (no last will is published). */
  close(): Promise<void>;
}

/**
 * Fault injection for one device, called by the simulated device around each telemetry step. Every
 * fault is switchable and rate-controlled (see faults.ts); with no faults configured every call is a
 * pass-through.
 */
export interface FaultInjector {
  /** Before the model step: may start a physical fault through the model's hooks (overload, trips). */
  beforeStep(time: number, model: DeviceModel): void;
  /** Sensor faults on the readings about to be published (drift, flat-line, stuck-at). */
  applySensorFaults(measurements: Measurements, time: number): Measurements;
  /** The time the device's own clock shows (clock skew), epoch ms. */
  deviceTime(time: number): number;
  /** After a message is built: duplicates it, or replaces it with a malformed variant (with `fault` set). */
  afterBuild(message: SimMessage): SimMessage[];
  /**
   * The silence fault (issue 15's no-data rules): true while the device publishes nothing at all; its
   * physics go on, only its messages are lost.
   */
  silenced(time: number): boolean;
}

export const NO_FAULTS: FaultInjector = {
  beforeStep: () => {},
  applySensorFaults: (measurements) => measurements,
  deviceTime: (time) => time,
  afterBuild: (message) => [message],
  silenced: () => false,
};
