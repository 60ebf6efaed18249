/**
 * A fleet: from one device to tens of thousands in one process, deterministic for a seed. Devices are
 * scheduled in simulated time by a binary heap of their next tick, so messages come out in time order
 * whatever the mix of intervals. Two schedules: a fixed total rate (msg/s, spread evenly over the
 * devices) or per-device intervals (the registry's update frequency unless one is given).
 */
import type { DeviceType } from '../functions/core/index.js';
import { type DeviceSettings, SimulatedDevice } from './device.js';
import { defaultIdPrefix, deviceIdFor } from './device-ids.js';
import { Random } from './random.js';
import type { DeviceModel, FaultInjector, ModelOptions, ModelSettings, SimMessage } from './types.js';

export type Schedule =
  | { readonly mode: 'rate'; readonly messagesPerSecond: number }
  | { readonly mode: 'interval'; readonly seconds?: number };

export interface FleetOptions {
  /** Registry definitions available to the fleet. */
  readonly definitions: readonly DeviceType[];
  /** How many devices (ignored when deviceIds is given). */
  readonly devices: number;
  /** Type ids to simulate, assigned round-robin (default: every type in `definitions`). */
  readonly types?: readonly string[];
  /** Explicit device ids (their types assigned round-robin from `types`, unless `deviceTypes` says). */
  readonly deviceIds?: readonly string[];
  /** The type of each device in `deviceIds`, by position (e.g. from a provisioning manifest). */
  readonly deviceTypes?: readonly string[];
  readonly seed: number;
  /** Simulated time of the start, epoch ms. */
  readonly startTime: number;
  readonly schedule: Schedule;
  readonly deviceSettings?: DeviceSettings;
  readonly modelSettings?: ModelSettings;
}

export interface FleetDependencies {
  readonly createModel: (options: ModelOptions) => DeviceModel;
  /** Builds each device's fault injector; omitted means no faults. */
  readonly createFaults?: (options: {
    random: Random;
    definition: DeviceType;
    deviceId: string;
  }) => FaultInjector;
}

export class FleetConfigError extends Error {
  override readonly name = 'FleetConfigError';
}

export const MAX_FLEET_SIZE = 100_000;

interface Entry {
  time: number;
  index: number;
}

/** A binary min-heap of (time, device index); ties go to the lower index, so order is deterministic. */
class TickQueue {
  private readonly items: Entry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(entry: Entry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i] as Entry, items[parent] as Entry)) break;
      [items[i], items[parent]] = [items[parent] as Entry, items[i] as Entry];
      i = parent;
    }
  }

  pop(): Entry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.before(items[left] as Entry, items[smallest] as Entry))
          smallest = left;
        if (right < items.length && this.before(items[right] as Entry, items[smallest] as Entry))
          smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest] as Entry, items[i] as Entry];
        i = smallest;
      }
    }
    return top;
  }

  private before(a: Entry, b: Entry): boolean {
    return a.time < b.time || (a.time === b.time && a.index < b.index);
  }
}

export class Fleet {
  readonly devices: readonly SimulatedDevice[];
  private readonly intervalsMs: readonly number[];
  private readonly queue = new TickQueue();

  constructor(options: FleetOptions, dependencies: FleetDependencies) {
    const definitions = new Map(options.definitions.map((d) => [d.typeId, d]));
    const typeIds = options.types && options.types.length > 0 ? options.types : [...definitions.keys()];
    for (const typeId of [...typeIds, ...(options.deviceTypes ?? [])]) {
      if (!definitions.has(typeId)) {
        throw new FleetConfigError(
          `unknown device type "${typeId}"; known types: ${[...definitions.keys()].join(', ')}`,
        );
      }
    }
    const count = options.deviceIds ? options.deviceIds.length : options.devices;
    if (!Number.isInteger(count) || count < 1 || count > MAX_FLEET_SIZE) {
      throw new FleetConfigError(`the fleet needs 1 to ${MAX_FLEET_SIZE} devices, got ${count}`);
    }
    if (options.deviceIds && new Set(options.deviceIds).size !== options.deviceIds.length) {
      throw new FleetConfigError('device ids must be unique');
    }

    if (options.deviceTypes && options.deviceTypes.length !== options.deviceIds?.length) {
      throw new FleetConfigError('deviceTypes needs one type per entry of deviceIds');
    }
    const devices: SimulatedDevice[] = [];
    const intervals: number[] = [];
    const perType = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const definition = definitions.get(
        options.deviceTypes?.[i] ?? (typeIds[i % typeIds.length] as string),
      ) as DeviceType;
      const ordinal = (perType.get(definition.typeId) ?? 0) + 1;
      perType.set(definition.typeId, ordinal);
      const deviceId = options.deviceIds?.[i] ?? deviceIdFor(defaultIdPrefix(definition.typeId), ordinal);
      const random = Random.derive(options.seed, deviceId);
      const model = dependencies.createModel({
        deviceId,
        definition,
        random,
        startTime: options.startTime,
        ...(options.modelSettings ? { settings: options.modelSettings } : {}),
      });
      const faults = dependencies.createFaults?.({
        random: Random.derive(options.seed, `${deviceId}/faults`),
        definition,
        deviceId,
      });
      devices.push(
        new SimulatedDevice({
          deviceId,
          definition,
          model,
          ...(faults ? { faults } : {}),
          startTime: options.startTime,
          ...(options.deviceSettings ? { settings: options.deviceSettings } : {}),
        }),
      );

      const schedule = options.schedule;
      let intervalMs: number;
      let phaseMs: number;
      if (schedule.mode === 'rate') {
        if (!(schedule.messagesPerSecond > 0)) {
          throw new FleetConfigError(
            `rate must be a positive number of messages per second, got ${schedule.messagesPerSecond}`,
          );
        }
        // Every device at the same interval, phases spread evenly: a smooth total rate.
        intervalMs = (count * 1000) / schedule.messagesPerSecond;
        phaseMs = (i * intervalMs) / count;
      } else {
        const seconds = schedule.seconds ?? definition.updateFrequencySeconds;
        if (!(seconds > 0))
          throw new FleetConfigError(`interval must be a positive number of seconds, got ${seconds}`);
        intervalMs = seconds * 1000;
        phaseMs = random.next() * intervalMs;
      }
      intervals.push(intervalMs);
      this.queue.push({ time: options.startTime + phaseMs, index: i });
    }
    this.devices = devices;
    this.intervalsMs = intervals;
  }

  /** Simulated time of the next tick. */
  nextTickTime(): number {
    return this.queue.peek()?.time ?? Number.POSITIVE_INFINITY;
  }

  /** Runs every tick due at or before `until` (simulated epoch ms), yielding the messages in order. */
  *ticksUntil(until: number): Generator<SimMessage> {
    for (;;) {
      const next = this.queue.peek();
      if (!next || next.time > until) return;
      this.queue.pop();
      const device = this.devices[next.index] as SimulatedDevice;
      // Ticks land on whole milliseconds, as device clocks do.
      const time = Math.round(next.time);
      this.queue.push({ time: next.time + (this.intervalsMs[next.index] as number), index: next.index });
      yield* device.tick(time);
    }
  }
}
