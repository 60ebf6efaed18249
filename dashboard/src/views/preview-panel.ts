/**
 * Issue 14: dry runs in the dashboard. "Try a payload" (registry page) posts a topic and a payload to
 * POST /api/preview and shows what the pipeline would do; the draft preview (device-type page) posts
 * the edited definition to POST /api/device-types/{typeId}/preview and shows which kept messages would
 * change verdict. Everything the answer carries is device or user data: text nodes only.
 */
import { ApiError } from '../api.js';
import type { Alert, EnrichedMessage } from '../api-types.js';
import { field, h, replace } from '../dom.js';
import { readingText } from '../reading-value.js';
import { empty, formatValue, jsonBlock, qualityBadge, severityBadge, table } from '../ui.js';
import type { ViewContext } from '../view.js';

interface PayloadPreview {
  readonly outcome: 'enriched' | 'rejected';
  readonly rejection?: { stage: string; reason: string; detail: string; path?: string };
  readonly deviceId?: string;
  readonly deviceType?: string;
  readonly verdict?: string;
  readonly message?: EnrichedMessage;
  readonly alerts?: { wouldRaise: Alert[]; continuing: string[]; alertStateKnown: boolean };
  readonly timeseries?: { measure: string; time: string; value: unknown; quality: string }[];
}

interface Fate {
  readonly verdict: string;
  readonly deviceType?: string;
  readonly reason?: string;
}

interface DraftPreview {
  readonly replayed: number;
  readonly ofType: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly changes: {
    messageId: string;
    deviceId?: string;
    receivedAt: string;
    before: Fate;
    after: Fate;
    readings: { path: string; before: string | null; after: string | null }[];
  }[];
}

const EXAMPLE_TOPIC = 'dt/environmental_sensor/env-try-1/telemetry';
const EXAMPLE_PAYLOAD = JSON.stringify(
  {
    device_id: 'env-try-1',
    event_type: 'telemetry',
    timestamp: '(now)',
    measurements: { temperature: 21.5, humidity: 48, pressure: 1013 },
  },
  null,
  2,
);

/** An API error as text lines: the message, then each field it names. */
const errorText = (error: unknown): HTMLElement =>
  h(
    'div',
    { className: 'form-error', role: 'alert' },
    h('p', {}, error instanceof ApiError ? `${error.message} (${error.code})` : String(error)),
    error instanceof ApiError && error.details.length > 0
      ? h('ul', {}, ...error.details.map((d) => h('li', {}, h('code', {}, d.field), ` ${d.message}`)))
      : null,
  );

/** The payload as typed: JSON when it parses (sent as that value), otherwise the raw text. */
function payloadOf(text: string): unknown {
  const withNow = text.replaceAll('"(now)"', JSON.stringify(new Date().toISOString()));
  try {
    return JSON.parse(withNow);
  } catch {
    return withNow;
  }
}

function renderPayloadPreview(answer: PayloadPreview): HTMLElement {
  if (answer.outcome === 'rejected' && answer.rejection) {
    const r = answer.rejection;
    return h(
      'div',
      { id: 'preview-result', data: { outcome: 'rejected' } },
      h(
        'p',
        {},
        'Rejected at ',
        h('strong', {}, r.stage),
        ': ',
        h('code', { className: 'reason' }, r.reason),
      ),
      h('p', {}, r.detail),
      r.path ? h('p', {}, 'Where: ', h('code', {}, r.path)) : null,
      h('p', { className: 'muted' }, 'It would land in the dead-letter topic. Nothing was stored.'),
    );
  }
  const message = answer.message;
  const readings = Object.entries(message?.data_quality.readings ?? {});
  const alerts = answer.alerts;
  return h(
    'div',
    { id: 'preview-result', data: { outcome: 'enriched' } },
    h(
      'p',
      {},
      'Enriched as ',
      h('code', {}, answer.deviceType ?? ''),
      ` for ${answer.deviceId ?? ''}: `,
      qualityBadge(answer.verdict),
    ),
    readings.length > 0
      ? table(
          'Readings of the previewed payload',
          ['Reading', 'Value', 'Verdict', 'Reasons'],
          readings.map(([path, reading]) => [
            path,
            readingText(message, path),
            qualityBadge(reading.verdict),
            (reading.reasons ?? []).join(', '),
          ]),
          'preview-readings',
        )
      : null,
    h(
      'p',
      {},
      alerts && alerts.wouldRaise.length > 0
        ? `Would raise ${alerts.wouldRaise.length} alert(s): `
        : 'Would raise no alert.',
      ...(alerts?.wouldRaise ?? []).map((a) =>
        h('span', {}, severityBadge(a.severity), ` ${a.rule_name} (${a.path} = ${formatValue(a.value)}) `),
      ),
      alerts && alerts.continuing.length > 0 ? ` Already active: ${alerts.continuing.join(', ')}.` : '',
    ),
    h(
      'p',
      {},
      `Would write ${answer.timeseries?.length ?? 0} time-series point(s). Nothing was stored or published.`,
    ),
    h('details', {}, h('summary', {}, 'Enriched message'), jsonBlock(message, 'Previewed enriched message')),
  );
}

