/**
 * Registry: device types (definition, measurements, edit as JSON with the API's validation errors shown
 * where they apply) and applications (list filtered by device type and status, register, edit,
 * deactivate, delete).
 */
import { ApiError, type ErrorDetail } from '../api.js';
import type {
  AlertRule,
  ApplicationSummary,
  DeviceTypeDefinition,
  DeviceTypeSummary,
  Page,
} from '../api-types.js';
import { field, h, replace, select } from '../dom.js';
import { readingsOf } from '../measurements.js';
import {
  empty,
  errorState,
  formatNumber,
  loading,
  severityBadge,
  statusBadge,
  table,
  timeAgo,
} from '../ui.js';
import type { View } from '../view.js';
import { previewDraft, tryPayloadPanel } from './preview-panel.js';
import { ruleCondition, ruleReading } from './rule-summary.js';

const PLATFORMS = [
  ['web', 'Web'],
  ['mobile', 'Mobile'],
  ['desktop', 'Desktop'],
  ['api', 'API'],
] as const;
const STATUSES = [
  ['active', 'Active'],
  ['inactive', 'Inactive'],
  ['pending', 'Pending'],
] as const;

/** A short-lived notice carried over a navigation (after a save). */
let notice: string | undefined;
const takeNotice = () => {
  const text = notice;
  notice = undefined;
  return text ? h('p', { className: 'notice', role: 'status' }, text) : null;
};

const describe = (error: unknown) =>
  error instanceof ApiError ? `${error.message} (${error.code})` : String(error);

// -------------------------------------------------------------------------------------------------
// The registry's front page: device types and applications.

