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
import type { Alert, EnrichedMessage } from './contract/messages.js';
import type { NoDataRule } from './contract/registry.js';
import type { CompiledDeviceType, CompiledRegistry } from './registry.js';
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
  /**
   * Epoch ms of the newest value of each watched reading (the device record's, recorded by the enrich
   * stage's bookkeeping: see watchedReadingsOf); a reading absent here was never recorded.
   */
  readonly readingsSeen?: ReadonlyMap<string, number>;
}

/**
 * Reading paths some reading-level no-data rule of a type watches, per type id (types without such a
 * rule are left out). A plain object, so it crosses to a worker thread as it is (local/timeseries).
 */
export type WatchedReadings = Readonly<Record<string, readonly string[]>>;

const watchedByRegistry = new WeakMap<CompiledRegistry, WatchedReadings>();

/**
 * The readings the enrich stage's bookkeeping records on each device record (issue 15): only those a
 * no-data rule watches, so a device record grows by one attribute per watched reading, not per reading.
 * Computed once per compiled registry.
 */
export function watchedReadingsOf(registry: CompiledRegistry): WatchedReadings {
  let watched = watchedByRegistry.get(registry);
  if (!watched) {
    const byType: Record<string, readonly string[]> = {};
    for (const type of registry.typeList) {
      const paths = new Set<string>();
      for (const rule of type.noDataRules) if (rule.path !== undefined) paths.add(rule.path);
      if (paths.size > 0) byType[type.typeId] = [...paths];
    }
    watched = byType;
    watchedByRegistry.set(registry, watched);
  }
  return watched;
}

/**
 * The watched readings a message carries a value for. A reading counts when its verdict is GOOD or
 * SUSPECT; a BAD one (null, the wrong type, outside the physical range) does not: it is what the
 * time-series sinks leave out too (timeseries.ts), so the silence an alert names is the gap an
 * operator sees in the reading's chart, and a probe that keeps sending null or garbage is exactly what
 * a reading-level no-data rule is there to catch while the device as a whole keeps reporting.
 * Telemetry and trends carry readings; status and event messages none.
 */
export function watchedReadingsIn(message: EnrichedMessage, watched: WatchedReadings): string[] {
  const paths = watched[message.device_metadata.device_type];
  if (!paths || (message.event_type !== 'telemetry' && message.event_type !== 'trends')) return [];
  const readings = message.data_quality.readings;
  return paths.filter((path) => {
    const verdict = readings[path]?.verdict;
    return verdict !== undefined && verdict !== 'BAD';
  });
}

/** The window index of a time: the evaluator's stream offset. */
export const noDataWindow = (now: number): number => Math.floor(now / NO_DATA_WINDOW_MS);

/**
 * One device's no-data observations for the window that holds `now`, as an evaluation for
 * decideAlerts. A reading never seen counts as silent since the device was last seen.
 */
export function evaluateNoData(type: CompiledDeviceType, device: DeviceSilence, now: number): RuleEvaluation {
  const window = noDataWindow(now);
  const windowStart = window * NO_DATA_WINDOW_MS;
  const messageId = `${NO_DATA_STREAM}:${window}`;
  const observations: RuleObservation[] = [];
  for (const rule of type.noDataRules) {
    const seen =
      rule.path === undefined ? device.lastSeen : (device.readingsSeen?.get(rule.path) ?? device.lastSeen);
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
