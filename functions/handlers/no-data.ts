/**
 * No-data evaluator (issue 15): one run per evaluation window over the devices' last-seen records of
 * every type that has no-data rules. Each device's observations (functions/core/no-data.ts) go
 * through the same decision as the enrich stage's (alert-state.ts): state read from the store, the
 * transitions saved (conditional on the version read), then the events stored in the alert store and
 * published. A run repeated in the same window is a redelivery: it changes no state, re-stores only
 * the same alert ids (idempotent on alert_id) and publishes nothing.
 *
 * The same function runs on a timer locally (local/runtime.ts) and in the no-data Lambda on an
 * EventBridge Scheduler schedule (functions/lambda/no-data.ts).
 */
import { decideAlerts } from '../core/alert-state.js';
import type { Alert } from '../core/contract/messages.js';
import { evaluateNoData } from '../core/no-data.js';
import type { CompiledRegistry } from '../core/registry.js';
import {
  AlertStateConflict,
  type AlertStateStore,
  type AlertStore,
  type DeviceRecord,
  type DeviceStore,
} from '../ports/registry.js';

export interface NoDataDependencies {
  readonly registry: () => Promise<CompiledRegistry> | CompiledRegistry;
  /**
   * The devices' last-seen records: the device's and, for reading-level rules, each watched reading's
   * (recorded by the enrich stage's bookkeeping, batch-bookkeeping.ts): no other read per device.
   */
  readonly devices: Pick<DeviceStore, 'listDevices'>;
  readonly alertState: AlertStateStore;
  readonly alerts: Pick<AlertStore, 'add'>;
  /** Publishes events to iot.alerts (local); in AWS the notifier reads the alerts table's stream. */
  readonly publish?: (events: readonly Alert[]) => Promise<void>;
  readonly now?: () => number;
}

export interface NoDataRunSummary {
  readonly devices: number;
  readonly raised: number;
  readonly cleared: number;
  /** Devices another writer changed meanwhile: left to the next run. */
  readonly conflicts: number;
}

const PAGE = 500;

export function createNoDataHandler(dependencies: NoDataDependencies) {
  const now = dependencies.now ?? Date.now;
  /**
   * `signal`: a stop (the local platform's) ends the run early; what it decided so far is still
   * stored and published, and the next run goes on from the stored state.
   */
  return async (signal?: AbortSignal): Promise<NoDataRunSummary> => {
    const registry = await dependencies.registry();
    const at = now();
    const events: Alert[] = [];
    const replayed: Alert[] = [];
    let devices = 0;
    let conflicts = 0;
    for (const type of registry.typeList) {
      if (type.noDataRules.length === 0 || signal?.aborted) continue;
      let cursor: string | undefined;
      do {
        const page = await dependencies.devices.listDevices({
          deviceType: type.typeId,
          limit: PAGE,
          ...(cursor ? { cursor } : {}),
        });
        cursor = page.nextCursor;
        const states = await dependencies.alertState.load(page.items.map((d) => d.deviceId));
        for (const device of page.items) {
          if (signal?.aborted) break;
          devices++;
          const evaluation = evaluateNoData(
            type,
            {
              deviceId: device.deviceId,
              lastSeen: Date.parse(device.lastSeen),
              readingsSeen: readingsSeenOf(device),
            },
            at,
          );
          const decision = decideAlerts(new Map(Object.entries(states[device.deviceId] ?? {})), [evaluation]);
          try {
            if (decision.changed.size > 0) {
              await dependencies.alertState.save(device.deviceId, Object.fromEntries(decision.changed));
            }
          } catch (error) {
            if (!(error instanceof AlertStateConflict)) throw error;
            conflicts++; // another run of this window got there first; it produces the events
            continue;
          }
          // A replay (the same window again) re-stores its events (idempotent: repairs a crash between
          // save and store) but publishes only transitions made now, so a timer that ticks more than
          // once a window does not notify twice.
          replayed.push(...decision.events.filter((e) => !decision.changed.has(e.rule_id)));
          events.push(...decision.events.filter((e) => decision.changed.has(e.rule_id)));
        }
      } while (cursor && !signal?.aborted);
    }
    // Saved first, then stored and published: a crash in between is repaired by the next run in the
    // same window (a redelivery re-produces the same ids), like the enrich stage.
    if (events.length + replayed.length > 0) await dependencies.alerts.add([...events, ...replayed]);
    if (events.length > 0) await dependencies.publish?.(events);
    return {
      devices,
      raised: events.filter((e) => e.transition !== 'cleared').length,
      cleared: events.filter((e) => e.transition === 'cleared').length,
      conflicts,
    };
  };
}

/** A device record's watched readings, as epoch ms. */
const readingsSeenOf = (device: DeviceRecord): Map<string, number> =>
  new Map(Object.entries(device.readingsSeen ?? {}).map(([path, seen]) => [path, Date.parse(seen)]));
