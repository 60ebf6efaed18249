/**
 * Edge-triggered alerts, pure: which of a message's candidate alerts are raised, given the stored
 * condition state of each (device, rule). A rule raises an alert when its condition starts matching
 * (onset); while it keeps matching nothing new is raised (continuation, counted as suppressed); a
 * message on which the rule was evaluated and did not match clears it; a message without the rule's
 * reading says nothing and changes nothing.
 *
 * Redelivery (at-least-once): the state records the stream position of the last message that changed
 * it (`through`) and the ids of its recent onsets. A message at or before `through` was already applied:
 * it changes nothing, and it raises its alert again only if it was an onset (its alert_id is in
 * `onsets`), so a crash between "state saved" and "alert produced" re-raises the same alert_id on
 * redelivery (the alert store is idempotent on it) and never raises one that was not an onset.
 * Continuations do not change the state: only transitions are written.
 *
 * Stateful rules (issue 15) come as observations, each with a signal: `raise` (the raise condition
 * holds), `clear` (the clear condition holds) or `hold` (neither: the hysteresis band between the raise
 * and the clear thresholds, where an active alert stays active and a pending one stops waiting).
 * - `forSeconds`: the first raise signal of an inactive condition records `pendingSince` (reading
 *   time); the alert is raised by the first raise signal at least `forMs` later; any other signal in
 *   between resets the wait.
 * - rate of change: the state keeps the sample the next rate is taken from; a reading less than
 *   `minSpanMs` after it is skipped (no signal, no write), any later one is compared with it and becomes
 *   the new sample, so these rules write their state about once per span (the one exception to "only
 *   transitions are written"); a gap wider than `maxGapMs` compares nothing.
 * - a clear is an event (alert-contract: `transition: 'cleared'`, `cleared_by: 'condition'`,
 *   `alert_id` = `${raised_alert_id}:cleared`); the state remembers which message cleared which raise,
 *   so a redelivered clearing message re-produces the same clear record, like an onset.
 *
 * Stale readings: a device's re-sent message (QoS 1 after a lost PUBACK) or a late one is a new stream
 * record, so the position check above does not catch it. The state keeps the newest reading time its
 * writes were decided on (`newest`); a message whose reading is older changes nothing for that rule: an
 * old breach does not raise again after its clear, and an old normal reading does not clear a newer
 * breach. `newest` is capped at the receive time, so one timestamp from a device's wrong clock (a year
 * ahead) does not make every later reading stale. Continuations are not written, so a late reading
 * older than a continuation but newer than the last write is still applied; an exact re-send never is
 * a change, since its original was decided before any later write.
 */
import type { Alert } from './contract/messages.js';

/** Where a message sits in its stream: one partition of one topic, and its offset there. */
export interface StreamPosition {
  readonly stream: string;
  readonly offset: number;
}

/** A clear remembered for redelivery: the candidate alert id of the clearing message, and the raise it ended. */
export interface RememberedClear {
  readonly by: string;
  readonly raised: string;
}

export interface ConditionState {
  readonly active: boolean;
  /** The alert_id of the current (or last) onset. */
  readonly alertId?: string;
  /** The newest onsets' alert ids, oldest first, at most MAX_REMEMBERED_ONSETS. */
  readonly onsets: readonly string[];
  /** The newest clears, oldest first, at most MAX_REMEMBERED_ONSETS. */
  readonly clears?: readonly RememberedClear[];
  /** Reading time (epoch ms) since which the raise condition of a `forSeconds` rule has held. */
  readonly pendingSince?: number;
  /** Rate-of-change rules: the previous reading and its time (epoch ms). */
  readonly sample?: { readonly value: number; readonly at: number };
  /** The last message that changed this state. */
  readonly through?: StreamPosition;
  /** The newest reading time (epoch ms, at most its receive time) a write of this state was decided on. */
  readonly newest?: number;
  /** Optimistic-concurrency version of the stored item; 0 = never stored. */
  readonly version: number;
}

/**
 * Onsets remembered per (device, rule): a redelivered batch can re-raise at most this many onsets of
 * one rule of one device (one batch flipping a condition more often than this is not plausible).
 */
export const MAX_REMEMBERED_ONSETS = 32;

export type RuleSignal = 'raise' | 'clear' | 'hold';

