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
 */
import type { Alert } from './contract/messages.js';

/** Where a message sits in its stream: one partition of one topic, and its offset there. */
export interface StreamPosition {
  readonly stream: string;
  readonly offset: number;
}

export interface ConditionState {
  readonly active: boolean;
  /** The alert_id of the current (or last) onset. */
  readonly alertId?: string;
  /** The newest onsets' alert ids, oldest first, at most MAX_REMEMBERED_ONSETS. */
  readonly onsets: readonly string[];
  /** The last message that changed this state. */
  readonly through?: StreamPosition;
  /** Optimistic-concurrency version of the stored item; 0 = never stored. */
  readonly version: number;
}

/**
 * Onsets remembered per (device, rule): a redelivered batch can re-raise at most this many onsets of
 * one rule of one device (one batch flipping a condition more often than this is not plausible).
 */
export const MAX_REMEMBERED_ONSETS = 32;

/** A message's rule evaluations. */
export interface RuleEvaluation {
  /** Absent (tests, benchmarks): the message is never taken for a redelivery. */
  readonly position?: StreamPosition;
  /** One candidate alert per rule that matched. */
  readonly matched: readonly Alert[];
  /** Rules evaluated on a reading present in the message that did not match. */
  readonly notMatched: readonly string[];
}

export interface AlertDecision {
  readonly raised: Alert[];
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

/** Applies one device's evaluations, in stream order, to its stored states (by rule id). */
export function decideAlerts(
  stored: ReadonlyMap<string, ConditionState>,
  evaluations: readonly RuleEvaluation[],
): AlertDecision {
  const current = new Map(stored);
  const changed = new Map<string, ConditionState>();
  const raised: Alert[] = [];
  let suppressed = 0;
  const set = (ruleId: string, next: Omit<ConditionState, 'version'>) => {
    const state = { ...next, version: (stored.get(ruleId) ?? INACTIVE).version + 1 };
    current.set(ruleId, state);
    changed.set(ruleId, state);
  };
  for (const { position, matched, notMatched } of evaluations) {
    for (const alert of matched) {
      const state = current.get(alert.rule_id) ?? INACTIVE;
      if (alreadyApplied(state, position)) {
        if (state.onsets.includes(alert.alert_id)) raised.push(alert);
        else suppressed++;
      } else if (state.active) {
        suppressed++;
      } else {
        raised.push(alert);
        set(alert.rule_id, {
          active: true,
          alertId: alert.alert_id,
          onsets: [...state.onsets, alert.alert_id].slice(-MAX_REMEMBERED_ONSETS),
          ...(position ? { through: position } : {}),
        });
      }
    }
    for (const ruleId of notMatched) {
      const state = current.get(ruleId);
      if (!state?.active || alreadyApplied(state, position)) continue;
      set(ruleId, {
        active: false,
        ...(state.alertId === undefined ? {} : { alertId: state.alertId }),
        onsets: state.onsets,
        ...(position ? { through: position } : {}),
      });
    }
  }
  return { raised, suppressed, changed };
}
