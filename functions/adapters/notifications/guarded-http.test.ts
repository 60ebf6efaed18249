/**
 * The SSRF guard with a scripted resolver (no real DNS): names resolving to refused addresses, and the
 * connection pinned to the checked address. Receivers listen on 127.0.0.1 (port 0).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_URL_POLICY, STRICT_URL_POLICY } from '../../core/url-policy.js';
import { checkTarget, postTo, type Resolver, UrlRefusedError } from './guarded-http.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function receiver(status = 200) {
  const hosts: (string | undefined)[] = [];
  const server = createServer((request, response) => {
    hosts.push(request.headers.host);
    request.resume();
    request.on('end', () => {
      response.statusCode = status;
      if (status >= 300 && status < 400) response.setHeader('location', 'http://169.254.169.254/');
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, hosts };
}

const resolvingTo =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('checkTarget', () => {
  it('refuses a host name that resolves to the metadata address', async () => {
    await expect(
      checkTarget('https://hooks.example.com/x', LOCAL_URL_POLICY, resolvingTo('169.254.169.254')),
    ).rejects.toThrow(/hooks\.example\.com resolves to 169\.254\.169\.254 is a cloud metadata address/);
  });

  it('refuses a host name that resolves to a link-local IPv6 address', async () => {
    await expect(
      checkTarget('https://hooks.example.com/x', LOCAL_URL_POLICY, resolvingTo('fe80::1')),
    ).rejects.toThrow(/linkLocal/);
  });

  it('refuses a name with any private address where private ranges are not allowed', async () => {
    await expect(
      checkTarget('https://hooks.example.com/x', STRICT_URL_POLICY, resolvingTo('93.184.216.34', '10.0.0.5')),
    ).rejects.toThrow(/10\.0\.0\.5 is a private address, not allowed/);
  });

  it('allows a private address where the environment allows it', async () => {
    const target = await checkTarget('http://hooks.example.com/x', LOCAL_URL_POLICY, resolvingTo('10.0.0.5'));

    expect(target).toMatchObject({ address: '10.0.0.5', family: 4 });
  });

  it('refuses a name that does not resolve, as a refusal (not a crash)', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };

    await expect(checkTarget('https://nowhere.invalid/', STRICT_URL_POLICY, failing)).rejects.toBeInstanceOf(
      UrlRefusedError,
    );
  });
});

describe('postTo', () => {
  it('connects to the checked address, not to what the name resolves to later (no rebinding)', async () => {
    const { port, hosts } = await receiver();
    // `.invalid` never resolves (RFC 6761): the request can only arrive through the pinned address.
    let calls = 0;
    const rebinding: Resolver = async () => [
      { address: calls++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 },
    ];
    const target = await checkTarget(`http://hooks.invalid:${port}/x`, LOCAL_URL_POLICY, rebinding);

    const result = await postTo(
      target,
      { body: '{}', headers: { 'content-type': 'application/json' } },
      2000,
    );

    expect(result.status).toBe(200);
    expect(hosts).toEqual([`hooks.invalid:${port}`]);
    expect(calls).toBe(1);
  });

  it('does not follow a redirect', async () => {
    const { port } = await receiver(302);
    const target = await checkTarget(`http://127.0.0.1:${port}/x`, LOCAL_URL_POLICY);

    const result = await postTo(target, { body: '{}', headers: {} }, 2000);

    expect(result.status).toBe(302);
  });
});
