/**
 * Message inspector: recent samples of a stage. An enriched message is shown next to the raw message it
 * came from (matched by the enrichment's message id), with the quality verdicts highlighted; a dead
 * letter with its reason and the original payload, decoded as text (never as markup).
 */
import { DEVICE_ID_PATTERN } from '../../../functions/core/contract/identifiers.js';
import type { DlqRecord, EnrichedMessage, MessageSample, MessageStage } from '../api-types.js';
import { field, h, replace, select } from '../dom.js';
import { readingText } from '../reading-value.js';
import {
  empty,
  errorState,
  formatNumber,
  jsonBlock,
  loading,
  qualityBadge,
  replaceKeepingFocus,
  showDeviceIdValidity,
  table,
  timeAgo,
} from '../ui.js';
import type { View } from '../view.js';

const STAGES: readonly (readonly [MessageStage, string])[] = [
  ['enriched', 'Enriched (with raw)'],
  ['raw', 'Raw'],
  ['dlq', 'Dead letters (DLQ)'],
];
const LIMIT = 100;

interface RawLike {
  device_id?: unknown;
  timestamp?: unknown;
  event_type?: unknown;
  message_id?: unknown;
}

/** The enrich stage's message id: the device's own, or device, time and kind (functions/core/enrich.ts). */
const messageIdOf = (body: unknown): string | undefined => {
  const raw = body as RawLike | null;
  if (typeof raw !== 'object' || raw === null) return undefined;
  if (typeof raw.message_id === 'string') return raw.message_id;
  return `${String(raw.device_id)}:${String(raw.timestamp)}:${String(raw.event_type)}`;
};

/** The original bytes of a dead letter as text (invalid UTF-8 shows as U+FFFD), pretty when JSON. */
export function decodeOriginal(base64: string): { text: string; json?: unknown } {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  } catch {
    return { text: '(the original is not valid base64)' };
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return { text };
  }
}

/** The device id a dead letter carries: the validated one, or the one its payload claimed (shown as text). */
const claimedDeviceId = (letter: DlqRecord, original: { json?: unknown }): string => {
  if (letter.device_id) return letter.device_id;
  const claimed = (original.json as RawLike | undefined)?.device_id;
  return typeof claimed === 'string' ? claimed : '—';
};

