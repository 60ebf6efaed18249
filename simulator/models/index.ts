/**
 * Device models by type: a physical model for each shipped type, and a registry-driven generic model
 * for any other type the registry declares.
 */
import type { DeviceModel, ModelFactory, ModelOptions } from '../types.js';
import { createAccessControllerModel } from './access-controller.js';
import { createBreakerModel } from './breaker.js';
import { createEnvironmentalModel } from './environmental.js';
import { createGenericModel } from './generic.js';
import { createMeterModel } from './meter.js';

export const MODEL_FACTORIES: Readonly<Record<string, ModelFactory>> = Object.freeze({
  smart_breaker: createBreakerModel,
  smart_meter: createMeterModel,
  environmental_sensor: createEnvironmentalModel,
  f2_access_controller: createAccessControllerModel,
});

/** The model for `options.definition.typeId`; the generic registry-driven model for unknown types. */
export function createModel(options: ModelOptions): DeviceModel {
  const factory = Object.hasOwn(MODEL_FACTORIES, options.definition.typeId)
    ? MODEL_FACTORIES[options.definition.typeId]
    : undefined;
  return (factory ?? createGenericModel)(options);
}

export {
  createAccessControllerModel,
  createBreakerModel,
  createEnvironmentalModel,
  createGenericModel,
  createMeterModel,
};
