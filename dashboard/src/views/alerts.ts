/** Alerts: newest first, filtered by severity and device. */
import { DEVICE_ID_PATTERN } from '../../../functions/core/contract/identifiers.js';
import type { Alert, Page } from '../api-types.js';
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

const condition = (alert: Alert): string => {
  if (alert.range) return `${alert.operator.replace('_', ' ')} ${alert.range.min} to ${alert.range.max}`;
  return `${alert.operator} ${formatValue(alert.threshold)}`;
};

export const alertsView: View = (root, context) => {
  let severity = context.params.get('severity') ?? '';
  let deviceId = context.params.get('device') ?? '';
  const severitySelect = select(SEVERITIES, severity, { id: 'alerts-severity' });
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
    let page: Page<Alert>;
    try {
      page = await context.api.get<Page<Alert>>('/api/alerts', { severity, deviceId, limit: 200 }, signal);
    } catch (error) {
      replace(
        list,
        errorState('alerts', error, () => refresh()),
      );
      throw error;
    }
    const alerts = [...page.items].sort((a, b) => b.raised_at.localeCompare(a.raised_at));
    replaceKeepingFocus(
      list,
      alerts.length === 0
        ? empty(
            severity || deviceId ? 'No alert matches these filters.' : 'No alert has been raised.',
            'Alerts come from the alert rules of each device type (Registry).',
          )
        : table(
            'Alerts, newest first',
            ['Raised', 'Severity', 'Device', 'Rule', 'Value', 'Condition', 'Reading time'],
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
            ]),
          ),
    );
  });

  const apply = () => {
    context.setParams({ severity: severity || undefined, device: deviceId || undefined });
    replace(list, loading('alerts'));
    refresh();
  };
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
        field('Severity', severitySelect),
        h('div', {}, field('Device id', deviceInput), deviceError),
      ),
    ),
    h('section', { className: 'card' }, list),
  );
};