export const registryView: View = (root, context) => {
  let typeFilter = context.params.get('type') ?? '';
  let statusFilter = context.params.get('status') ?? '';
  const types = h('div', {}, loading('device types'));
  const apps = h('div', { aria: { live: 'polite' } }, loading('applications'));
  const typeSelect = select([['', 'Any device type']], typeFilter, { id: 'apps-type-filter' });
  const statusSelect = select([['', 'Any status'], ...STATUSES], statusFilter, { id: 'apps-status-filter' });
  const message = h('div', {}, takeNotice());

  const loadTypes = async () => {
    try {
      const page = await context.api.get<Page<DeviceTypeSummary>>('/api/device-types', {}, context.signal);
      for (const type of page.items) {
        const option = h('option', { value: type.typeId }, type.typeId);
        option.selected = type.typeId === typeFilter;
        typeSelect.append(option);
      }
      replace(
        types,
        page.items.length === 0
          ? empty('No device type is registered.')
          : table(
              'Device types',
              ['Type', 'Name', 'Category', 'Version', 'Measurements'],
              page.items.map((t) => [
                h('a', { href: `#/registry/types/${encodeURIComponent(t.typeId)}` }, t.typeId),
                t.name,
                t.category,
                String(t.version),
                formatNumber(t.measurementCount),
              ]),
            ),
      );
    } catch (error) {
      if (!context.signal.aborted)
        replace(
          types,
          errorState('device types', error, () => void loadTypes()),
        );
    }
  };

  // Only the newest request may draw: an older answer (other filters) arriving late is dropped.
  let latestLoad = 0;
  const loadApps = async () => {
    const load = ++latestLoad;
    try {
      const page = await context.api.get<Page<ApplicationSummary>>(
        '/api/applications',
        { deviceType: typeFilter, status: statusFilter },
        context.signal,
      );
      if (load === latestLoad) renderApps(page.items);
    } catch (error) {
      if (!context.signal.aborted && load === latestLoad)
        replace(
          apps,
          errorState('applications', error, () => void loadApps()),
        );
    }
  };

  const act = async (button: HTMLButtonElement, work: () => Promise<unknown>, done: string) => {
    button.disabled = true;
    try {
      await work();
      replace(message, h('p', { className: 'notice', role: 'status' }, done));
      await loadApps();
    } catch (error) {
      button.disabled = false;
      replace(message, h('p', { className: 'form-error', role: 'alert' }, describe(error)));
    }
  };

  const renderApps = (items: ApplicationSummary[]) => {
    if (items.length === 0) {
      replace(
        apps,
        empty(
          typeFilter || statusFilter
            ? 'No application matches these filters.'
            : 'No application is registered.',
          'Register one with the button above.',
        ),
      );
      return;
    }
    replace(
      apps,
      table(
        'Applications',
        ['Name', 'Developer', 'Platform', 'Category', 'Device types', 'Version', 'Status', 'Actions'],
        [...items]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((app) => {
            const path = `/api/applications/${encodeURIComponent(app.applicationId)}`;
            const toggle = h(
              'button',
              { type: 'button', className: 'secondary' },
              app.status === 'active' ? 'Deactivate' : 'Activate',
            );
            toggle.setAttribute('aria-label', `${toggle.textContent} ${app.name}`);
            const next = app.status === 'active' ? 'inactive' : 'active';
            toggle.addEventListener(
              'click',
              () =>
                void act(
                  toggle,
                  () => context.api.patch(path, { status: next }),
                  `${app.name} is now ${next}.`,
                ),
            );
            const remove = h('button', { type: 'button', className: 'danger' }, 'Delete');
            remove.setAttribute('aria-label', `Delete ${app.name}`);
            remove.addEventListener('click', () => {
              // Two steps instead of window.confirm: the first click arms, the second deletes.
              if (remove.dataset.armed !== 'true') {
                remove.dataset.armed = 'true';
                remove.textContent = 'Confirm delete';
                remove.setAttribute('aria-label', `Confirm: delete ${app.name}`);
                return;
              }
              void act(remove, () => context.api.delete(path), `${app.name} was deleted.`);
            });
            const edit = h(
              'a',
              {
                href: `#/registry/apps/${encodeURIComponent(app.applicationId)}`,
                className: 'button secondary',
              },
              'Edit',
            );
            edit.setAttribute('aria-label', `Edit ${app.name}`);
            return [
              h('strong', {}, app.name),
              app.developer,
              app.platform,
              app.category,
              app.deviceTypes.join(', '),
              app.version,
              statusBadge(app.status),
              h('span', { className: 'actions' }, edit, toggle, remove),
            ];
          }),
      ),
    );
  };

  const applyFilters = () => {
    context.setParams({ type: typeFilter || undefined, status: statusFilter || undefined });
    replace(apps, loading('applications'));
    void loadApps();
  };
  typeSelect.addEventListener('change', () => {
    typeFilter = typeSelect.value;
    applyFilters();
  });
  statusSelect.addEventListener('change', () => {
    statusFilter = statusSelect.value;
    applyFilters();
  });

  replace(
    root,
    h('header', { className: 'view-header' }, h('h1', {}, 'Registry')),
    message,
    h('section', { className: 'card' }, h('h2', {}, 'Device types'), types),
    h(
      'section',
      { className: 'card' },
      h(
        'div',
        { className: 'card-header' },
        h('h2', {}, 'Applications'),
        h(
          'a',
          { href: '#/registry/apps/new', className: 'button', id: 'register-application' },
          'Register application',
        ),
      ),
      h('div', { className: 'toolbar' }, field('Device type', typeSelect), field('Status', statusSelect)),
      apps,
    ),
    // Issue 14: a dry run of one payload.
    tryPayloadPanel(context),
  );
  void loadTypes();
  void loadApps();
};

// -------------------------------------------------------------------------------------------------
// One device type: its definition and a JSON editor.

