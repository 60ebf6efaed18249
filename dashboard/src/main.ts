/**
 * The dashboard shell: reads config.json, draws the navigation, routes by URL hash and owns the current
 * view's lifetime (its polls and requests end when another view is shown; the page never reloads).
 */
import './styles.css';
import { activeAlertsBadge } from './alert-badge.js';
import { Api, auth, setUnauthorizedHandler } from './api.js';
import type { Health } from './api-types.js';
import { type DashboardConfig, loadConfig } from './config.js';
import { field, h, replace } from './dom.js';
import { finishCognitoSignIn, startCognitoSignIn } from './sign-in.js';
import { empty } from './ui.js';
import { type View, ViewScope } from './view.js';
import { alertsView } from './views/alerts.js';
import { deadLettersView } from './views/dead-letters.js';
import { deviceView } from './views/device.js';
import { devicesView } from './views/devices.js';
import { inspectorView } from './views/inspector.js';
import { overviewView } from './views/overview.js';
import { applicationView, deviceTypeView, registryView } from './views/registry.js';

interface Route {
  readonly pattern: RegExp;
  readonly view: View;
  /** Which navigation entry is current. */
  readonly section: string;
  readonly title: string;
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/?(overview)?$/, view: overviewView, section: 'overview', title: 'Overview' },
  { pattern: /^\/devices$/, view: devicesView, section: 'devices', title: 'Devices' },
  { pattern: /^\/devices\/(?<id>[^/]+)$/, view: deviceView, section: 'devices', title: 'Device' },
  { pattern: /^\/inspector$/, view: inspectorView, section: 'inspector', title: 'Message inspector' },
  { pattern: /^\/registry$/, view: registryView, section: 'registry', title: 'Registry' },
  {
    pattern: /^\/registry\/types\/(?<id>[^/]+)$/,
    view: deviceTypeView,
    section: 'registry',
    title: 'Device type',
  },
  {
    pattern: /^\/registry\/apps\/(?<id>[^/]+)$/,
    view: applicationView,
    section: 'registry',
    title: 'Application',
  },
  { pattern: /^\/alerts$/, view: alertsView, section: 'alerts', title: 'Alerts' },
  // Data operations (issue 16).
  { pattern: /^\/dead-letters$/, view: deadLettersView, section: 'dead-letters', title: 'Dead letters' },
];

const NAVIGATION = [
  ['overview', 'Overview'],
  ['devices', 'Devices'],
  ['inspector', 'Inspector'],
  ['registry', 'Registry'],
  ['alerts', 'Alerts'],
  ['dead-letters', 'Dead letters'],
] as const;

