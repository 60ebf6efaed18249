/**
 * No-data rules (issue 15; thingsboard#8614, #7354; Grafana's No Data state): a device, or one reading
 * of it, silent for longer than the rule's interval. Silence is not a message, so a clock drives it:
 * the no-data evaluator (a timer locally, an EventBridge Scheduler schedule in AWS) calls this once per
 * evaluation window over the devices' last-seen records, and the observations go through the same
 * decision as every other rule (alert-state.ts), raising and clearing alike.
 *
 * Idempotent per evaluation window: the window is the observations' stream position (`no-data`,
 * window index), so a second run in the same window (a retried schedule, two overlapping timers) is
 * taken for a redelivery: it changes no state and re-produces only the same alert ids.
 *
 * The alert record: `path` is the rule's reading, or `last_seen` for the device as a whole; `operator`
 * `gt`; `value` the seconds of silence; `threshold` the interval; `unit` `s`.
 */
import type { RuleEvaluation, RuleObservation } from './alert-state.js';
import { UPDATE_INTERVAL_FACTOR } from './alerts.js';
import type { Alert } from './contract/messages.js';
import type { NoDataRule } from './contract/registry.js';
import type { CompiledDeviceType } from './registry.js';
import { toIsoTime } from './time.js';

/** The evaluator runs once a minute (EventBridge Scheduler's finest rate); this is its window. */
export const NO_DATA_WINDOW_MS = 60_000;
/** The stream name of the evaluator's positions (see the header). */
export const NO_DATA_STREAM = 'no-data';
/** A device-level rule's pseudo reading path in its alert records. */
export const DEVICE_SILENCE_PATH = 'last_seen';
/** Intervals shorter than the evaluation window cannot be told apart. */
const MIN_SILENT_SECONDS = NO_DATA_WINDOW_MS / 1000;

/** The silence a rule tolerates: its own, or the type's update frequency times the factor. */
export function silentSecondsOf(rule: NoDataRule, type: CompiledDeviceType): number {
  return (
    rule.silentSeconds ??
    Math.max(MIN_SILENT_SECONDS, type.definition.updateFrequencySeconds * UPDATE_INTERVAL_FACTOR)
  );
}

export interface DeviceSilence {
  readonly deviceId: string;
  /** Epoch ms of the newest message from the device. */
  readonly lastSeen: number;
  /** Epoch ms of the newest value of each reading, for reading-level rules (absent: not looked up). */
  readonly readingsSeen?: ReadonlyMap<string, number>;
  /**
   * Set when `readingsSeen` comes from a bounded look-back (readingsLookBack): a reading missing from
   * it was not seen since this time (epoch ms), so it is silent since then at least (or since the
   * device was last seen, if that is earlier). Unset: a missing reading was never stored, and is
   * silent since the device was last seen.
   */
  readonly readingsSearchedSince?: number;
}

/** The window index of a time: the evaluator's stream offset. */
export const noDataWindow = (now: number): number => Math.floor(now / NO_DATA_WINDOW_MS);

/**
 * The readings a type's no-data rules watch, and how far back a store that cannot keep a latest value
 * per reading (Timestream: one query per type and run) must look for them: the longest interval among
 * those rules plus one evaluation window, measured from the window's start. A reading not found since
 * then is silent for longer than every rule's interval, so the look-back decides every rule exactly.
 * Undefined when the type has no reading-level no-data rule.
 */
export function readingsLookBack(
  type: CompiledDeviceType,
  now: number,
): { readonly measures: readonly string[]; readonly since: number } | undefined {
  const rules = type.noDataRules.filter((rule) => rule.path !== undefined);
  if (rules.length === 0) return undefined;
  const longestMs = Math.max(...rules.map((rule) => silentSecondsOf(rule, type))) * 1000;
  return {
    measures: [...new Set(rules.map((rule) => rule.path as string))],
    since: noDataWindow(now) * NO_DATA_WINDOW_MS - longestMs - NO_DATA_WINDOW_MS,
  };
}

/**
 * One device's no-data observations for the window that holds `now`, as an evaluation for
 * decideAlerts. A reading never seen counts as silent since the device was last seen (see
 * `readingsSearchedSince` for a bounded look-up).
 */
export function evaluateNoData(type: CompiledDeviceType, device: DeviceSilence, now: number): RuleEvaluation {
  const window = noDataWindow(now);
  const windowStart = window * NO_DATA_WINDOW_MS;
  const messageId = `${NO_DATA_STREAM}:${window}`;
  const observations: RuleObservation[] = [];
  const notFound =
    device.readingsSearchedSince === undefined
      ? device.lastSeen
      : Math.min(device.lastSeen, device.readingsSearchedSince);
  for (const rule of type.noDataRules) {
    const seen =
      rule.path === undefined ? device.lastSeen : (device.readingsSeen?.get(rule.path) ?? notFound);
    const silentSeconds = silentSecondsOf(rule, type);
    // Measured from the window's start, so every run in the window sees the same silence.
    const silence = Math.max(0, Math.floor((windowStart - seen) / 1000));
    const alert: Alert = {
      alert_id: `${device.deviceId}:${messageId}:${rule.ruleId}`,
      device_id: device.deviceId,
      device_type: type.typeId,
      rule_id: rule.ruleId,
      rule_name: rule.name,
      path: rule.path ?? DEVICE_SILENCE_PATH,
      operator: 'gt',
      value: silence,
      threshold: silentSeconds,
      unit: 's',
      severity: rule.severity,
      triggered_at: toIsoTime(windowStart),
      raised_at: toIsoTime(now),
      message_id: messageId,
      transition: 'raised',
      rule_kind: 'no_data',
    };
    observations.push({
      ruleId: rule.ruleId,
      at: windowStart,
      forMs: 0,
      alert,
      signal: silence > silentSeconds ? 'raise' : 'clear',
    });
  }
  return {
    position: { stream: NO_DATA_STREAM, offset: window },
    matched: [],
    notMatched: [],
    observations,
  };
}