export const deviceTypeView: View = (root, context) => {
  const typeId = context.params.get('id') ?? '';
  const body = h('div', {}, loading(`device type ${typeId}`));
  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h('div', {}, h('a', { href: '#/registry', className: 'back' }, '← Registry'), h('h1', {}, typeId)),
    ),
    body,
  );

  const load = async () => {
    let type: DeviceTypeDefinition;
    try {
      type = await context.api.get<DeviceTypeDefinition>(
        `/api/device-types/${encodeURIComponent(typeId)}`,
        {},
        context.signal,
      );
    } catch (error) {
      if (context.signal.aborted) return;
      replace(
        body,
        error instanceof ApiError && error.status === 404
          ? empty(`No device type "${typeId}" is registered.`)
          : errorState('the device type', error, () => void load()),
      );
      return;
    }
    const readings = [...readingsOf(type)];
    const range = (r?: { min: number; max: number }) => (r ? `${r.min} to ${r.max}` : '—');
    // The definition as PUT takes it: the store's own bookkeeping (updatedAt) is not part of it.
    const { updatedAt: _stored, ...editable } = type as DeviceTypeDefinition & { updatedAt?: string };
    const editor = h('textarea', {
      id: 'device-type-json',
      rows: 24,
      spellcheck: false,
      value: JSON.stringify(editable, null, 2),
    });
    const errors = h('div', { id: 'device-type-errors', role: 'alert' });
    editor.setAttribute('aria-describedby', errors.id);
    const save = h('button', { type: 'submit' }, 'Save definition');
    // Issue 14: the draft's effect on the type's recently kept messages, before saving it.
    const previewButton = h(
      'button',
      { type: 'button', className: 'secondary', id: 'device-type-preview' },
      'Preview verdicts',
    );
    const previewResult = h('div', { aria: { live: 'polite' } });
    previewButton.addEventListener('click', () => {
      let draft: unknown;
      try {
        draft = JSON.parse(editor.value);
      } catch (error) {
        replace(
          previewResult,
          h('p', { className: 'form-error' }, `Not valid JSON: ${(error as Error).message}`),
        );
        return;
      }
      previewButton.disabled = true;
      void previewDraft(context, typeId, draft, previewResult).finally(() => {
        previewButton.disabled = false;
      });
    });
    const form = h(
      'form',
      { className: 'editor' },
      field(
        'Definition (JSON)',
        editor,
        'Saved as a new version; the enrichment picks it up on its next registry refresh.',
      ),
      errors,
      h('div', { className: 'form-actions' }, save, previewButton),
      previewResult,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void submit();
    });
    const submit = async () => {
      let definition: unknown;
      try {
        definition = JSON.parse(editor.value);
      } catch (error) {
        editor.setAttribute('aria-invalid', 'true');
        replace(errors, h('p', { className: 'form-error' }, `Not valid JSON: ${(error as Error).message}`));
        return;
      }
      save.disabled = true;
      try {
        await context.api.put(`/api/device-types/${encodeURIComponent(typeId)}`, definition, context.signal, {
          'if-match': `"${type.version}"`, // a version ETag
        });
        editor.removeAttribute('aria-invalid');
        notice = `${typeId} saved.`;
        replace(errors, h('p', { className: 'notice', role: 'status' }, `${typeId} saved.`));
        void load();
      } catch (error) {
        if (context.signal.aborted) return;
        editor.setAttribute('aria-invalid', 'true');
        replace(errors, ...errorLines(error));
      } finally {
        save.disabled = false;
      }
    };
    replace(
      body,
      takeNotice(),
      h(
        'section',
        { className: 'card' },
        h('h2', {}, type.name),
        h('p', {}, type.description),
        h(
          'dl',
          { className: 'facts' },
          h('dt', {}, 'Version'),
          h('dd', {}, String(type.version)),
          h('dt', {}, 'Category'),
          h('dd', {}, type.category),
          h('dt', {}, 'Reports every'),
          h('dd', {}, `${type.updateFrequencySeconds} s`),
          h('dt', {}, 'Retention'),
          h('dd', {}, `${type.retentionDays} days`),
          h('dt', {}, 'Capabilities'),
          h('dd', {}, type.capabilities.join(', ') || '—'),
          h('dt', {}, 'Manufacturers'),
          h('dd', {}, type.manufacturers.map((m) => `${m.name} (${m.models.join(', ')})`).join('; ') || '—'),
        ),
      ),
      h(
        'section',
        { className: 'card' },
        h('h2', {}, 'Measurements'),
        table(
          'Measurements',
          ['Path', 'Unit', 'Type', 'Required', 'Valid range', 'Normal range', 'Description'],
          readings.map(([path, r]) => [
            h('code', {}, path),
            r.unit,
            r.dataType,
            r.required ? 'yes' : 'no',
            range(r.validRange),
            range(r.normalRange),
            r.description,
          ]),
        ),
      ),
      Array.isArray(type.alertRules)
        ? h(
            'section',
            { className: 'card' },
            h('h2', {}, 'Alert rules'),
            type.alertRules.length === 0
              ? empty('No alert rule.')
              : table(
                  'Alert rules',
                  ['Rule', 'Reading', 'Condition', 'Severity', 'Enabled'],
                  (type.alertRules as AlertRule[]).map((rule) => [
                    rule.name,
                    h('code', {}, ruleReading(rule)),
                    ruleCondition(rule),
                    severityBadge(rule.severity),
                    rule.enabled ? 'yes' : 'no',
                  ]),
                ),
          )
        : null,
      h('section', { className: 'card' }, h('h2', {}, 'Edit'), form),
    );
  };
  void load();
};

