/**
 * Alert lifecycle pieces (issue 15) shared by the alerts view and the device page: what an alert record
 * is (a raise with its state, or a clear event), and the acknowledge (with an optional note) and clear
 * actions, which write through the API with the configured token like the registry editor.
 */
import { ALERTS_CHANGED } from './alert-badge.js';
import { type Api, ApiError } from './api.js';
import type { AlertLifecycleState, AlertRecord } from './api-types.js';
import { h, replace } from './dom.js';

const STATE_CLASS: Record<AlertLifecycleState, string> = {
  active: 'bad',
  acknowledged: 'suspect',
  cleared: 'good',
};

/** A clear is its own record (`transition: cleared`); everything else is a raise. */
export const isClearEvent = (alert: AlertRecord): boolean => alert.transition === 'cleared';

/** The state of a raise (a v1 record stored before issue 15 has no lifecycle: it is active). */
export const stateOf = (alert: AlertRecord): AlertLifecycleState => alert.lifecycle?.state ?? 'active';

/** The state badge of a raise, or what ended it for a clear event. */
export function lifecycleBadge(alert: AlertRecord): HTMLElement {
  if (isClearEvent(alert))
    return h('span', { className: 'badge badge-good' }, `clear (${alert.cleared_by ?? 'condition'})`);
  const state = stateOf(alert);
  const lifecycle = alert.lifecycle;
  const who =
    state === 'cleared'
      ? `cleared ${lifecycle?.cleared_by === 'operator' ? `by ${lifecycle.cleared_by_user ?? 'an operator'}` : 'by its condition'}${lifecycle?.cleared_at ? ` at ${lifecycle.cleared_at}` : ''}`
      : state === 'acknowledged'
        ? `acknowledged by ${lifecycle?.acknowledged_by ?? 'an operator'}${lifecycle?.acknowledged_at ? ` at ${lifecycle.acknowledged_at}` : ''}`
        : 'neither acknowledged nor cleared';
  return h('span', { className: `badge badge-${STATE_CLASS[state]}`, title: who, data: { state } }, state);
}

const errorText = (error: unknown): string =>
  error instanceof ApiError ? `${error.message} (${error.code})` : String(error);

export interface AlertActionsOptions {
  readonly api: Api;
  readonly signal: AbortSignal;
  /** While true the caller should not redraw the row (a note is being typed or a write is under way). */
  readonly setBusy: (busy: boolean) => void;
  /** After a stored acknowledge or clear. */
  readonly onChanged: () => void;
}

/**
 * The buttons of one raise: Acknowledge (opens a note field; the note is optional) while active, Clear
 * while not cleared. Clear events and cleared raises get none.
 */
export function alertActions(alert: AlertRecord, options: AlertActionsOptions): HTMLElement | null {
  if (isClearEvent(alert)) return null;
  const state = stateOf(alert);
  if (state === 'cleared') return null;
  const path = `/api/alerts/${encodeURIComponent(alert.alert_id)}`;
  const container = h('div', {
    className: 'alert-actions',
    data: { alertId: alert.alert_id },
  });
  const error = h('span', { className: 'field-error', role: 'alert' });

  const write = async (action: 'acknowledge' | 'clear', body: unknown, buttons: HTMLButtonElement[]) => {
    for (const button of buttons) button.disabled = true;
    options.setBusy(true);
    replace(error);
    try {
      await options.api.post(`${path}/${action}`, body, options.signal);
      window.dispatchEvent(new Event(ALERTS_CHANGED));
      options.setBusy(false);
      options.onChanged();
    } catch (failure) {
      for (const button of buttons) button.disabled = false;
      options.setBusy(false);
      if (!options.signal.aborted) replace(error, `${action} failed: ${errorText(failure)}`);
    }
  };

  const clearButton = h('button', { type: 'button', className: 'secondary' }, 'Clear');
  clearButton.setAttribute('aria-label', `Clear alert ${alert.alert_id}`);
  clearButton.addEventListener('click', () => void write('clear', undefined, [clearButton]));

  const showButtons = () => {
    const acknowledge =
      state === 'active'
        ? h('button', { type: 'button', on: { click: () => showNoteForm() } }, 'Acknowledge')
        : null;
    acknowledge?.setAttribute('aria-label', `Acknowledge alert ${alert.alert_id}`);
    replace(container, acknowledge, clearButton, error);
  };

  const showNoteForm = () => {
    options.setBusy(true);
    const note = h('input', {
      type: 'text',
      placeholder: 'optional',
      autocomplete: 'off',
    });
    note.setAttribute('aria-label', `Note for alert ${alert.alert_id} (optional)`);
    note.maxLength = 1000; // AcknowledgeBody's limit
    const confirm = h('button', { type: 'submit' }, 'Confirm acknowledge');
    const cancel = h('button', { type: 'button', className: 'secondary' }, 'Cancel');
    const form = h('form', { className: 'alert-actions' }, note, confirm, cancel);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = note.value.trim();
      void write('acknowledge', text ? { note: text } : {}, [confirm, cancel]);
    });
    cancel.addEventListener('click', () => {
      options.setBusy(false);
      showButtons();
    });
    replace(container, form, error);
    note.focus();
  };

  showButtons();
  return container;
}
