import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../ports/registry.js';
import { normaliseName } from './applications.js';
import { decodeCursor, encodeCursor } from './support.js';

const isString = (value: unknown) => typeof value === 'string';

describe('cursors', () => {
  it('round-trips a key', () => {
    const key = { deviceId: 'dev-1', deviceType: 'smart_meter', lastSeen: '2026-01-01T00:00:00.000Z' };

    const cursor = encodeCursor(key);

    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, { deviceId: isString, deviceType: isString, lastSeen: isString })).toEqual(
      key,
    );
  });

  it.each([
    ['not base64url', '!!!'],
    ['not JSON', Buffer.from('{oops').toString('base64url')],
    ['an array', encodeCursor({ 0: 'a' }).replace(/.*/, Buffer.from('["a"]').toString('base64url'))],
    ['a missing attribute', encodeCursor({ deviceId: 'dev-1' })],
    ['an extra attribute', encodeCursor({ deviceId: 'dev-1', deviceType: 'x', lastSeen: 'y', more: 'z' })],
    ['a value the check refuses', encodeCursor({ deviceId: 'dev-1', deviceType: 42, lastSeen: 'y' })],
    ['an empty string', ''],
  ])('refuses %s with a ValidationError', (_, cursor) => {
    expect(() =>
      decodeCursor(cursor, { deviceId: isString, deviceType: isString, lastSeen: isString }),
    ).toThrow(ValidationError);
  });
});

describe('normaliseName', () => {
  it('ignores letter case, outer spaces and repeated inner spaces', () => {
    expect(normaliseName('  Smart   Grid MONITOR ')).toBe(normaliseName('smart grid monitor'));
  });

  it('keeps different names apart', () => {
    expect(normaliseName('Grid Monitor')).not.toBe(normaliseName('Grid Monitor 2'));
  });
});
