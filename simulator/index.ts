/**
 * The simulator package: what the CLI and the local runtime use to build and run fleets.
 */
import type { DeviceType } from '../functions/core/index.js';
import { seedRegistry } from '../registry-data/index.js';
import type { DeviceSettings } from './device.js';
import { createFaultInjector, type FaultRates } from './faults.js';
import { Fleet, type Schedule } from './fleet.js';
import { createModel } from './models/index.js';
import type { ModelSettings } from './types.js';

export { DEFAULT_STATUS_INTERVAL_MS, DEFAULT_TREND_WINDOW_MS, SimulatedDevice, topicFor } from './device.js';
export { FAULT_KINDS, FaultSpecError, MALFORMED_KINDS, parseFaultSpec } from './faults.js';
export { Fleet, FleetConfigError, MAX_FLEET_SIZE, type Schedule } from './fleet.js';
export { type Progress, type RunOptions, type RunSummary, runFleet } from './runner.js';
export { createTransport, DryRunTransport } from './transports/index.js';
export type { DeliveryCounters, SimMessage, Transport } from './types.js';

export interface SimulatedFleetOptions {
  readonly devices: number;
  readonly types?: readonly string[];
  readonly deviceIds?: readonly string[];
  /** The type of each device in `deviceIds`, by position. */
  readonly deviceTypes?: readonly string[];
  readonly seed?: number;
  readonly startTime?: number;
  readonly schedule?: Schedule;
  readonly faults?: FaultRates;
  readonly deviceSettings?: DeviceSettings;
  readonly modelSettings?: ModelSettings;
  /** Registry definitions (default: the seed registry shipped in registry-data/). */
  readonly definitions?: readonly DeviceType[];
}

/** A fleet of registry-driven models, with fault injection when rates are given. */
export function createSimulatedFleet(options: SimulatedFleetOptions): Fleet {
  const faults = options.faults;
  const hasFaults = faults !== undefined && Object.values(faults).some((rate) => (rate ?? 0) > 0);
  return new Fleet(
    {
      definitions: options.definitions ?? seedRegistry.deviceTypes,
      devices: options.devices,
      ...(options.types ? { types: options.types } : {}),
      ...(options.deviceIds ? { deviceIds: options.deviceIds } : {}),
      ...(options.deviceTypes ? { deviceTypes: options.deviceTypes } : {}),
      seed: options.seed ?? 1,
      startTime: options.startTime ?? Date.now(),
      schedule: options.schedule ?? { mode: 'interval' },
      ...(options.deviceSettings ? { deviceSettings: options.deviceSettings } : {}),
      ...(options.modelSettings ? { modelSettings: options.modelSettings } : {}),
    },
    {
      createModel,
      ...(hasFaults ? { createFaults: (deviceOptions) => createFaultInjector(faults, deviceOptions) } : {}),
    },
  );
}
