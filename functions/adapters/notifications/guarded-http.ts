/**
 * Outgoing HTTP for notification channels, guarded against server-side request forgery:
 *
 * 1. the URL's form is checked (functions/core/url-policy.ts);
 * 2. the host is resolved here, every address it resolves to is checked, and one is refused if any
 *    is (a name with one private and one public address is not a public name);
 * 3. the request connects to exactly the address that was checked: node's `lookup` option is given a
 *    function that answers that address, so a DNS answer that changes between the check and the
 *    connection (DNS rebinding) cannot redirect it. TLS still verifies the certificate against the
 *    URL's host name (the `servername` is the host, not the address);
 * 4. redirects are not followed (node's http client never follows them; a 3xx is a failed attempt),
 *    so a public URL cannot bounce a delivery to an internal one.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  addressRefusal,
  checkUrlForm,
  ipLiteralOf,
  type UrlPolicy,
  UrlRefusedError,
} from '../../core/url-policy.js';

export { UrlRefusedError } from '../../core/url-policy.js';

/** Resolves a host name to all of its addresses (injectable so tests can play a rebinding resolver). */
export type Resolver = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface CheckedTarget {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Checks a URL and resolves its host under a policy: the address to connect to, or `UrlRefusedError`
 * naming why not. Used when a channel is saved and again before every delivery.
 */
export async function checkTarget(
  value: string,
  policy: UrlPolicy,
  resolve: Resolver = systemResolver,
): Promise<CheckedTarget> {
  const url = checkUrlForm(value, policy);
  const literal = ipLiteralOf(url.hostname);
  if (literal !== undefined) return { url, address: literal, family: literal.includes(':') ? 6 : 4 };
  let addresses: readonly { address: string; family: number }[];
  try {
    addresses = await resolve(url.hostname);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UrlRefusedError(`${url.hostname} does not resolve${code ? ` (${code})` : ''}`);
  }
  if (addresses.length === 0) throw new UrlRefusedError(`${url.hostname} does not resolve`);
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, policy);
    if (refusal) throw new UrlRefusedError(`${url.hostname} resolves to ${refusal}`);
  }
  const first = addresses[0] as { address: string; family: number };
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

export interface PostResult {
  readonly status: number;
  /** The start of the response body (for the deliveries record's error), at most 200 characters. */
  readonly bodyStart: string;
}

const MAX_RESPONSE_BYTES = 4096;

/**
 * POSTs a body to a checked target, connecting only to `target.address`. Resolves with the status of
 * any response (the caller decides what a 500 or a 3xx means); rejects on a network error or timeout.
 */
export function postTo(
  target: CheckedTarget,
  request: { readonly body: string; readonly headers: Readonly<Record<string, string>> },
  timeoutMs: number,
): Promise<PostResult> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    // Node asks for all addresses (autoSelectFamily) or for one; answer the checked one either way.
    if ((options as { all?: boolean }).all) {
      (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    } else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(
      target.url,
      {
        method: 'POST',
        headers: {
          ...request.headers,
          'content-length': String(Buffer.byteLength(request.body)),
          'user-agent': 'iot-cloud-notifier/1',
        },
        lookup: pinned,
        // No connection reuse: each delivery resolves and checks anew.
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            bodyStart: Buffer.concat(chunks).toString('utf8').slice(0, 200),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', (error: Error) => {
      reject(error.name === 'AbortError' ? new Error(`timeout after ${timeoutMs} ms`) : error);
    });
    outgoing.end(request.body);
  });
}