/** "Try a payload": topic, payload, and the pipeline's answer. */
export function tryPayloadPanel(context: ViewContext): HTMLElement {
  const topic = h('input', {
    id: 'preview-topic',
    value: EXAMPLE_TOPIC,
    spellcheck: false,
    autocomplete: 'off',
  });
  const payload = h('textarea', {
    id: 'preview-payload',
    rows: 10,
    spellcheck: false,
    value: EXAMPLE_PAYLOAD,
  });
  const run = h('button', { type: 'submit', id: 'preview-run' }, 'Preview');
  const result = h('div', { aria: { live: 'polite' } });
  const form = h(
    'form',
    { className: 'editor', id: 'preview-form' },
    field('MQTT topic', topic, 'Leave empty for none. "(now)" in the payload becomes the current time.'),
    field('Payload', payload, 'JSON, or any text (sent as its bytes); at most 128 KB.'),
    h('div', { className: 'form-actions' }, run),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      run.disabled = true;
      try {
        const answer = await context.api.post<PayloadPreview>(
          '/api/preview',
          {
            ...(topic.value.trim() ? { topic: topic.value.trim() } : {}),
            payload: payloadOf(payload.value),
          },
          context.signal,
        );
        replace(result, renderPayloadPreview(answer));
      } catch (error) {
        if (!context.signal.aborted) replace(result, errorText(error));
      } finally {
        run.disabled = false;
      }
    })();
  });
  return h(
    'section',
    { className: 'card', id: 'try-payload' },
    h('h2', {}, 'Try a payload'),
    h('p', { className: 'muted' }, 'What the pipeline would do with one message. Nothing is stored.'),
    form,
    result,
  );
}

const fateText = (fate: Fate) =>
  fate.verdict === 'REJECTED' ? `REJECTED (${fate.reason ?? ''})` : fate.verdict;

/** The draft preview's answer: how many kept messages would change verdict, and each of them. */
export function renderDraftPreview(answer: DraftPreview): HTMLElement {
  return h(
    'div',
    { id: 'draft-preview-result' },
    h(
      'p',
      { className: 'draft-summary' },
      `${answer.changed} of ${answer.ofType} recent message(s) of this type would change verdict`,
      ` (${answer.replayed} kept message(s) replayed). Nothing was saved.`,
    ),
    answer.changes.length === 0
      ? empty('No verdict would change.')
      : table(
          'Messages whose verdict would change',
          ['Received', 'Device', 'Before', 'After', 'Readings'],
          answer.changes.map((change) => [
            change.receivedAt,
            change.deviceId ?? '—',
            fateText(change.before),
            fateText(change.after),
            change.readings.map((r) => `${r.path}: ${r.before ?? '—'} → ${r.after ?? '—'}`).join('; '),
          ]),
          'draft-changes',
        ),
  );
}

/** Posts a draft definition to the type's preview route and shows the answer in `target`. */
export async function previewDraft(
  context: ViewContext,
  typeId: string,
  definition: unknown,
  target: HTMLElement,
): Promise<void> {
  try {
    const answer = await context.api.post<DraftPreview>(
      `/api/device-types/${encodeURIComponent(typeId)}/preview`,
      definition,
      context.signal,
    );
    replace(target, renderDraftPreview(answer));
  } catch (error) {
    if (!context.signal.aborted) replace(target, errorText(error));
  }
}
