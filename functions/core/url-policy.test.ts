import { describe, expect, it } from 'vitest';
import { addressRefusal, checkUrlForm, LOCAL_URL_POLICY, STRICT_URL_POLICY } from './url-policy.js';

describe('addresses', () => {
  it.each([
    ['169.254.169.254', /metadata/],
    ['fd00:ec2::254', /metadata/],
    ['::ffff:169.254.169.254', /metadata/],
    ['169.254.10.1', /linkLocal/],
    ['fe80::1', /linkLocal/],
    ['0.0.0.0', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['2002:a9fe:a9fe::1', /6to4/],
    ['100.100.100.200', /metadata/],
  ])('always refuses %s, even where private addresses are allowed', (address, reason) => {
    expect(addressRefusal(address, LOCAL_URL_POLICY)).toMatch(reason);
    expect(addressRefusal(address, STRICT_URL_POLICY)).toMatch(reason);
  });

  it.each(['10.1.2.3', '172.16.0.1', '192.168.1.10', '127.0.0.1', '::1', 'fd12:3456::1', '100.64.0.1'])(
    'refuses the private or loopback address %s unless the environment allows it',
    (address) => {
      expect(addressRefusal(address, STRICT_URL_POLICY)).toMatch(/not allowed in this environment/);
      expect(addressRefusal(address, LOCAL_URL_POLICY)).toBeUndefined();
    },
  );

  it('allows public addresses everywhere', () => {
    expect(addressRefusal('93.184.216.34', STRICT_URL_POLICY)).toBeUndefined();
    expect(addressRefusal('2606:4700::6810:84e5', STRICT_URL_POLICY)).toBeUndefined();
  });
});

describe('URL form', () => {
  it('requires https where http is not allowed', () => {
    expect(() => checkUrlForm('http://hooks.example.com/x', STRICT_URL_POLICY)).toThrow(/must be https/);
    expect(checkUrlForm('http://hooks.example.com/x', LOCAL_URL_POLICY).hostname).toBe('hooks.example.com');
  });

  it('refuses other schemes, credentials and metadata host names', () => {
    expect(() => checkUrlForm('file:///etc/passwd', LOCAL_URL_POLICY)).toThrow(/http or https/);
    expect(() => checkUrlForm('https://u:p@example.com/', LOCAL_URL_POLICY)).toThrow(/credentials/);
    expect(() => checkUrlForm('http://metadata.google.internal./x', LOCAL_URL_POLICY)).toThrow(
      /metadata host/,
    );
  });

  it('refuses address literals in any spelling the URL parser accepts', () => {
    // 2852039166 = 0xA9FEA9FE = 169.254.169.254.
    expect(() => checkUrlForm('http://2852039166/latest/meta-data/', LOCAL_URL_POLICY)).toThrow(/metadata/);
    expect(() => checkUrlForm('http://0xa9.0xfe.0xa9.0xfe/', LOCAL_URL_POLICY)).toThrow(/metadata/);
    expect(() => checkUrlForm('http://[fd00:ec2::254]/', LOCAL_URL_POLICY)).toThrow(/metadata/);
    expect(() => checkUrlForm('https://127.0.0.1/', STRICT_URL_POLICY)).toThrow(/loopback/);
  });
});
