/**
 * ISO rendering of epoch milliseconds with a one-entry memo: a batch shares one processing time and
 * mostly one receive time, and Date#toISOString is among the costliest calls on the per-message path.
 */
let lastMs = Number.NaN;
let lastIso = '';

export function toIsoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
