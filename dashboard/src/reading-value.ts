/**
 * A reading of an enriched message as people read it (issue 14): the decoded value of an encoded
 * reading (an RS-485 hex register `00E6` is `23.0 °C`), with the registry's unit, the wire value
 * named beside it. Plain text: callers put it in text nodes.
 */
import type { EnrichedMessage, ReadingDefinition } from './api-types.js';
import { labelled } from './measurements.js';

/** Units that name a kind of value rather than a quantity: shown without a unit. */
const UNITLESS = new Set(['state', 'text', '']);

/** Decimals implied by an encoding's scale (`* 0.1` -> 1), read from its description. */
function decimalsOf(encoding: string | undefined): number | undefined {
  const scale = /\*\s*([0-9.eE+-]+)/.exec(encoding ?? '')?.[1];
  if (scale === undefined) return undefined;
  const fraction = /\.(\d+)$/.exec(scale)?.[1];
  return fraction ? fraction.length : 0;
}

export function readingText(message: EnrichedMessage | undefined, path: string): string {
  if (!message || !('measurements' in message)) return '';
  const [key = '', component] = path.split('.');
  const entry = (message.measurements as Record<string, unknown>)[key];
  const wire =
    component !== undefined && typeof entry === 'object' && entry !== null
      ? (entry as Record<string, unknown>)[component]
      : entry;
  const metadata = message.measurement_metadata?.[path];
  const unit = metadata?.unit ?? '';
  const withUnit = (text: string) => (UNITLESS.has(unit) ? text : `${text} ${unit}`);
  const decoded = message.decoded?.[path];
  if (decoded !== undefined) {
    const decimals = decimalsOf(metadata?.encoding);
    const text = decimals === undefined ? String(decoded) : decoded.toFixed(decimals);
    return `${withUnit(text)} (wire ${typeof wire === 'string' ? wire : JSON.stringify(wire)})`;
  }
  if (wire === undefined) return '';
  return withUnit(typeof wire === 'object' ? JSON.stringify(wire) : String(wire));
}

/** Decimals of a scale factor (`0.1` -> 1, `1` -> 0). */
const scaleDecimals = (scale: number): number => /\.(\d+)$/.exec(String(scale))?.[1]?.length ?? 0;

/**
 * A stored value of a reading (the device page's latest values): a decoded register with the
 * decimals its scale gives (`23` of an `int16 * 0.1` register is `23.0`), anything else as
 * `labelled` shows it.
 */
export function storedValueText(reading: ReadingDefinition | undefined, value: unknown): string {
  if (reading?.encoding && typeof value === 'number')
    return value.toFixed(scaleDecimals(reading.encoding.scale));
  return labelled(reading, value);
}
