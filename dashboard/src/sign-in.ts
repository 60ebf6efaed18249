/**
 * Signing in for writes. `token`: the user pastes a bearer token (kept in this tab's sessionStorage).
 * `cognito`: the Cognito hosted UI signs in with the authorization code flow and PKCE; the code is
 * exchanged for tokens at the hosted UI's /oauth2/token (the page's CSP must allow that origin in
 * connect-src).
 */
import { auth } from './api.js';
import type { AuthConfig } from './config.js';

type Cognito = Extract<AuthConfig, { mode: 'cognito' }>;
const VERIFIER_KEY = 'iot-cloud.pkce-verifier';

const base64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const redirectUriOf = (config: Cognito) => config.redirectUri ?? `${location.origin}${location.pathname}`;

export async function startCognitoSignIn(config: Cognito): Promise<void> {
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const challenge = base64Url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  const url = new URL('/oauth2/authorize', config.domain);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUriOf(config),
    scope: (config.scopes ?? ['openid', 'email']).join(' '),
    code_challenge_method: 'S256',
    code_challenge: challenge,
  }).toString();
  location.assign(url.toString());
}

/** On the way back from the hosted UI (`?code=`): trades the code for tokens and cleans the URL. */
export async function finishCognitoSignIn(config: Cognito): Promise<string | undefined> {
  const query = new URLSearchParams(location.search);
  const code = query.get('code');
  if (!code) return undefined;
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  sessionStorage.removeItem(VERIFIER_KEY);
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
  if (!verifier) return 'sign-in was not started from this tab';
  const response = await fetch(new URL('/oauth2/token', config.domain), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.clientId,
      code,
      redirect_uri: redirectUriOf(config),
      code_verifier: verifier,
    }),
  });
  if (!response.ok) return `the token exchange failed (HTTP ${response.status})`;
  const tokens = (await response.json()) as { id_token?: string; access_token?: string };
  // API Gateway's JWT authorizer accepts the access token when the API lists the app client as audience.
  const token = tokens.access_token ?? tokens.id_token;
  if (!token) return 'the token response carried no token';
  auth.setToken(token);
  return undefined;
}
