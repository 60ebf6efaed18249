/**
 * One device: latest values with their quality, a live chart per numeric measurement with the
 * registry's unit and ranges (normal band filled, valid range dashed), recent alerts, and the device's
 * events (trips, resets) and maintenance flags.
 */
import { lifecycleBadge } from '../alert-lifecycle.js';
import { ApiError } from '../api.js';
import type {
  AlertRecord,
  DeviceDetail,
  DeviceTypeDefinition,
  Page,
  ReadingDefinition,
  Telemetry,
} from '../api-types.js';
import { type TimeChart, timeChart } from '../chart.js';
import { field, h, replace, select } from '../dom.js';
import { isChartable, readingsOf } from '../measurements.js';
import { storedValueText } from '../reading-value.js';
import {
  empty,
  errorState,
  formatNumber,
  formatValue,
  loading,
  qualityBadge,
  severityBadge,
  statusBadge,
  table,
  timeAgo,
} from '../ui.js';
import type { View } from '../view.js';

const CHART_WINDOWS = [
  ['15', 'Last 15 minutes'],
  ['60', 'Last hour'],
  ['360', 'Last 6 hours'],
] as const;

/** Longer windows are read as one-minute buckets (avg), so a chart never asks for thousands of raw points. */
const bucketFor = (minutes: number) => (minutes > 60 ? '1m' : undefined);

interface BucketPoint {
  readonly time: string;
  readonly avg: number;
}

const CHART_REFRESH_MS = 15_000;
const EVENTS_REFRESH_MS = 60_000;

