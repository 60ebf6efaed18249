/**
 * `config.json`, served next to index.html: where the API is and how writes authenticate. The local
 * server's build writes one (same origin, no sign-in); in AWS the CDK stack writes its own. This
 * module has no DOM code, so the CDK app types the file it generates with this shape and its tests
 * parse it with this parser.
 */
export type AuthConfig =
  /** Writes are open (local mode without a token). A 401 still asks for a token. */
  | { readonly mode: 'none' }
  /** Writes need a bearer token the user pastes in (kept in this tab's sessionStorage only). */
  | { readonly mode: 'token' }
  /** Writes need a Cognito user pool token: the hosted UI signs in (authorization code + PKCE). */
  | {
      readonly mode: 'cognito';
      /** Hosted UI domain, e.g. `https://iot-cloud.auth.eu-west-1.amazoncognito.com`. */
      readonly domain: string;
      readonly clientId: string;
      /** Defaults to the dashboard's own URL (without the hash). */
      readonly redirectUri?: string;
      readonly scopes?: readonly string[];
    };

export interface DashboardConfig {
  /** Prefix of every API path: '' for the same origin, or e.g. `https://api.example.com`. */
  readonly apiBase: string;
  readonly auth: AuthConfig;
  /** Milliseconds between refreshes of live views (default 5000). */
  readonly pollIntervalMs: number;
}

export const DEFAULT_CONFIG: DashboardConfig = { apiBase: '', auth: { mode: 'none' }, pollIntervalMs: 5000 };

/** Parses config.json; anything missing or malformed falls back to the same-origin default, with a reason. */
export function parseConfig(value: unknown): { config: DashboardConfig; problems: string[] } {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null)
    return { config: DEFAULT_CONFIG, problems: ['config.json is not an object'] };
  const input = value as Record<string, unknown>;
  let apiBase = DEFAULT_CONFIG.apiBase;
  // The routes are `/api/...`: a base naming that prefix itself ('/api', 'https://host/api') means the
  // same origin (or host) as the one without it.
  const base =
    typeof input.apiBase === 'string' ? input.apiBase.replace(/\/+$/, '').replace(/\/api$/, '') : undefined;
  if (base !== undefined && (base === '' || /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(base))) apiBase = base;
  else if (input.apiBase !== undefined) problems.push('apiBase must be "", "/api" or an http(s) URL');
  let auth: AuthConfig = DEFAULT_CONFIG.auth;
  const rawAuth = input.auth as Record<string, unknown> | undefined;
  // A user pool without a hosted-UI domain (`userPoolClientId` only): writes need its access token,
  // pasted in.
  if (rawAuth === undefined && typeof input.userPoolClientId === 'string') auth = { mode: 'token' };
  else if (rawAuth?.mode === 'token') auth = { mode: 'token' };
  else if (rawAuth?.mode === 'cognito') {
    if (
      typeof rawAuth.domain === 'string' &&
      /^https:\/\/[^\s/]+$/.test(rawAuth.domain) &&
      typeof rawAuth.clientId === 'string'
    )
      auth = {
        mode: 'cognito',
        domain: rawAuth.domain,
        clientId: rawAuth.clientId,
        ...(typeof rawAuth.redirectUri === 'string' ? { redirectUri: rawAuth.redirectUri } : {}),
        ...(Array.isArray(rawAuth.scopes)
          ? { scopes: rawAuth.scopes.filter((s): s is string => typeof s === 'string') }
          : {}),
      };
    else problems.push('auth.mode "cognito" needs domain (https://...) and clientId');
  } else if (rawAuth !== undefined && rawAuth.mode !== 'none')
    problems.push('auth.mode must be none, token or cognito');
  const poll = input.pollIntervalMs;
  const pollIntervalMs =
    typeof poll === 'number' && poll >= 1000 && poll <= 60_000 ? poll : DEFAULT_CONFIG.pollIntervalMs;
  if (poll !== undefined && pollIntervalMs !== poll) problems.push('pollIntervalMs must be 1000 to 60000');
  return { config: { apiBase, auth, pollIntervalMs }, problems };
}
