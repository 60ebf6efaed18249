/**
 * Dead letters (issue 16): the dead-letter topic grouped by reason, device type and device over a
 * window, with counts and the newest examples (original payloads decoded as text, never as markup),
 * and a redrive button per group that sends the group's messages back through ingest unchanged.
 */

import { ApiError } from '../api.js';
import type { DlqRecord } from '../api-types.js';
import { field, h, replace, select } from '../dom.js';
import { empty, errorState, formatNumber, loading, replaceKeepingFocus, table, timeAgo } from '../ui.js';
import type { View } from '../view.js';
import { decodeOriginal } from './inspector.js';

/** The label the API gives a group field no dead letter had (functions/core/dead-letters.ts UNKNOWN). */
const UNKNOWN = '(unknown)';

interface DeadLetterGroup {
  readonly reason: string;
  readonly deviceType: string;
  readonly deviceId: string;
  readonly count: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  readonly examples: readonly DlqRecord[];
}

interface Triage {
  readonly from: string;
  readonly to: string;
  readonly total: number;
  readonly truncated: boolean;
  readonly groups: readonly DeadLetterGroup[];
}

interface Operation {
  readonly id: string;
  readonly state: string;
  readonly matched: number;
  readonly sent: number;
  readonly skipped: Record<string, number>;
}

const WINDOWS = [
  ['1', 'Last hour'],
  ['24', 'Last 24 hours'],
  ['168', 'Last 7 days'],
] as const;

export const deadLettersView: View = (root, context) => {
  let hours = Number(context.params.get('hours') ?? '24');
  if (!WINDOWS.some(([value]) => Number(value) === hours)) hours = 24;
  let triage: Triage | undefined;
  let window = { from: '', to: '' };
  let expanded: string | undefined;

  const windowSelect = select(WINDOWS, String(hours), { id: 'dead-letters-window' });
  const status = h('p', {
    className: 'muted',
    role: 'status',
    aria: { live: 'polite' },
    id: 'redrive-status',
  });
  const list = h('div', {}, loading('dead letters'));

  const refresh = context.poll(async (signal) => {
    const to = new Date();
    window = { from: new Date(to.getTime() - hours * 3_600_000).toISOString(), to: to.toISOString() };
    try {
      triage = await context.api.get<Triage>('/api/dlq/groups', window, signal);
    } catch (error) {
      replace(
        list,
        errorState('dead letters', error, () => refresh()),
      );
      throw error;
    }
    render();
  }, 10_000);

  const keyOf = (group: DeadLetterGroup) => `${group.reason}|${group.deviceType}|${group.deviceId}`;

  const redrive = async (group: DeadLetterGroup, button: HTMLButtonElement) => {
    button.disabled = true;
    status.textContent = `Redriving ${group.count} dead letter(s) of ${group.deviceId}…`;
    try {
      const result = await context.api.post<Operation>('/api/dlq/redrive', {
        reason: group.reason,
        ...(group.deviceType === UNKNOWN ? {} : { deviceType: group.deviceType }),
        deviceId: group.deviceId,
        ...window,
      });
      const skipped = Object.values(result.skipped).reduce((a, b) => a + b, 0);
      status.textContent =
        `Redrive ${result.id}: sent ${result.sent} of ${result.matched} back to ingest` +
        (skipped > 0 ? ` (${skipped} skipped: earlier attempts or stages that cannot be redriven)` : '') +
        '. A message that fails again returns here with its new reason.';
    } catch (error) {
      status.textContent =
        error instanceof ApiError && error.status === 401
          ? 'Sign in to redrive.'
          : `Redrive failed: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      button.disabled = false;
    }
  };

  const render = () => {
    if (!triage || triage.groups.length === 0) {
      replace(
        list,
        empty('No dead letter in this window.', 'Dead letters are kept as long as the stream retains them.'),
      );
      return;
    }
    const rows = triage.groups.map((group) => {
      const key = keyOf(group);
      const redriveButton = h(
        'button',
        { type: 'button', className: 'secondary', data: { focusKey: `redrive:${key}` } },
        'Redrive',
      );
      // A group without a device id would be every dead letter of the reason: not redriven from here.
      if (group.deviceId === UNKNOWN) {
        redriveButton.disabled = true;
        redriveButton.title =
          'These dead letters name no device: redrive them through the API with a filter.';
      } else redriveButton.addEventListener('click', () => void redrive(group, redriveButton));
      const examplesButton = h(
        'button',
        {
          type: 'button',
          className: 'link',
          data: { focusKey: `examples:${key}` },
          aria: { pressed: String(expanded === key) },
          on: {
            click: () => {
              expanded = expanded === key ? undefined : key;
              render();
            },
          },
        },
        'Examples',
      );
      return [
        h('code', {}, group.reason),
        group.deviceType,
        group.deviceId,
        formatNumber(group.count, 0),
        timeAgo(group.lastFailedAt),
        h('span', {}, examplesButton, ' ', redriveButton),
      ];
    });
    const open = triage.groups.find((group) => keyOf(group) === expanded);
    replaceKeepingFocus(
      list,
      h(
        'p',
        {},
        `${formatNumber(triage.total, 0)} dead letter(s)${triage.truncated ? ' (the oldest counted; more exist)' : ''}.`,
      ),
      table('Dead-letter groups', ['Reason', 'Device type', 'Device', 'Count', 'Last failed', ''], rows),
      open ? examples(open) : null,
    );
  };

  windowSelect.addEventListener('change', () => {
    hours = Number(windowSelect.value);
    context.setParams({ hours: String(hours) });
    replace(list, loading('dead letters'));
    refresh();
  });

  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('h1', {}, 'Dead letters'),
      h('div', { className: 'toolbar' }, field('Window', windowSelect)),
    ),
    h('section', { className: 'card' }, status, list),
  );
};

/** The newest examples of a group: reason detail and the original payload as text. */
function examples(group: DeadLetterGroup): HTMLElement {
  return h(
    'section',
    { className: 'detail', id: 'dead-letter-examples' },
    h('h2', {}, `Newest examples: ${group.reason}, ${group.deviceId}`),
    ...group.examples.map((letter) => {
      const original = decodeOriginal(letter.original_base64);
      return h(
        'div',
        {},
        h(
          'p',
          {},
          `${letter.failed_at} · ${letter.stage}${letter.redrive_count ? ` · redrive ${letter.redrive_count}` : ''}: ${letter.detail}`,
        ),
        h(
          'pre',
          { className: 'json original', tabIndex: 0, aria: { label: 'Original payload' } },
          original.json === undefined ? original.text : JSON.stringify(original.json, null, 2),
        ),
      );
    }),
  );
}
