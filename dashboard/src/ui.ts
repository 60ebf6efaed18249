/** Shared pieces of every view: states (loading, empty, error), badges, times, tables. */
import { DEVICE_ID_PATTERN } from '../../functions/core/contract/identifiers.js';
import { ApiError } from './api.js';
import { type Child, h, replace } from './dom.js';

export function loading(what: string): HTMLElement {
  return h(
    'p',
    { className: 'state state-loading', role: 'status' },
    h('span', { className: 'spinner', aria: { hidden: 'true' } }),
    `Loading ${what}…`,
  );
}

export function empty(title: string, hint?: string): HTMLElement {
  return h(
    'div',
    { className: 'state state-empty', role: 'status' },
    h('strong', {}, title),
    hint ? h('p', {}, hint) : null,
  );
}

export function errorState(what: string, error: unknown, retry?: () => void): HTMLElement {
  const message =
    error instanceof ApiError
      ? `${error.message} (${error.status ? `HTTP ${error.status}, ` : ''}${error.code})`
      : String(error);
  return h(
    'div',
    { className: 'state state-error', role: 'alert' },
    h('strong', {}, `Could not load ${what}`),
    h('p', {}, message),
    retry ? h('button', { type: 'button', on: { click: retry } }, 'Try again') : null,
  );
}

const QUALITY_CLASS: Record<string, string> = { GOOD: 'good', SUSPECT: 'suspect', BAD: 'bad' };

export function qualityBadge(verdict: string | undefined): HTMLElement {
  const text = verdict ?? 'n/a';
  return h('span', { className: `badge badge-${QUALITY_CLASS[text] ?? 'neutral'}` }, text);
}

const SEVERITY_CLASS: Record<string, string> = {
  critical: 'bad',
  high: 'bad',
  medium: 'suspect',
  low: 'neutral',
  info: 'neutral',
};

export function severityBadge(severity: string | undefined): HTMLElement {
  const text = severity ?? 'n/a';
  return h('span', { className: `badge badge-${SEVERITY_CLASS[text] ?? 'neutral'}` }, text);
}

export function statusBadge(status: string): HTMLElement {
  const kind =
    status === 'online' || status === 'active'
      ? 'good'
      : status === 'offline' || status === 'inactive'
        ? 'bad'
        : 'neutral';
  return h('span', { className: `badge badge-${kind}` }, status);
}

/** "12 s ago" with the exact UTC time as a tooltip and for screen readers. */
export function timeAgo(iso: string | null | undefined, now = Date.now()): HTMLElement {
  if (!iso) return h('span', { className: 'muted' }, 'never');
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return h('span', {}, iso);
  const seconds = Math.round((now - time) / 1000);
  const text =
    Math.abs(seconds) < 60
      ? `${seconds} s ago`
      : Math.abs(seconds) < 3600
        ? `${Math.round(seconds / 60)} min ago`
        : Math.abs(seconds) < 86_400
          ? `${Math.round(seconds / 3600)} h ago`
          : new Date(time).toISOString().slice(0, 16).replace('T', ' ');
  const element = h('time', { title: new Date(time).toISOString() }, text);
  element.dateTime = new Date(time).toISOString();
  return element;
}

export const formatNumber = (value: number, digits = 2): string =>
  Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: digits });

export function formatValue(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value, 3);
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

/** A table inside a scrolling wrapper (wide tables scroll on a phone instead of breaking the layout). */
export function table(
  caption: string,
  headers: readonly string[],
  rows: readonly Child[][],
  className = '',
): HTMLElement {
  return h(
    'div',
    { className: 'table-wrap', tabIndex: 0, role: 'region', aria: { label: caption } },
    h(
      'table',
      { className },
      h('caption', { className: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', {}, header)))),
      h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))),
    ),
  );
}

export function card(title: string, ...children: Child[]): HTMLElement {
  return h('section', { className: 'card' }, h('h2', {}, title), ...children);
}

/** A figure with its label: `metric('Devices seen', '12')`. */
export function metric(label: string, value: Child, note?: Child): HTMLElement {
  return h(
    'div',
    { className: 'metric' },
    h('span', { className: 'metric-label' }, label),
    h('span', { className: 'metric-value' }, value),
    note ? h('span', { className: 'metric-note' }, note) : null,
  );
}

/** A horizontal share bar; the width is set through the CSSOM, which the CSP allows (inline style attributes it does not). */
export function shareBar(share: number, kind = 'neutral'): HTMLElement {
  const fill = h('span', { className: `bar-fill bar-${kind}` });
  fill.style.width = `${Math.max(0, Math.min(100, share * 100)).toFixed(1)}%`;
  return h('span', { className: 'bar', aria: { hidden: 'true' } }, fill);
}

/** Pretty JSON as text (never markup). */
export function jsonBlock(value: unknown, label: string): HTMLElement {
  return h('pre', { className: 'json', tabIndex: 0, aria: { label } }, JSON.stringify(value, null, 2));
}

/**
 * `replace` for live lists: a refresh keeps the keyboard focus (on the element with the same
 * `data-focus-key`) and the scroll position of the list, so polling never throws a user back to the top.
 */
export function replaceKeepingFocus(container: HTMLElement, ...children: Child[]): void {
  const focused =
    document.activeElement instanceof HTMLElement && container.contains(document.activeElement)
      ? document.activeElement.dataset.focusKey
      : undefined;
  const scrolled = container.querySelector('.table-wrap')?.scrollTop ?? 0;
  replace(container, ...children);
  const wrap = container.querySelector('.table-wrap');
  if (wrap) wrap.scrollTop = scrolled;
  if (focused === undefined) return;
  for (const element of container.querySelectorAll<HTMLElement>('[data-focus-key]'))
    if (element.dataset.focusKey === focused) {
      element.focus({ preventScroll: true });
      break;
    }
}

/**
 * Shows whether a device-id filter is valid next to its field (the API would answer 400 otherwise);
 * true when it is valid or empty, so the caller applies it.
 */
export function showDeviceIdValidity(input: HTMLInputElement, error: HTMLElement, deviceId: string): boolean {
  if (deviceId && !DEVICE_ID_PATTERN.test(deviceId)) {
    input.setAttribute('aria-invalid', 'true');
    replace(error, 'A device id is 1 to 128 of A-Z a-z 0-9 _ . : - (starting with a letter or digit).');
    return false;
  }
  input.removeAttribute('aria-invalid');
  replace(error);
  return true;
}
