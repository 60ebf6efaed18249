/** Devices: every device seen, searchable, newest activity first. */
import type { DeviceSummary, DeviceTypeSummary, Page } from '../api-types.js';
import { field, h, replace, select } from '../dom.js';
import {
  empty,
  errorState,
  formatNumber,
  loading,
  replaceKeepingFocus,
  statusBadge,
  table,
  timeAgo,
} from '../ui.js';
import type { View } from '../view.js';

/** Devices read per refresh: the API's page limit. */
const PAGE = 500;

export const devicesView: View = (root, context) => {
  let search = context.params.get('q') ?? '';
  let deviceType = context.params.get('type') ?? '';
  let devices: DeviceSummary[] | undefined;
  let more = false;
  const searchInput = h('input', {
    type: 'search',
    id: 'device-search',
    value: search,
    placeholder: 'id or type',
    autocomplete: 'off',
  });
  const typeSelect = select([['', 'All types']], deviceType, { id: 'device-type-filter' });
  const list = h('div', { aria: { live: 'polite' } }, loading('devices'));

  context.api.get<Page<DeviceTypeSummary>>('/api/device-types', {}, context.signal).then(
    (types) => {
      for (const type of types.items) {
        const option = h('option', { value: type.typeId }, `${type.name} (${type.typeId})`);
        option.selected = type.typeId === deviceType;
        typeSelect.append(option);
      }
    },
    () => undefined, // the list below reports API trouble
  );

  const render = () => {
    if (!devices) return;
    const needle = search.trim().toLowerCase();
    const shown = devices
      .filter(
        (d) =>
          !needle || d.deviceId.toLowerCase().includes(needle) || d.deviceType.toLowerCase().includes(needle),
      )
      .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
    if (devices.length === 0) {
      replace(
        list,
        empty(
          'No device has sent a message yet.',
          'Devices appear here after their first message reaches the pipeline.',
        ),
      );
      return;
    }
    if (shown.length === 0) {
      replace(list, empty(`No device matches "${search}".`));
      return;
    }
    replaceKeepingFocus(
      list,
      h('p', { className: 'muted' }, `${shown.length} of ${devices.length}${more ? '+' : ''} devices`),
      table(
        'Devices',
        ['Device', 'Type', 'Status', 'Last seen', 'Messages', 'First seen'],
        shown.map((d) => [
          h(
            'a',
            {
              href: `#/devices/${encodeURIComponent(d.deviceId)}`,
              data: { focusKey: `device:${d.deviceId}` },
            },
            d.deviceId,
          ),
          d.deviceType,
          statusBadge(d.status),
          timeAgo(d.lastSeen),
          formatNumber(d.messageCount),
          timeAgo(d.firstSeen),
        ]),
      ),
    );
  };

  const refresh = context.poll(async (signal) => {
    try {
      const page = await context.api.get<Page<DeviceSummary>>(
        '/api/devices',
        { limit: PAGE, deviceType },
        signal,
      );
      devices = page.items;
      more = page.cursor !== undefined;
    } catch (error) {
      replace(
        list,
        errorState('devices', error, () => refresh()),
      );
      throw error;
    }
    render();
  });
  searchInput.addEventListener('input', () => {
    search = searchInput.value;
    context.setParams({ q: search || undefined, type: deviceType || undefined });
    render();
  });
  typeSelect.addEventListener('change', () => {
    deviceType = typeSelect.value;
    context.setParams({ q: search || undefined, type: deviceType || undefined });
    replace(list, loading('devices'));
    refresh();
  });

  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('h1', {}, 'Devices'),
      h('div', { className: 'toolbar' }, field('Search', searchInput), field('Device type', typeSelect)),
    ),
    h('section', { className: 'card' }, list),
  );
};
