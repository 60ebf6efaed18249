/**
 * A bounded in-memory mirror of an AlertStateStore, for a process that is the ONLY consumer of its
 * stream for as long as it runs: the local runtime on its own log (the log's lock keeps a second
 * process out). There every state change of every device goes through this process, so what it read
 * or wrote is still what the store holds, and a batch needs no read at all for devices it knows.
 *
 * Not for Lambda, nor for a consumer group shared with other processes: successive batches of one
 * partition can be handled by different instances, so a mirror would go stale and decide wrongly (a
 * missed clear suppresses an onset). There the handler reads the store at every batch.
 *
 * The store stays the source of truth: a device not in the mirror is read from it; a write is mirrored
 * only once stored; a conflict or any failed write drops the device, so the next batch reads it again.
 */
import type { ConditionState } from '../core/alert-state.js';
import type { AlertStateStore } from '../ports/registry.js';

type DeviceStates = Record<string, ConditionState>;

export class CachedAlertStateStore implements AlertStateStore {
  /** Insertion order is recency order (re-inserted on use): the oldest is evicted first. */
  private readonly devices = new Map<string, DeviceStates>();

  constructor(
    private readonly store: AlertStateStore,
    private readonly maxDevices = 100_000,
  ) {}

  async load(deviceIds: readonly string[]): Promise<Record<string, DeviceStates>> {
    const result: Record<string, DeviceStates> = {};
    const missing: string[] = [];
    for (const id of new Set(deviceIds)) {
      const known = this.devices.get(id);
      if (known) {
        this.remember(id, known);
        result[id] = { ...known };
      } else missing.push(id);
    }
    if (missing.length > 0) {
      const loaded = await this.store.load(missing);
      for (const id of missing) {
        const states = loaded[id] ?? {};
        this.remember(id, states);
        result[id] = { ...states };
      }
    }
    return result;
  }

  async save(deviceId: string, states: Readonly<DeviceStates>): Promise<void> {
    try {
      await this.store.save(deviceId, states);
    } catch (error) {
      this.devices.delete(deviceId);
      throw error;
    }
    const known = this.devices.get(deviceId);
    if (known) this.remember(deviceId, { ...known, ...states });
  }

  private remember(deviceId: string, states: DeviceStates): void {
    this.devices.delete(deviceId);
    this.devices.set(deviceId, states);
    if (this.devices.size > this.maxDevices) {
      const oldest = this.devices.keys().next().value;
      if (oldest !== undefined) this.devices.delete(oldest);
    }
  }
}
