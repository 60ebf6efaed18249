/** Overview: the pipeline's measured figures from /api/stats (nothing estimated, nothing hard-coded). */
import type { Stats } from '../api-types.js';
import { timeChart } from '../chart.js';
import { field, h, replace, select } from '../dom.js';
import { card, empty, errorState, formatNumber, loading, metric, shareBar, table, timeAgo } from '../ui.js';
import type { View } from '../view.js';

export const WINDOWS = [
  ['5m', 'Last 5 minutes'],
  ['15m', 'Last 15 minutes'],
  ['60m', 'Last hour'],
  ['360m', 'Last 6 hours'],
  ['1440m', 'Last 24 hours'],
] as const;

const STAGES = [
  { key: 'raw', label: 'Raw', color: '#0969da' },
  { key: 'enriched', label: 'Enriched', color: '#1a7f37' },
  { key: 'dlq', label: 'DLQ', color: '#cf222e' },
  { key: 'alerts', label: 'Alerts', color: '#9a6700' },
] as const;

export const overviewView: View = (root, context) => {
  let window = context.params.get('window') ?? '15m';
  if (!WINDOWS.some(([value]) => value === window)) window = '15m';
  const windowSelect = select(WINDOWS, window, { id: 'overview-window' });
  const figures = h('div', { className: 'metrics', aria: { live: 'polite' } }, loading('figures'));
  const chart = timeChart({
    title: 'Messages per minute',
    unit: 'msg/min',
    series: STAGES.map((s) => ({ label: s.label, color: s.color })),
  });
  const chartState = h('div', {});
  const typeMix = h('div', {}, loading('device types'));
  const qualityMix = h('div', {}, loading('quality verdicts'));
  const dlqReasons = h('div', {}, loading('dead-letter reasons'));
  const refresh = context.poll(async (signal) => {
    let stats: Stats;
    try {
      stats = await context.api.get<Stats>('/api/stats', { window }, signal);
    } catch (error) {
      replace(
        figures,
        errorState('the figures', error, () => refresh()),
      );
      throw error;
    }
    render(stats);
  });
  windowSelect.addEventListener('change', () => {
    window = windowSelect.value;
    context.setParams({ window });
    refresh();
  });

  const render = (stats: Stats) => {
    const inWindow = { raw: 0, enriched: 0, dlq: 0, alerts: 0 };
    for (const minute of stats.perMinute)
      for (const stage of STAGES) inWindow[stage.key] += minute[stage.key];
    const minutes = Math.max(1, stats.windowMinutes);
    const lag = stats.pipeline?.consumerLag;
    const latency = stats.pipeline?.latencyMs;
    replace(
      figures,
      ...STAGES.map((stage) =>
        metric(
          `${stage.label} per minute`,
          formatNumber(inWindow[stage.key] / minutes, 1),
          `${formatNumber(inWindow[stage.key])} in window · ${formatNumber(stats.totals[stage.key])} in total`,
        ),
      ),
      metric('Devices seen', formatNumber(stats.devicesSeen), 'in the window'),
      metric('Last message', timeAgo(stats.lastMessageTime)),
      metric(
        'Consumer lag',
        lag === undefined ? 'not reported' : formatNumber(lag),
        'records not yet processed',
      ),
      latency
        ? metric(
            'Device to store latency',
            latency.p50 === null ? 'no samples' : `p50 ${formatNumber(latency.p50, 0)} ms`,
            latency.p99 === null
              ? undefined
              : `p99 ${formatNumber(latency.p99, 0)} ms · ${formatNumber(latency.samples)} samples`,
          )
        : null,
    );
    const x = stats.perMinute.map((m) => Date.parse(m.minute) / 1000);
    chart.setData(
      x,
      STAGES.map((stage) => stats.perMinute.map((m) => m[stage.key])),
    );
    replace(
      chartState,
      stats.perMinute.every((m) => m.raw + m.enriched + m.dlq + m.alerts === 0)
        ? empty(
            'No message in this window.',
            'Start devices or the simulator (npm start runs a fleet) and the rates appear here.',
          )
        : null,
    );

    const types = Object.entries(stats.byDeviceType).sort((a, b) => b[1] - a[1]);
    const typeTotal = types.reduce((sum, [, count]) => sum + count, 0);
    replace(
      typeMix,
      types.length === 0
        ? empty('No device type in this window.')
        : table(
            'Messages per device type',
            ['Device type', 'Messages', 'Share'],
            types.map(([type, count]) => [
              type,
              formatNumber(count),
              h(
                'span',
                { className: 'share' },
                shareBar(count / typeTotal),
                `${formatNumber((100 * count) / typeTotal, 1)} %`,
              ),
            ]),
          ),
    );

    const verdicts = (['GOOD', 'SUSPECT', 'BAD'] as const).map(
      (verdict) => [verdict, stats.quality[verdict]] as const,
    );
    const qualityTotal = verdicts.reduce((sum, [, count]) => sum + count, 0);
    replace(
      qualityMix,
      qualityTotal === 0
        ? empty('No enriched message in this window.')
        : table(
            'Messages per quality verdict',
            ['Verdict', 'Messages', 'Share'],
            verdicts.map(([verdict, count]) => [
              h(
                'span',
                {
                  className: `badge badge-${verdict.toLowerCase() === 'good' ? 'good' : verdict === 'BAD' ? 'bad' : 'suspect'}`,
                },
                verdict,
              ),
              formatNumber(count),
              h(
                'span',
                { className: 'share' },
                shareBar(
                  count / qualityTotal,
                  verdict === 'GOOD' ? 'good' : verdict === 'BAD' ? 'bad' : 'suspect',
                ),
                `${formatNumber((100 * count) / qualityTotal, 1)} %`,
              ),
            ]),
          ),
    );

    const reasons = Object.entries(stats.dlqReasons ?? {}).sort((a, b) => b[1] - a[1]);
    replace(
      dlqReasons,
      reasons.length === 0
        ? empty('Nothing dead-lettered in this window.')
        : table(
            'Dead letters per reason',
            ['Reason', 'Messages'],
            reasons.map(([reason, count]) => [
              h('a', { href: `#/inspector?stage=dlq` }, reason),
              formatNumber(count),
            ]),
          ),
    );
  };

  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('h1', {}, 'Overview'),
      h('div', { className: 'toolbar' }, field('Window', windowSelect)),
    ),
    h(
      'div',
      { className: 'grid' },
      h('section', { className: 'card span-all' }, h('h2', {}, 'Pipeline'), figures),
    ),
    h(
      'section',
      { className: 'card span-all' },
      h('h2', {}, 'Messages per minute'),
      chart.element,
      chartState,
    ),
    h(
      'div',
      { className: 'grid grid-3' },
      card('Device type mix', typeMix),
      card('Quality mix', qualityMix),
      card('Dead letters', dlqReasons),
    ),
  );
  context.signal.addEventListener('abort', () => chart.destroy());
};