/** An API error as lines: the message, then one line per field the API named. */
function errorLines(error: unknown): HTMLElement[] {
  const lines: HTMLElement[] = [h('p', { className: 'form-error' }, describe(error))];
  if (error instanceof ApiError && error.details.length > 0)
    lines.push(
      h(
        'ul',
        { className: 'form-error' },
        ...error.details.map((d) => h('li', {}, h('code', {}, d.field || '(body)'), ` ${d.message}`)),
      ),
    );
  return lines;
}

// -------------------------------------------------------------------------------------------------
// Register or edit an application.

type AppField =
  | 'name'
  | 'developer'
  | 'contactEmail'
  | 'description'
  | 'version'
  | 'platform'
  | 'category'
  | 'deviceTypes'
  | 'status';

export const applicationView: View = (root, context) => {
  const id = context.params.get('id') ?? 'new';
  const creating = id === 'new';
  const body = h('div', {}, loading(creating ? 'the form' : 'the application'));
  replace(
    root,
    h(
      'header',
      { className: 'view-header' },
      h(
        'div',
        {},
        h('a', { href: '#/registry', className: 'back' }, '← Registry'),
        h('h1', {}, creating ? 'Register an application' : 'Edit application'),
      ),
    ),
    body,
  );

  const load = async () => {
    let types: DeviceTypeSummary[];
    let existing: ApplicationSummary | undefined;
    try {
      [types, existing] = await Promise.all([
        context.api
          .get<Page<DeviceTypeSummary>>('/api/device-types', {}, context.signal)
          .then((p) => p.items),
        creating
          ? undefined
          : context.api.get<ApplicationSummary>(
              `/api/applications/${encodeURIComponent(id)}`,
              {},
              context.signal,
            ),
      ]);
    } catch (error) {
      if (context.signal.aborted) return;
      replace(
        body,
        error instanceof ApiError && error.status === 404
          ? empty('This application does not exist (any more).')
          : errorState('the application', error, () => void load()),
      );
      return;
    }
    renderForm(types, existing);
  };

  const renderForm = (types: DeviceTypeSummary[], existing: ApplicationSummary | undefined) => {
    const errors = new Map<AppField, HTMLElement>();
    const controls = new Map<AppField, HTMLElement>();
    const withError = (name: AppField, label: string, control: HTMLElement, hint?: string) => {
      const error = h('span', { className: 'field-error', id: `app-${name}-error` });
      control.id = `app-${name}`;
      control.setAttribute('aria-describedby', error.id);
      errors.set(name, error);
      controls.set(name, control);
      return h('div', { className: 'form-row' }, field(label, control, hint), error);
    };
    const text = (name: AppField, value: string | undefined, type = 'text') =>
      h('input', { type, name, value: value ?? '', autocomplete: 'off' });
    const name = text('name', existing?.name);
    name.required = true;
    const developer = text('developer', existing?.developer);
    developer.required = true;
    const contactEmail = text('contactEmail', existing?.contactEmail, 'email');
    contactEmail.required = creating;
    const description = h('textarea', { name: 'description', rows: 3, value: existing?.description ?? '' });
    const version = text('version', existing?.version ?? '1.0.0');
    const platform = select(PLATFORMS, existing?.platform ?? 'web', { name: 'platform' });
    const category = text('category', existing?.category);
    const status = select(STATUSES, existing?.status ?? 'active', { name: 'status' });
    const typeBoxes = types.map((t) => {
      const box = h('input', {
        type: 'checkbox',
        name: 'deviceTypes',
        value: t.typeId,
        checked: existing?.deviceTypes.includes(t.typeId) ?? false,
      });
      return {
        typeId: t.typeId,
        box,
        label: h('label', { className: 'check' }, box, ` ${t.name} (${t.typeId})`),
      };
    });
    const typeGroup = h(
      'fieldset',
      { className: 'checks' },
      h('legend', {}, 'Device types'),
      ...typeBoxes.map((t) => t.label),
    );
    const formError = h('div', { role: 'alert', id: 'app-form-error' });
    const submit = h('button', { type: 'submit' }, creating ? 'Register' : 'Save changes');

    const values = () => ({
      name: name.value.trim(),
      developer: developer.value.trim(),
      ...(contactEmail.value.trim() ? { contactEmail: contactEmail.value.trim() } : {}),
      description: description.value.trim(),
      version: version.value.trim(),
      platform: platform.value,
      category: category.value.trim(),
      deviceTypes: typeBoxes.filter((t) => t.box.checked).map((t) => t.typeId),
      ...(creating ? {} : { status: status.value }),
    });

    const showErrors = (details: readonly ErrorDetail[]) => {
      const unplaced: ErrorDetail[] = [];
      for (const detail of details) {
        // The API names fields by path (`deviceTypes.1`, `body.name`): the first known segment places it.
        const key = detail.field.split('.').find((part) => errors.has(part as AppField)) as
          | AppField
          | undefined;
        const target = key ? errors.get(key) : undefined;
        if (target && key) {
          target.append(h('span', {}, detail.message));
          controls.get(key)?.setAttribute('aria-invalid', 'true');
        } else unplaced.push(detail);
      }
      return unplaced;
    };

    const form = h(
      'form',
      { className: 'app-form', id: 'application-form' },
      withError('name', 'Name', name, 'Unique, whatever the case.'),
      withError('developer', 'Developer', developer),
      withError(
        'contactEmail',
        'Contact e-mail',
        contactEmail,
        creating ? 'Private: never listed or copied into messages.' : 'Leave empty to keep the current one.',
      ),
      withError('description', 'Description', description),
      withError('version', 'Version', version, 'Semantic version, e.g. 1.2.0.'),
      withError('platform', 'Platform', platform),
      withError('category', 'Category', category, 'Free text up to 50 characters, e.g. Monitoring.'),
      creating ? null : withError('status', 'Status', status),
      h(
        'div',
        { className: 'form-row' },
        typeGroup,
        (() => {
          const error = h('span', { className: 'field-error', id: 'app-deviceTypes-error' });
          errors.set('deviceTypes', error);
          controls.set('deviceTypes', typeGroup);
          typeGroup.setAttribute('aria-describedby', error.id);
          return error;
        })(),
      ),
      formError,
      h(
        'div',
        { className: 'form-actions' },
        submit,
        h('a', { href: '#/registry', className: 'button secondary' }, 'Cancel'),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void send();
    });

    const send = async () => {
      for (const error of errors.values()) replace(error);
      for (const control of controls.values()) control.removeAttribute('aria-invalid');
      replace(formError);
      const input = values();
      let body: Record<string, unknown> = input;
      if (existing) {
        // PATCH sends only what changed: fields left out stay as they are.
        const before: Record<string, unknown> = { ...existing };
        body = Object.fromEntries(
          Object.entries(input).filter(
            ([key, value]) => JSON.stringify(before[key] ?? '') !== JSON.stringify(value),
          ),
        );
        if (Object.keys(body).length === 0) {
          replace(formError, h('p', { className: 'notice' }, 'Nothing changed.'));
          return;
        }
      }
      submit.disabled = true;
      try {
        const saved = existing
          ? await context.api.patch<ApplicationSummary>(
              `/api/applications/${encodeURIComponent(existing.applicationId)}`,
              body,
              context.signal,
            )
          : await context.api.post<ApplicationSummary>('/api/applications', body, context.signal);
        notice = existing
          ? `${saved?.name ?? input.name} was saved.`
          : `${saved?.name ?? input.name} is registered.`;
        location.hash = '#/registry';
      } catch (error) {
        if (context.signal.aborted) return;
        const unplaced = error instanceof ApiError ? showErrors(error.details) : [];
        replace(
          formError,
          ...errorLines(
            error instanceof ApiError
              ? new ApiError(error.status, error.code, error.message, unplaced)
              : error,
          ),
        );
        (form.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus();
      } finally {
        submit.disabled = false;
      }
    };

    replace(
      body,
      h(
        'section',
        { className: 'card' },
        existing
          ? h(
              'p',
              { className: 'muted' },
              `Registered ${existing.createdAt} · last changed `,
              timeAgo(existing.updatedAt),
            )
          : null,
        form,
      ),
    );
    name.focus();
  };
  void load();
};
