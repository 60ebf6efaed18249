/** A device type's readings by path (`voltage.phase_a`), as the API and the time series name them. */
import type { DeviceType, ReadingDefinition } from './api-types.js';

export function readingsOf(type: DeviceType): Map<string, ReadingDefinition> {
  const readings = new Map<string, ReadingDefinition>();
  for (const [key, definition] of Object.entries(type.measurements)) {
    if ('components' in definition)
      for (const [component, reading] of Object.entries(definition.components))
        readings.set(`${key}.${component}`, reading);
    else readings.set(key, definition);
  }
  return readings;
}

/** Numbers worth a chart: numeric readings that are not codes with labelled values. */
export const isChartable = (reading: ReadingDefinition): boolean =>
  (reading.dataType === 'number' || reading.dataType === 'integer') && reading.allowedValues === undefined;

/** A value with its registry label (`1` -> `1 (closed)`) when the registry names it. */
export function labelled(reading: ReadingDefinition | undefined, value: unknown): string {
  const label = reading?.allowedValues?.find((allowed) => allowed.value === value)?.label;
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return label ? `${text} (${label})` : text;
}
