/**
 * One simulated device: its physical model, its fault injector, its trend windows and its status, turned
 * into contract messages on `dt/{deviceType}/{deviceId}/{kind}`.
 */
import type { DeviceType, EventType } from '../functions/core/index.js';
import { toIsoTime } from '../functions/core/index.js';
import { TrendAggregator, type TrendWindow, trendChannels } from './trends.js';
import {
  type DeviceModel,
  type FaultInjector,
  type Measurements,
  type ModelEvent,
  NO_FAULTS,
  type SimMessage,
} from './types.js';

export interface DeviceSettings {
  /** Trend window length (default 5 minutes). */
  readonly trendWindowMs?: number;
  /** How often a status message is sent (default 5 minutes; one is always sent at the first tick). */
  readonly statusIntervalMs?: number;
  readonly firmwareVersion?: string;
  readonly hardwareRevision?: string;
}

export const DEFAULT_TREND_WINDOW_MS = 5 * 60 * 1000;
export const DEFAULT_STATUS_INTERVAL_MS = 5 * 60 * 1000;

export const topicFor = (deviceType: string, deviceId: string, kind: EventType): string =>
  `dt/${deviceType}/${deviceId}/${kind}`;

export interface SimulatedDeviceOptions {
  readonly deviceId: string;
  readonly definition: DeviceType;
  readonly model: DeviceModel;
  readonly faults?: FaultInjector;
  readonly startTime: number;
  readonly settings?: DeviceSettings;
}

/** What a device has sent, by kind, for its status counters and the run summary. */
export interface DeviceCounters {
  telemetry: number;
  trends: number;
  status: number;
  event: number;
  faulty: number;
}

export class SimulatedDevice {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly counters: DeviceCounters = { telemetry: 0, trends: 0, status: 0, event: 0, faulty: 0 };
  private readonly model: DeviceModel;
  private readonly faults: FaultInjector;
  private readonly trends: TrendAggregator;
  private readonly statusIntervalMs: number;
  private readonly firmwareVersion: string;
  private readonly hardwareRevision: string;
  private readonly startTime: number;
  private lastStatusAt: number | undefined;
  private sequence = 0;

  constructor(options: SimulatedDeviceOptions) {
    this.deviceId = options.deviceId;
    this.deviceType = options.definition.typeId;
    this.model = options.model;
    this.faults = options.faults ?? NO_FAULTS;
    this.startTime = options.startTime;
    const settings = options.settings ?? {};
    this.trends = new TrendAggregator(
      settings.trendWindowMs ?? DEFAULT_TREND_WINDOW_MS,
      trendChannels(options.definition),
    );
    this.statusIntervalMs = settings.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    this.firmwareVersion = settings.firmwareVersion ?? '1.4.2';
    this.hardwareRevision = settings.hardwareRevision ?? 'B';
  }

  /**
   * One telemetry tick at simulated time `time`: the physics advance, the readings are published, and
   * whatever else is due goes with them, in order: events that happened, a finished trend window, the
   * telemetry itself, and a status message when one is due.
   */
  tick(time: number): SimMessage[] {
    this.faults.beforeStep(time, this.model);
    const step = this.model.step(time);
    const deviceTime = this.faults.deviceTime(time);
    const messages: SimMessage[] = [];
    for (const event of step.events) messages.push(this.eventMessage(event, time, deviceTime));

    const measurements = this.faults.applySensorFaults(step.measurements, time);
    const closedWindow = this.trends.add(time, measurements);
    // Silence fault: the device runs on but nothing leaves it (no telemetry, event, trend or status).
    if (this.faults.silenced(time)) return [];
    if (closedWindow) messages.push(this.trendsMessage(closedWindow, time, deviceTime));

    const telemetry = this.message('telemetry', time, deviceTime, { measurements });
    for (const message of this.faults.afterBuild(telemetry)) {
      messages.push(message);
      this.counters.telemetry++;
      if (message.fault) this.counters.faulty++;
    }

    if (this.lastStatusAt === undefined || time - this.lastStatusAt >= this.statusIntervalMs) {
      messages.push(this.statusMessage(time, true, deviceTime));
    }
    return messages;
  }

  /** A status message: online, firmware, uptime and what the device has sent so far. */
  statusMessage(time: number, online: boolean, deviceTime = time): SimMessage {
    this.lastStatusAt = time;
    this.counters.status++;
    return this.message('status', time, deviceTime, {
      status: {
        online,
        firmware_version: this.firmwareVersion,
        hardware_revision: this.hardwareRevision,
        uptime_s: Math.max(0, Math.round((time - this.startTime) / 1000)),
        counters: {
          telemetry_sent: this.counters.telemetry,
          trends_sent: this.counters.trends,
          events_sent: this.counters.event,
        },
      },
    });
  }

  /**
   * The MQTT last will, registered when the device connects: the broker publishes it if the device
   * disappears without a clean disconnect. Its timestamp is the connect time (a will is fixed then);
   * the platform also records when it received it.
   */
  lastWill(time: number): SimMessage {
    return this.message('status', time, time, {
      status: {
        online: false,
        firmware_version: this.firmwareVersion,
        hardware_revision: this.hardwareRevision,
      },
    });
  }

  private eventMessage(event: ModelEvent, time: number, deviceTime: number): SimMessage {
    this.counters.event++;
    const body: Record<string, unknown> = { type: event.type };
    if (event.severity) body.severity = event.severity;
    if (event.message) body.message = event.message;
    if (event.data) body.data = event.data;
    return this.message('event', time, deviceTime, { event: body });
  }

  private trendsMessage(window: TrendWindow, time: number, deviceTime: number): SimMessage {
    this.counters.trends++;
    return this.message('trends', time, deviceTime, {
      window: { start: toIsoTime(window.start), end: toIsoTime(window.end) },
      measurements: window.channels,
    });
  }

  private message(
    kind: EventType,
    time: number,
    deviceTime: number,
    body: { measurements?: Measurements | TrendWindow['channels']; [key: string]: unknown },
  ): SimMessage {
    this.sequence++;
    const payload = JSON.stringify({
      device_id: this.deviceId,
      device_type: this.deviceType,
      timestamp: new Date(deviceTime).toISOString(),
      event_type: kind,
      message_id: `${this.deviceId}-${this.sequence}`,
      ...body,
    });
    return {
      deviceId: this.deviceId,
      deviceType: this.deviceType,
      kind,
      topic: topicFor(this.deviceType, this.deviceId, kind),
      payload,
      time,
    };
  }
}
