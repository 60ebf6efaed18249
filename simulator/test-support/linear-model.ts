import type { DeviceModel, ModelOptions, ModelStep } from '../types.js';

/**
 * A stand-in environmental sensor for tests of the device, fleet and runner plumbing: values move on a
 * fixed, valid path (so expected aggregates are easy to compute), and it emits a `tick_event` every
 * `eventEvery` steps when asked to.
 */
export function linearEnvironmentalModel(options: ModelOptions, eventEvery = 0): DeviceModel {
  let steps = 0;
  return {
    deviceType: options.definition.typeId,
    step(time: number): ModelStep {
      steps++;
      const minute = Math.floor((time - options.startTime) / 60_000);
      return {
        measurements: {
          temperature: 20 + (minute % 10),
          humidity: 50 - (minute % 10),
          pressure: 1013 + (steps % 3) * 0.5,
        },
        events:
          eventEvery > 0 && steps % eventEvery === 0
            ? [{ type: 'tick_event', severity: 'info', data: { steps } }]
            : [],
      };
    },
  };
}
