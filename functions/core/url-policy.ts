/**
 * Server-side request forgery rules for channel URLs, the pure part: which URLs and which resolved
 * addresses a delivery may go to. The notifier's HTTP adapter resolves the host, checks every address
 * here and connects to the address it checked (functions/adapters/notifications/guarded-http.ts).
 *
 * Always refused, whatever the environment: link-local (169.254.0.0/16, fe80::/10, where cloud
 * metadata services live), the known metadata addresses and host names, unspecified, broadcast,
 * multicast and reserved ranges, and the IPv6 forms that embed an IPv4 address (6to4, Teredo, NAT64)
 * since they could reach any of those. Private, loopback, unique-local and carrier-grade NAT ranges
 * only where the environment allows them (the local platform, for testing; never AWS).
 * Address ranges come from ipaddr.js (its `range()` classification of the IANA special ranges).
 */
import ipaddr from 'ipaddr.js';

export interface UrlPolicy {
  /** Plain http allowed (the local platform); AWS requires https. */
  readonly allowHttp: boolean;
  /** Private, loopback, unique-local and CGNAT addresses allowed (the local platform); AWS refuses them. */
  readonly allowPrivateAddresses: boolean;
}

/** AWS: https to public addresses only. */
export const STRICT_URL_POLICY: UrlPolicy = { allowHttp: false, allowPrivateAddresses: false };
/** The local platform: receivers on this machine or the LAN are the point of testing. */
export const LOCAL_URL_POLICY: UrlPolicy = { allowHttp: true, allowPrivateAddresses: true };

export class UrlRefusedError extends Error {
  override readonly name = 'UrlRefusedError';
}

/**
 * Metadata services by address: AWS IMDS (IPv4 and its IPv6 endpoint on Nitro), GCP and Azure share
 * 169.254.169.254 (link-local, refused anyway), Oracle 192.0.0.192, Alibaba 100.100.100.200 (inside
 * CGNAT, which a permissive policy would otherwise let through).
 */
const METADATA_ADDRESSES = ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192'].map(
  (address) => ipaddr.parse(address).toString(),
);

/** Metadata services by name (checked before resolving; their addresses are refused as well). */
const METADATA_HOSTS = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
]);

type Range = ReturnType<ipaddr.IPv4['range']> | ReturnType<ipaddr.IPv6['range']>;

const ALWAYS_REFUSED: ReadonlySet<Range> = new Set<Range>([
  'unspecified',
  'broadcast',
  'multicast',
  'linkLocal',
  'reserved',
  'benchmarking',
  'amt',
  'as112',
  'as112v6',
  'orchid2',
  'droneRemoteIdProtocolEntityTags',
  // IPv6 forms that carry an IPv4 address: they could lead anywhere the IPv4 rules refuse.
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
]);

const PRIVATE_RANGES: ReadonlySet<Range> = new Set<Range>([
  'private',
  'loopback',
  'uniqueLocal',
  'carrierGradeNat',
]);

/** Why an address is refused under a policy, or `undefined` when a delivery may connect to it. */
export function addressRefusal(address: string, policy: UrlPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return `"${address}" is not an IP address`;
  let parsed = ipaddr.parse(address);
  // ::ffff:169.254.169.254 is the IPv4 address as far as the network is concerned.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const normalised = parsed.toString();
  if (METADATA_ADDRESSES.includes(normalised)) return `${normalised} is a cloud metadata address`;
  const range = parsed.range();
  if (ALWAYS_REFUSED.has(range)) return `${normalised} is in a ${range} range`;
  if (PRIVATE_RANGES.has(range) && !policy.allowPrivateAddresses) {
    return `${normalised} is a ${range} address, not allowed in this environment`;
  }
  return undefined;
}

/** An IP literal as URLs write it (`[::1]` for IPv6), or `undefined` for a host name. */
export function ipLiteralOf(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : undefined;
}

/**
 * Checks a URL's form before anything is resolved: scheme, no credentials, a host that is not a
 * metadata name. Returns the parsed URL; throws `UrlRefusedError` naming the reason.
 */
export function checkUrlForm(value: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UrlRefusedError('not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    throw new UrlRefusedError(policy.allowHttp ? 'must be http or https' : 'must be https');
  }
  if (url.username !== '' || url.password !== '') {
    throw new UrlRefusedError('must not carry credentials (user:password@)');
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === '') throw new UrlRefusedError('has no host');
  if (METADATA_HOSTS.has(host)) throw new UrlRefusedError(`${host} is a cloud metadata host`);
  // WHATWG URL parsing already turned decimal, octal and hex IPv4 forms (http://2852039166/) into
  // dotted quads, so an address literal is checked in its canonical form.
  const literal = ipLiteralOf(url.hostname);
  if (literal !== undefined) {
    const refusal = addressRefusal(literal, policy);
    if (refusal) throw new UrlRefusedError(refusal);
  }
  return url;
}