export const inspectorView: View = (root, context) => {
  let stage = (context.params.get('stage') ?? 'enriched') as MessageStage;
  if (!STAGES.some(([value]) => value === stage)) stage = 'enriched';
  let deviceId = context.params.get('device') ?? '';
  let selected: string | undefined;
  let samples: MessageSample[] = [];
  let partners = new Map<string, MessageSample>();

  const stageSelect = select(STAGES, stage, { id: 'inspector-stage' });
  const deviceInput = h('input', {
    type: 'search',
    id: 'inspector-device',
    value: deviceId,
    placeholder: 'all devices',
    autocomplete: 'off',
    spellcheck: false,
  });
  const deviceError = h('span', { className: 'field-error', role: 'alert', id: 'inspector-device-error' });
  deviceInput.setAttribute('aria-describedby', deviceError.id);
  const list = h('div', { aria: { live: 'polite' } }, loading('messages'));
  const detail = h('div', { className: 'detail', id: 'inspector-detail', tabIndex: -1 }, noSelection());

  const refresh = context.poll(async (signal) => {
    if (deviceId && !DEVICE_ID_PATTERN.test(deviceId)) return;
    const query = { stage, deviceId: deviceId || undefined, limit: LIMIT };
    try {
      // Enriched and raw samples are taken independently: the partner of a message may not be kept.
      const partnerStage: MessageStage | undefined =
        stage === 'enriched' ? 'raw' : stage === 'raw' ? 'enriched' : undefined;
      const [main, other] = await Promise.all([
        context.api.get<{ items: MessageSample[] }>('/api/messages', query, signal),
        partnerStage
          ? context.api.get<{ items: MessageSample[] }>(
              '/api/messages',
              { ...query, stage: partnerStage, limit: 200 },
              signal,
            )
          : undefined,
      ]);
      samples = main.items;
      partners = new Map();
      for (const sample of other?.items ?? []) {
        const id =
          stage === 'enriched'
            ? messageIdOf(sample.body)
            : (sample.body as EnrichedMessage).enrichment_info?.message_id;
        if (id) partners.set(id, sample);
      }
    } catch (error) {
      replace(
        list,
        errorState('messages', error, () => refresh()),
      );
      throw error;
    }
    renderList();
  });

  const renderList = () => {
    if (samples.length === 0) {
      replace(
        list,
        empty(
          stage === 'dlq'
            ? 'No dead letter: every recent message was accepted.'
            : `No ${stage} message${deviceId ? ` of ${deviceId}` : ''} yet.`,
          'Samples are kept for 24 hours.',
        ),
      );
      replace(detail, noSelection());
      return;
    }
    const choose = (sample: MessageSample) => () => {
      selected = sample.id;
      renderList();
      renderDetail(sample);
      detail.focus();
    };
    const pick = (sample: MessageSample, label: string) =>
      h(
        'button',
        {
          type: 'button',
          className: 'link',
          data: { focusKey: `inspect:${sample.id}` },
          aria: { pressed: String(selected === sample.id) },
          on: { click: choose(sample) },
        },
        label,
      );
    let rows: Parameters<typeof table>[2];
    let headers: string[];
    if (stage === 'dlq') {
      headers = ['Failed', 'Reason', 'Stage', 'Device (as sent)', 'Size', ''];
      rows = samples.map((sample) => {
        const letter = sample.body as DlqRecord;
        const original = decodeOriginal(letter.original_base64 ?? '');
        return [
          timeAgo(letter.failed_at ?? sample.time),
          h('code', {}, letter.reason),
          letter.stage,
          claimedDeviceId(letter, original),
          `${formatNumber(letter.original_size_bytes ?? 0)} B`,
          pick(sample, 'Inspect'),
        ];
      });
    } else {
      headers = ['Time', 'Device', 'Kind', 'Quality', 'Partner', ''];
      rows = samples.map((sample) => {
        const body = sample.body as Partial<EnrichedMessage> & RawLike;
        const id = stage === 'enriched' ? body.enrichment_info?.message_id : messageIdOf(body);
        return [
          timeAgo(sample.time),
          sample.deviceId
            ? h('a', { href: `#/devices/${encodeURIComponent(sample.deviceId)}` }, sample.deviceId)
            : String(body.device_id ?? '—'),
          String(body.event_type ?? '—'),
          stage === 'enriched'
            ? qualityBadge(body.data_quality?.verdict)
            : qualityBadge(
                (partners.get(id ?? '')?.body as EnrichedMessage | undefined)?.data_quality?.verdict,
              ),
          id && partners.has(id) ? 'kept' : h('span', { className: 'muted' }, 'not sampled'),
          pick(sample, 'Inspect'),
        ];
      });
    }
    replaceKeepingFocus(list, table(`${stage} messages`, headers, rows, 'selectable'));
    list.classList.add('scroll-list');
    const current = samples.find((s) => s.id === selected);
    if (!current) replace(detail, noSelection());
  };

  const renderDetail = (sample: MessageSample) => {
    if (stage === 'dlq') {
      const letter = sample.body as DlqRecord;
      const original = decodeOriginal(letter.original_base64 ?? '');
      replace(
        detail,
        h('h2', {}, 'Dead letter'),
        h(
          'dl',
          { className: 'facts' },
          h('dt', {}, 'Reason'),
          h('dd', {}, h('code', { className: 'reason' }, letter.reason)),
          h('dt', {}, 'Detail'),
          h('dd', {}, letter.detail),
          letter.path ? h('dt', {}, 'Where') : null,
          letter.path ? h('dd', {}, h('code', {}, letter.path)) : null,
          h('dt', {}, 'Stage'),
          h('dd', {}, letter.stage),
          h('dt', {}, 'Device (as sent)'),
          h('dd', { className: 'device-claimed' }, claimedDeviceId(letter, original)),
          h('dt', {}, 'MQTT topic'),
          h('dd', {}, letter.source?.mqtt_topic ?? '—'),
          h('dt', {}, 'Received'),
          h('dd', {}, letter.received_at),
          h('dt', {}, 'Failed'),
          h('dd', {}, letter.failed_at),
        ),
        h('h3', {}, `Original payload (${formatNumber(letter.original_size_bytes ?? 0)} bytes, unchanged)`),
        h(
          'pre',
          { className: 'json original', tabIndex: 0, aria: { label: 'Original payload' } },
          original.json === undefined ? original.text : JSON.stringify(original.json, null, 2),
        ),
      );
      return;
    }
    const body = sample.body as Partial<EnrichedMessage>;
    const id = stage === 'enriched' ? body.enrichment_info?.message_id : messageIdOf(body);
    const partner = id ? partners.get(id) : undefined;
    const raw = stage === 'raw' ? sample : partner;
    const enriched = stage === 'enriched' ? sample : partner;
    const quality = (enriched?.body as EnrichedMessage | undefined)?.data_quality;
    replace(
      detail,
      h('h2', {}, `Message ${id ?? sample.id}`),
      quality
        ? h(
            'div',
            { className: 'quality' },
            h(
              'p',
              {},
              'Quality ',
              qualityBadge(quality.verdict),
              ` score ${formatNumber(quality.score, 2)} · completeness ${formatNumber(quality.completeness * 100, 0)} %`,
            ),
            quality.reasons.length
              ? h(
                  'p',
                  {},
                  'Message reasons: ',
                  ...quality.reasons.map((r) => h('code', { className: 'reason' }, r)),
                )
              : null,
            quality.missing.length ? h('p', {}, 'Missing required: ', quality.missing.join(', ')) : null,
            table(
              'Quality per reading',
              ['Reading', 'Value', 'Verdict', 'Reasons'],
              Object.entries(quality.readings)
                .sort(([, a], [, b]) => rank(b.verdict) - rank(a.verdict))
                .map(([path, reading]) => [
                  path,
                  readingText(enriched?.body as EnrichedMessage, path),
                  qualityBadge(reading.verdict),
                  (reading.reasons ?? []).join(', '),
                ]),
              'quality-table',
            ),
          )
        : null,
      h(
        'div',
        { className: 'side-by-side' },
        h(
          'section',
          {},
          h('h3', {}, 'Raw (as the device sent it)'),
          raw
            ? jsonBlock(raw.body, 'Raw message')
            : empty(
                'The raw version was not sampled.',
                'Raw and enriched samples are rate-limited independently.',
              ),
        ),
        h(
          'section',
          {},
          h('h3', {}, 'Enriched'),
          enriched
            ? jsonBlock(enriched.body, 'Enriched message')
            : empty('The enriched version was not sampled (or the message was dead-lettered).'),
        ),
      ),
    );
  };

  stageSelect.addEventListener('change', () => {
    stage = stageSelect.value as MessageStage;
    selected = undefined;
    replace(detail, noSelection());
    replace(list, loading('messages'));
    context.setParams({ stage, device: deviceId || undefined });
    refresh();
  });
  deviceInput.addEventListener('change', () => {
    deviceId = deviceInput.value.trim();
    if (!showDeviceIdValidity(deviceInput, deviceError, deviceId)) return;
    selected = undefined;
    replace(detail, noSelection());
    replace(list, loading('messages'));
    context.setParams({ stage, device: deviceId || undefined });
    refresh();
  });

  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('h1', {}, 'Message inspector'),
      h(
        'div',
        { className: 'toolbar' },
        field('Stage', stageSelect),
        h('div', {}, field('Device id', deviceInput), deviceError),
      ),
    ),
    h('section', { className: 'card' }, list),
    h('section', { className: 'card' }, detail),
  );
};

const noSelection = () =>
  h('p', { className: 'muted' }, 'Choose a message above (Inspect) to see it in full.');

const rank = (verdict: string) => (verdict === 'BAD' ? 2 : verdict === 'SUSPECT' ? 1 : 0);