/** A stateful rule's evaluation on one message (see the header). */
export interface RuleObservation {
  readonly ruleId: string;
  /** Reading time, epoch ms. */
  readonly at: number;
  /** How long the raise condition must hold before it raises; 0 = at once. */
  readonly forMs: number;
  /** The raise record this message would produce; a clear is derived from it. */
  readonly alert: Alert;
  /** Threshold, group and no-data rules: the signal, known from the message alone. */
  readonly signal?: RuleSignal;
  /** Rate-of-change rules: the signal needs the stored previous sample. */
  readonly rate?: {
    readonly sample: number;
    readonly operator: 'gt' | 'gte' | 'lt' | 'lte';
    readonly threshold: number;
    readonly clearThreshold?: number;
    readonly maxGapMs: number;
    /** A reading closer than this to the stored sample is skipped (the sample stays). */
    readonly minSpanMs: number;
  };
}

/** A message's rule evaluations. */
export interface RuleEvaluation {
  /** Absent (tests, benchmarks): the message is never taken for a redelivery. */
  readonly position?: StreamPosition;
  /** The message's reading and receive times, epoch ms. Absent: it is never taken for a stale reading. */
  readonly time?: { readonly reading: number; readonly received: number };
  /** One candidate alert per rule that matched. */
  readonly matched: readonly Alert[];
  /** Rules evaluated on a reading present in the message that did not match. */
  readonly notMatched: readonly string[];
  /**
   * The record this message gives a rule of `notMatched` (its value now), from which a clear event is
   * derived. Absent: conditions clear without an event (v1 callers).
   */
  readonly describe?: (ruleId: string) => Alert | undefined;
  /** Stateful rules (forSeconds, clearThreshold, rate of change, groups, no data). */
  readonly observations?: readonly RuleObservation[];
}

export interface AlertDecision {
  /** Onsets only. */
  readonly raised: Alert[];
  /** Every transition event in order: raises and clears (what goes to iot.alerts and the alert store). */
  readonly events: Alert[];
  /** Continuations: a matching rule whose condition was already active. */
  readonly suppressed: number;
  /** The states to store, by rule id (only rules whose state changed). */
  readonly changed: Map<string, ConditionState>;
}

const INACTIVE: ConditionState = { active: false, onsets: [], version: 0 };

function alreadyApplied(state: ConditionState, position: StreamPosition | undefined): boolean {
  return (
    position !== undefined &&
    state.through !== undefined &&
    state.through.stream === position.stream &&
    position.offset <= state.through.offset
  );
}

/** The clear event of the raise `raisedAlertId`, described by this message's record of the rule. */
export function toClearEvent(
  record: Alert,
  raisedAlertId: string,
  clearedBy: 'condition' | 'operator',
): Alert {
  return {
    ...record,
    alert_id: `${raisedAlertId}:cleared`,
    transition: 'cleared',
    cleared_by: clearedBy,
    raised_alert_id: raisedAlertId,
  };
}

const rateSignal = (rate: NonNullable<RuleObservation['rate']>, perSecond: number): RuleSignal => {
  const { operator, threshold, clearThreshold } = rate;
  const raise =
    operator === 'gt'
      ? perSecond > threshold
      : operator === 'gte'
        ? perSecond >= threshold
        : operator === 'lt'
          ? perSecond < threshold
          : perSecond <= threshold;
  if (raise) return 'raise';
  if (clearThreshold === undefined) return 'clear';
  const cleared =
    operator === 'gt' || operator === 'gte' ? perSecond < clearThreshold : perSecond > clearThreshold;
  return cleared ? 'clear' : 'hold';
};

