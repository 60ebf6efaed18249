/**
 * Alerts: newest first, filtered by lifecycle state, severity and device; each raise can be
 * acknowledged (with an optional note) or cleared here (issue 15).
 */
import { DEVICE_ID_PATTERN } from '../../../functions/core/contract/identifiers.js';
import { alertActions, lifecycleBadge } from '../alert-lifecycle.js';
import type { Alert, AlertRecord, Page } from '../api-types.js';
import { field, h, replace, select } from '../dom.js';
import {
  empty,
  errorState,
  formatValue,
  loading,
  replaceKeepingFocus,
  severityBadge,
  showDeviceIdValidity,
  table,
  timeAgo,
} from '../ui.js';
import type { View } from '../view.js';

const SEVERITIES = [
  ['', 'Any severity'],
  ['critical', 'Critical'],
  ['high', 'High'],
  ['medium', 'Medium'],
  ['low', 'Low'],
] as const;

// Issue 15: with a state, the API returns raises only (clear events have no state).
const STATES = [
  ['', 'Any state'],
  ['active', 'Active'],
  ['acknowledged', 'Acknowledged'],
  ['cleared', 'Cleared'],
] as const;

const condition = (alert: Alert): string => {
  if (alert.range) return `${alert.operator.replace('_', ' ')} ${alert.range.min} to ${alert.range.max}`;
  return `${alert.operator} ${formatValue(alert.threshold)}`;
};

export const alertsView: View = (root, context) => {
  let severity = context.params.get('severity') ?? '';
  let deviceId = context.params.get('device') ?? '';
  const initialState = context.params.get('state') ?? '';
  let state = STATES.some(([value]) => value === initialState) ? initialState : '';
  const stateSelect = select(STATES, state, { id: 'alerts-state' });
  const severitySelect = select(SEVERITIES, severity, { id: 'alerts-severity' });
  /** An acknowledge note being typed, or a write under way: the poll leaves the list alone. */
  let busy = false;
  const deviceInput = h('input', {
    type: 'search',
    id: 'alerts-device',
    value: deviceId,
    placeholder: 'all devices',
    autocomplete: 'off',
    spellcheck: false,
  });
  const deviceError = h('span', { className: 'field-error', role: 'alert', id: 'alerts-device-error' });
  deviceInput.setAttribute('aria-describedby', deviceError.id);
  const list = h('div', { aria: { live: 'polite' } }, loading('alerts'));

  const refresh = context.poll(async (signal) => {
    if (deviceId && !DEVICE_ID_PATTERN.test(deviceId)) return;
    if (busy) return;
    let page: Page<AlertRecord>;
    try {
      page = await context.api.get<Page<AlertRecord>>(
        '/api/alerts',
        { state, severity, deviceId, limit: 200 },
        signal,
      );
    } catch (error) {
      replace(
        list,
        errorState('alerts', error, () => refresh()),
      );
      throw error;
    }
    if (busy) return;
    const alerts = [...page.items].sort((a, b) => b.raised_at.localeCompare(a.raised_at));
    replaceKeepingFocus(
      list,
      alerts.length === 0
        ? empty(
            state || severity || deviceId ? 'No alert matches these filters.' : 'No alert has been raised.',
            'Alerts come from the alert rules of each device type (Registry).',
          )
        : table(
            'Alerts, newest first',
            [
              'Raised',
              'Severity',
              'Device',
              'Rule',
              'Value',
              'Condition',
              'Reading time',
              'State',
              'Actions',
            ],
            alerts.map((a) => [
              timeAgo(a.raised_at),
              severityBadge(a.severity),
              h(
                'a',
                {
                  href: `#/devices/${encodeURIComponent(a.device_id)}`,
                  data: { focusKey: `alert:${a.alert_id}` },
                },
                a.device_id,
              ),
              a.rule_name,
              `${a.path} = ${formatValue(a.value)} ${a.unit}`,
              condition(a),
              timeAgo(a.triggered_at),
              lifecycleBadge(a),
              alertActions(a, {
                api: context.api,
                signal,
                setBusy: (value) => {
                  busy = value;
                },
                onChanged: () => refresh(),
              }),
            ]),
          ),
    );
  });

  const apply = () => {
    context.setParams({
      state: state || undefined,
      severity: severity || undefined,
      device: deviceId || undefined,
    });
    busy = false;
    replace(list, loading('alerts'));
    refresh();
  };
  stateSelect.addEventListener('change', () => {
    state = stateSelect.value;
    apply();
  });
  severitySelect.addEventListener('change', () => {
    severity = severitySelect.value;
    apply();
  });
  deviceInput.addEventListener('change', () => {
    deviceId = deviceInput.value.trim();
    if (!showDeviceIdValidity(deviceInput, deviceError, deviceId)) return;
    apply();
  });

  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('h1', {}, 'Alerts'),
      h(
        'div',
        { className: 'toolbar' },
        field('State', stateSelect),
        field('Severity', severitySelect),
        h('div', {}, field('Device id', deviceInput), deviceError),
      ),
    ),
    h('section', { className: 'card' }, list),
  );
};