export const deviceView: View = (root, context) => {
  let chartsRefreshedAt = 0;
  let eventsRefreshedAt = 0;
  const deviceId = context.params.get('id') ?? '';
  let minutes = Number(context.params.get('minutes') ?? '15');
  if (!CHART_WINDOWS.some(([value]) => Number(value) === minutes)) minutes = 15;
  const title = h('h1', {}, deviceId);
  const summary = h('div', { aria: { live: 'polite' } }, loading('the device'));
  const latest = h('div', {}, loading('latest values'));
  const charts = h('div', { className: 'grid grid-2' });
  const alerts = h('div', {}, loading('alerts'));
  const events = h('div', {}, loading('events'));
  const windowSelect = select(CHART_WINDOWS, String(minutes), { id: 'device-chart-window' });
  let readings = new Map<string, ReadingDefinition>();
  const chartsByMeasure = new Map<string, { chart: TimeChart; state: HTMLElement }>();
  context.signal.addEventListener('abort', () => {
    for (const { chart } of chartsByMeasure.values()) chart.destroy();
  });

  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('div', {}, h('a', { href: '#/devices', className: 'back' }, '← Devices'), title),
      h('div', { className: 'toolbar' }, field('Chart window', windowSelect)),
    ),
    h('section', { className: 'card' }, summary),
    h('section', { className: 'card' }, h('h2', {}, 'Latest values'), latest),
    h('section', { className: 'card' }, h('h2', {}, 'Measurements'), charts),
    h(
      'div',
      { className: 'grid grid-2' },
      h('section', { className: 'card' }, h('h2', {}, 'Alert history'), alerts),
      h('section', { className: 'card' }, h('h2', {}, 'Events and maintenance'), events),
    ),
  );

  let typeLoaded: Promise<void> | undefined;
  const loadType = (typeId: string, signal: AbortSignal) =>
    (typeLoaded ??= context.api
      .get<DeviceTypeDefinition>(`/api/device-types/${encodeURIComponent(typeId)}`, {}, signal)
      .then(
        (type) => {
          readings = readingsOf(type);
          buildCharts();
        },
        (error: unknown) => {
          typeLoaded = undefined; // try again on the next refresh
          replace(charts, errorState(`the definition of ${typeId}`, error));
        },
      ));

  // ----- export (issue 16): each chart downloads its own range (the window as of the click) -------
  const exportButtons = (measure: string) =>
    h(
      'div',
      { className: 'toolbar chart-export', aria: { label: `Download ${measure}` } },
      ...(['csv', 'parquet'] as const).map((format) =>
        h(
          'button',
          {
            type: 'button',
            className: 'secondary',
            data: { export: format, measure },
            title: `Download ${measure} over the chart's window as ${format.toUpperCase()}`,
            on: {
              click: () => {
                const to = Date.now();
                const link = h('a', {
                  href: context.api.url(`/api/devices/${encodeURIComponent(deviceId)}/export`, {
                    format,
                    measures: measure,
                    from: new Date(to - minutes * 60_000).toISOString(),
                    to: new Date(to).toISOString(),
                  }),
                });
                // The API names the file (Content-Disposition); `download` keeps the page where it is.
                link.setAttribute('download', '');
                link.click();
              },
            },
          },
          `Download ${format.toUpperCase()}`,
        ),
      ),
    );

  const buildCharts = () => {
    const chartable = [...readings].filter(([, reading]) => isChartable(reading));
    if (chartable.length === 0) {
      replace(charts, empty('This device type has no numeric measurement to chart.'));
      return;
    }
    replace(charts);
    for (const [measure, reading] of chartable) {
      const chart = timeChart({
        title: measure,
        unit: reading.unit,
        series: [{ label: measure, color: '#0969da' }],
        ...(reading.normalRange ? { normal: reading.normalRange } : {}),
        ...(reading.validRange ? { valid: reading.validRange } : {}),
      });
      const state = h('div', {}, loading(measure));
      const ranges = [
        reading.normalRange ? `normal ${reading.normalRange.min} to ${reading.normalRange.max}` : null,
        reading.validRange ? `valid ${reading.validRange.min} to ${reading.validRange.max}` : null,
      ].filter(Boolean);
      charts.append(
        h(
          'figure',
          { className: 'chart-card', data: { measure } },
          h(
            'figcaption',
            {},
            h('strong', {}, measure),
            ` ${reading.unit}`,
            h('span', { className: 'muted' }, ranges.length ? ` · ${ranges.join(' · ')}` : ''),
            h('br'),
            h('small', { className: 'muted' }, reading.description),
          ),
          chart.element,
          state,
          exportButtons(measure),
        ),
      );
      chartsByMeasure.set(measure, { chart, state });
    }
  };

  const refreshCharts = async (signal: AbortSignal) => {
    const to = Date.now();
    const from = new Date(to - minutes * 60_000).toISOString();
    const bucket = bucketFor(minutes);
    await Promise.all(
      [...chartsByMeasure].map(async ([measure, { chart, state }]) => {
        try {
          const series = await context.api.get<Telemetry>(
            `/api/devices/${encodeURIComponent(deviceId)}/telemetry`,
            { measure, from, bucket, limit: 1000 },
            signal,
          );
          const points = series.points as unknown as (BucketPoint & { value?: unknown })[];
          const numeric = points
            .map((p) => ({ time: Date.parse(p.time) / 1000, value: bucket ? p.avg : p.value }))
            .filter((p): p is { time: number; value: number } => typeof p.value === 'number')
            .sort((a, b) => a.time - b.time);
          chart.setData(
            numeric.map((p) => p.time),
            [numeric.map((p) => p.value)],
          );
          replace(state, numeric.length === 0 ? empty('No value in this window.') : null);
        } catch (error) {
          if (signal.aborted) throw error;
          replace(state, errorState(measure, error));
        }
      }),
    );
  };

  const renderDetail = (device: DeviceDetail) => {
    replace(
      summary,
      h(
        'dl',
        { className: 'facts' },
        h('dt', {}, 'Type'),
        h(
          'dd',
          {},
          h('a', { href: `#/registry/types/${encodeURIComponent(device.deviceType)}` }, device.deviceType),
        ),
        h('dt', {}, 'Status'),
        h('dd', {}, statusBadge(device.status)),
        h('dt', {}, 'Last seen'),
        h('dd', {}, timeAgo(device.lastSeen)),
        h('dt', {}, 'First seen'),
        h('dd', {}, timeAgo(device.firstSeen)),
        h('dt', {}, 'Messages'),
        h('dd', {}, formatNumber(device.messageCount)),
        h('dt', {}, 'Inspect'),
        h(
          'dd',
          {},
          h(
            'a',
            { href: `#/inspector?device=${encodeURIComponent(device.deviceId)}` },
            'Messages of this device',
          ),
        ),
      ),
    );
    const rows = [...device.latest].sort((a, b) => a.measure.localeCompare(b.measure));
    // The registry's readings first; trend statistics (`voltage.phase_a.avg`), status and event
    // series underneath, folded.
    const readingRows = rows.filter((row) => readings.has(row.measure));
    const otherRows = rows.filter((row) => !readings.has(row.measure));
    const latestTable = (caption: string, subset: typeof rows) =>
      table(
        caption,
        ['Measurement', 'Value', 'Unit', 'Quality', 'Time'],
        subset.map((row) => [
          row.measure,
          storedValueText(readings.get(row.measure), row.value),
          row.unit ?? '',
          qualityBadge(row.quality),
          timeAgo(row.time),
        ]),
      );
    replace(
      latest,
      rows.length === 0
        ? empty(
            'No stored value yet.',
            'Values appear once an enriched message of this device has been written.',
          )
        : latestTable('Latest values', readingRows.length > 0 ? readingRows : rows),
      readingRows.length > 0 && otherRows.length > 0
        ? h(
            'details',
            { className: 'more' },
            h('summary', {}, `Trend statistics, status and event series (${otherRows.length})`),
            latestTable('Other latest series', otherRows),
          )
        : null,
    );
  };

  // Issue 15: the device's alert history, raises with their lifecycle state and the clears that ended them.
  const refreshAlerts = async (signal: AbortSignal) => {
    try {
      const page = await context.api.get<Page<AlertRecord>>('/api/alerts', { deviceId, limit: 50 }, signal);
      const history = [...page.items].sort((a, b) => b.raised_at.localeCompare(a.raised_at));
      replace(
        alerts,
        history.length === 0
          ? empty('No alert for this device.')
          : table(
              'Alert history of this device, newest first',
              ['Time', 'State', 'Severity', 'Rule', 'Value', 'Note'],
              history.map((a) => [
                timeAgo(a.raised_at),
                lifecycleBadge(a),
                severityBadge(a.severity),
                a.rule_name,
                `${a.path} = ${formatValue(a.value)} ${a.unit}`,
                a.lifecycle?.note ?? '',
              ]),
            ),
        h(
          'p',
          {},
          h(
            'a',
            { href: `#/alerts?device=${encodeURIComponent(deviceId)}` },
            'Acknowledge or clear in Alerts',
          ),
        ),
      );
    } catch (error) {
      if (signal.aborted) throw error;
      replace(alerts, errorState('alerts', error));
    }
  };

  const series = (measure: string, from: string, signal: AbortSignal) =>
    context.api.get<Telemetry>(
      `/api/devices/${encodeURIComponent(deviceId)}/telemetry`,
      { measure, from, limit: 1000 },
      signal,
    );

  const refreshEvents = async (signal: AbortSignal) => {
    const from = new Date(Date.now() - 24 * 3600_000).toISOString();
    const maintenance = [...readings]
      .filter(([path, r]) => r.dataType === 'boolean' && path.includes('maintenance'))
      .map(([path]) => path);
    try {
      const [types, messages, ...flags] = await Promise.all([
        series('event.type', from, signal),
        series('event.message', from, signal),
        ...maintenance.map((path) => series(path, from, signal)),
      ]);
      const messageAt = new Map(messages?.points.map((p) => [p.time, String(p.value)]) ?? []);
      const rows: { time: string; what: string; detail: string }[] = (types?.points ?? []).map((p) => ({
        time: p.time,
        what: String(p.value),
        detail: messageAt.get(p.time) ?? '',
      }));
      flags.forEach((flag, index) => {
        // Only the changes: maintenance became due, or was done.
        let previous: unknown;
        for (const point of [...flag.points].sort((a, b) => a.time.localeCompare(b.time))) {
          if (point.value !== previous && previous !== undefined)
            rows.push({
              time: point.time,
              what: point.value === true ? 'maintenance due' : 'maintenance done',
              detail: maintenance[index] ?? '',
            });
          else if (previous === undefined && point.value === true)
            rows.push({ time: point.time, what: 'maintenance due', detail: maintenance[index] ?? '' });
          previous = point.value;
        }
      });
      rows.sort((a, b) => b.time.localeCompare(a.time));
      replace(
        events,
        rows.length === 0
          ? empty(
              'No event in the last 24 hours.',
              'Trips, resets and maintenance flags of this device appear here.',
            )
          : table(
              'Events of the last 24 hours',
              ['Time', 'Event', 'Detail'],
              rows.slice(0, 50).map((r) => [timeAgo(r.time), h('strong', {}, r.what), r.detail]),
            ),
      );
    } catch (error) {
      if (signal.aborted) throw error;
      replace(events, errorState('events', error));
    }
  };

  context.poll(async (signal) => {
    let device: DeviceDetail;
    try {
      device = await context.api.get<DeviceDetail>(
        `/api/devices/${encodeURIComponent(deviceId)}`,
        {},
        signal,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      const unknown = error instanceof ApiError && (error.status === 404 || error.status === 400);
      replace(
        summary,
        unknown
          ? empty(`No device "${deviceId}" has been seen.`, 'Check the id, or wait for its first message.')
          : errorState('the device', error),
      );
      for (const section of [latest, alerts, events]) replace(section);
      return;
    }
    await loadType(device.deviceType, signal);
    renderDetail(device);
    // One query per chart: in AWS each is a Timestream query (billed at 10 MB at least), so the charts
    // and the 24-hour event list refresh less often than the latest values.
    const now = Date.now();
    const work = [refreshAlerts(signal)];
    if (chartsByMeasure.size > 0 && now - chartsRefreshedAt >= CHART_REFRESH_MS) {
      chartsRefreshedAt = now;
      work.push(refreshCharts(signal));
    }
    if (now - eventsRefreshedAt >= EVENTS_REFRESH_MS) {
      eventsRefreshedAt = now;
      work.push(refreshEvents(signal));
    }
    await Promise.all(work);
  });

  windowSelect.addEventListener('change', () => {
    minutes = Number(windowSelect.value);
    context.setParams({ minutes: String(minutes) });
    void refreshCharts(context.signal).catch(() => undefined);
  });
};
