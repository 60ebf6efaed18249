/**
 * The header's active-alerts badge (issue 15): how many raised alerts are still `active` (neither
 * acknowledged nor cleared), counted by the API's `state=active` filter, on the dashboard's poll interval
 * for the whole session. A link to the alerts view filtered the same way.
 */
import type { Api } from './api.js';
import type { AlertRecord, Page } from './api-types.js';
import { h, replace } from './dom.js';

/** Dispatched on window by a view that acknowledged or cleared an alert: the badge counts again at once. */
export const ALERTS_CHANGED = 'iot-cloud:alerts-changed';

/** The API's page cap (MAX_ALERTS in functions/handlers/api/schemas.ts): a full page shows as "500+". */
const COUNT_LIMIT = 500;

export function activeAlertsBadge(api: Api, everyMs: number): HTMLAnchorElement {
  const count = h('span', { className: 'alert-count' }, '…');
  const element = h(
    'a',
    {
      href: '#/alerts?state=active',
      className: 'active-alerts',
      id: 'active-alerts',
      data: { count: '' },
      aria: { live: 'polite' },
    },
    count,
    ' active alerts',
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const check = async () => {
    // One count at a time: a change while counting counts again right after.
    if (running) {
      again = true;
      return;
    }
    running = true;
    if (timer !== undefined) clearTimeout(timer);
    try {
      const page = await api.get<Page<AlertRecord>>('/api/alerts', { state: 'active', limit: COUNT_LIMIT });
      const n = page.items.length;
      element.dataset.count = String(n);
      element.className = `active-alerts ${n > 0 ? 'active-alerts-some' : 'active-alerts-none'}`;
      replace(count, n >= COUNT_LIMIT ? `${COUNT_LIMIT}+` : String(n));
      element.title = n === 1 ? '1 alert is active' : `${n} alerts are active`;
    } catch {
      // The health badge next to it tells that the API is unreachable; this one says it does not know.
      element.dataset.count = '';
      element.className = 'active-alerts';
      replace(count, '?');
      element.title = 'the active alerts could not be counted';
    }
    running = false;
    if (again) {
      again = false;
      void check();
      return;
    }
    timer = setTimeout(() => void check(), everyMs);
  };
  window.addEventListener(ALERTS_CHANGED, () => void check());
  void check();
  return element;
}