/** Applies one device's evaluations, in stream order, to its stored states (by rule id). */
export function decideAlerts(
  stored: ReadonlyMap<string, ConditionState>,
  evaluations: readonly RuleEvaluation[],
): AlertDecision {
  const current = new Map(stored);
  const changed = new Map<string, ConditionState>();
  const raised: Alert[] = [];
  const events: Alert[] = [];
  let suppressed = 0;
  /** The evaluation being applied: its reading time, capped at its receive time (see the header). */
  let newest: number | undefined;
  const set = (ruleId: string, next: Omit<ConditionState, 'version'>) => {
    const kept = newest === undefined ? next.newest : Math.max(next.newest ?? newest, newest);
    const state = {
      ...next,
      ...(kept === undefined ? {} : { newest: kept }),
      version: (stored.get(ruleId) ?? INACTIVE).version + 1,
    };
    current.set(ruleId, state);
    changed.set(ruleId, state);
  };
  /** The state without the fields a transition resets. */
  const base = (state: ConditionState, position: StreamPosition | undefined) => {
    const { version: _version, pendingSince: _pending, through: _through, ...rest } = state;
    return { ...rest, ...(position ? { through: position } : {}) };
  };
  const raise = (alert: Alert, state: ConditionState, position: StreamPosition | undefined) => {
    raised.push(alert);
    events.push(alert);
    set(alert.rule_id, {
      ...base(state, position),
      active: true,
      alertId: alert.alert_id,
      onsets: [...state.onsets, alert.alert_id].slice(-MAX_REMEMBERED_ONSETS),
    });
  };
  const clear = (record: Alert, state: ConditionState, position: StreamPosition | undefined) => {
    const raisedId = state.alertId as string;
    events.push(toClearEvent(record, raisedId, 'condition'));
    set(record.rule_id, {
      ...base(state, position),
      active: false,
      clears: [...(state.clears ?? []), { by: record.alert_id, raised: raisedId }].slice(
        -MAX_REMEMBERED_ONSETS,
      ),
    });
  };
  /** A redelivered message: re-produce what it produced the first time, change nothing. */
  const replay = (record: Alert, state: ConditionState): boolean => {
    if (state.onsets.includes(record.alert_id)) {
      raised.push(record);
      events.push(record);
      return true;
    }
    const cleared = state.clears?.find((c) => c.by === record.alert_id);
    if (cleared) events.push(toClearEvent(record, cleared.raised, 'condition'));
    return cleared !== undefined;
  };

  for (const { position, time, matched, notMatched, describe, observations } of evaluations) {
    newest = time && Math.min(time.reading, time.received);
    /** A reading older than what this rule's state was last written on (see the header). */
    const stale = (state: ConditionState) =>
      time !== undefined && state.newest !== undefined && time.reading < state.newest;
    for (const alert of matched) {
      const state = current.get(alert.rule_id) ?? INACTIVE;
      if (alreadyApplied(state, position)) {
        if (!replay(alert, state)) suppressed++;
      } else if (stale(state)) {
        // changes nothing
      } else if (state.active) {
        suppressed++;
      } else {
        raise(alert, state, position);
      }
    }
    for (const ruleId of notMatched) {
      const state = current.get(ruleId);
      if (!state) continue;
      if (alreadyApplied(state, position)) {
        const record = describe?.(ruleId);
        if (record) replay(record, state);
        continue;
      }
      if (!state.active || stale(state)) continue;
      const record = describe?.(ruleId);
      if (record) clear(record, state, position);
      else set(ruleId, { ...base(state, position), active: false });
    }
    for (const observation of observations ?? []) {
      const { ruleId, at, forMs } = observation;
      let { alert } = observation;
      const state = current.get(ruleId) ?? INACTIVE;
      if (alreadyApplied(state, position)) {
        if (!replay(alert, state) && state.active) suppressed++;
        continue;
      }
      if (stale(state)) continue;
      let signal = observation.signal;
      let next: ConditionState = state;
      if (observation.rate) {
        const previous = state.sample;
        if (previous && at <= previous.at) continue; // older than what the state compared: says nothing
        if (previous && at - previous.at < observation.rate.minSpanMs) continue; // too close to rate
        next = { ...state, sample: { value: observation.rate.sample, at } };
        if (previous && at - previous.at <= observation.rate.maxGapMs) {
          const perSecond = (observation.rate.sample - previous.value) / ((at - previous.at) / 1000);
          const rounded = Math.round(perSecond * 1e6) / 1e6;
          alert = { ...alert, value: rounded };
          signal = rateSignal(observation.rate, perSecond);
        }
        // The new sample is stored whatever the signal: the next message compares with it.
        set(ruleId, {
          ...base(next, position),
          ...(state.pendingSince === undefined ? {} : { pendingSince: state.pendingSince }),
        });
        next = current.get(ruleId) as ConditionState;
        if (signal === undefined) continue;
      }
      if (signal === 'raise') {
        if (next.active) {
          suppressed++;
          continue;
        }
        if (forMs > 0) {
          const since = next.pendingSince ?? at;
          if (at - since < forMs) {
            if (next.pendingSince === undefined) set(ruleId, { ...base(next, position), pendingSince: at });
            continue;
          }
        }
        raise(alert, next, position);
      } else if (next.active) {
        if (signal === 'clear') clear(alert, next, position);
      } else if (next.pendingSince !== undefined) {
        set(ruleId, base(next, position)); // the condition stopped holding: the wait starts over
      }
    }
  }
  return { raised, events, suppressed, changed };
}