function parseHash(): { path: string; query: URLSearchParams } {
  const text = location.hash.replace(/^#/, '');
  const [path = '', query = ''] = text.split('?', 2);
  return { path: path || '/overview', query: new URLSearchParams(query) };
}

function start(config: DashboardConfig, problems: string[]) {
  const api = new Api(config);
  const main = h('main', { id: 'view', tabIndex: -1 });
  const links = new Map<string, HTMLAnchorElement>();
  const nav = h(
    'nav',
    { aria: { label: 'Main' } },
    h(
      'ul',
      {},
      ...NAVIGATION.map(([section, label]) => {
        const link = h('a', { href: `#/${section}` }, label);
        links.set(section, link);
        return h('li', {}, link);
      }),
    ),
  );
  const health = h('span', { className: 'health', role: 'status', aria: { live: 'polite' } }, 'API …');
  const signIn = h('div', { className: 'sign-in' });
  const banner = h(
    'div',
    { role: 'alert' },
    problems.length
      ? h(
          'p',
          { className: 'form-error' },
          `config.json: ${problems.join('; ')} (using the same-origin default)`,
        )
      : null,
  );
  const skip = h(
    'button',
    { type: 'button', className: 'skip', on: { click: () => main.focus() } },
    'Skip to content',
  );
  replace(
    document.body,
    skip,
    h(
      'header',
      { className: 'app-header' },
      h('a', { href: '#/overview', className: 'brand' }, 'IoT Cloud'),
      nav,
      // Issue 15: the active-alerts count, on the views' poll interval.
      h('div', { className: 'header-side' }, activeAlertsBadge(api, config.pollIntervalMs), health, signIn),
    ),
    banner,
    main,
  );

  // Sign-in for writes.
  const renderSignIn = (asking = false) => {
    if (auth.token()) {
      replace(
        signIn,
        h(
          'button',
          {
            type: 'button',
            className: 'secondary',
            on: {
              click: () => {
                auth.setToken(undefined);
                renderSignIn();
              },
            },
          },
          'Sign out',
        ),
      );
      return;
    }
    if (config.auth.mode === 'cognito') {
      const cognito = config.auth;
      replace(
        signIn,
        h(
          'button',
          { type: 'button', className: 'secondary', on: { click: () => void startCognitoSignIn(cognito) } },
          'Sign in',
        ),
      );
      return;
    }
    if (config.auth.mode === 'none' && !asking) {
      replace(signIn);
      return;
    }
    const input = h('input', {
      type: 'password',
      id: 'api-token',
      autocomplete: 'off',
      placeholder: 'bearer token',
    });
    const form = h(
      'form',
      { className: 'token-form' },
      field('API token (for changes)', input),
      h('button', { type: 'submit' }, 'Use token'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (input.value.trim()) auth.setToken(input.value.trim());
      renderSignIn();
    });
    replace(signIn, form);
    if (asking) input.focus();
  };
  setUnauthorizedHandler(() => renderSignIn(true));
  renderSignIn();

  // The API's health, on its own slow poll for the whole session.
  const checkHealth = async () => {
    try {
      const response = await fetch(api.url('/api/health'));
      const body = (await response.json()) as Health;
      health.className = `health health-${body.status === 'ok' ? 'ok' : 'degraded'}`;
      const degraded = Object.entries(body.components ?? {})
        .filter(([, status]) => status !== 'ok')
        .map(([name]) => name);
      replace(
        health,
        body.status === 'ok'
          ? `API ok · v${body.version}`
          : `API degraded: ${degraded.join(', ') || 'unknown'}`,
      );
    } catch {
      health.className = 'health health-down';
      replace(health, 'API unreachable');
    }
    setTimeout(checkHealth, 15_000);
  };
  void checkHealth();

  let scope: ViewScope | undefined;
  let previousPath: string | undefined;
  const show = () => {
    const { path, query } = parseHash();
    const route = ROUTES.find((r) => r.pattern.test(path));
    scope?.dispose();
    scope = new ViewScope();
    const current = scope;
    for (const [section, link] of links) {
      if (route?.section === section) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    if (!route) {
      document.title = 'Not found · IoT Cloud';
      replace(main, empty(`There is no page "${path}".`, 'Choose a section in the navigation.'));
      return;
    }
    const params = new URLSearchParams(query);
    const id = route.pattern.exec(path)?.groups?.id;
    if (id !== undefined) {
      try {
        params.set('id', decodeURIComponent(id));
      } catch {
        params.set('id', id);
      }
    }
    document.title = `${route.title} · IoT Cloud`;
    main.replaceChildren();
    route.view(main, {
      api,
      config,
      signal: current.signal,
      params,
      poll: (task, every = config.pollIntervalMs) =>
        current.poll(task, every, (error) => {
          // Each view shows its own error state; this is for the developer console only.
          console.warn('refresh failed:', error);
        }),
      setParams: (next) => {
        const search = new URLSearchParams();
        for (const [name, value] of Object.entries(next))
          if (value !== undefined && value !== '') search.set(name, value);
        const text = search.toString();
        history.replaceState(null, '', `#${path}${text ? `?${text}` : ''}`);
      },
    });
    // A new page (not a filter change) moves focus to it, for keyboard and screen-reader users.
    if (previousPath !== undefined && previousPath !== path) main.focus();
    previousPath = path;
  };
  window.addEventListener('hashchange', show);
  show();
}

async function boot() {
  const { config, problems } = await loadConfig();
  if (config.auth.mode === 'cognito') {
    const failure = await finishCognitoSignIn(config.auth).catch((error: unknown) => String(error));
    if (failure) problems.push(`sign-in: ${failure}`);
  }
  start(config, problems);
}

void boot();
