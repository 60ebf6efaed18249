import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES, type ParseResult, parsePayload } from './parse.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The rejection reason, or 'ok' when the payload was accepted. */
const reasonOf = (result: ParseResult): string => (result.ok ? 'ok' : result.rejection.reason);
const pathOf = (result: ParseResult): string | undefined => (result.ok ? undefined : result.rejection.path);

/** `{"a":{"a":...{}}}` with `levels` objects, the outermost counted as level 1. */
const nestedObjects = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

/** A JSON object whose text is exactly `bytes` long in UTF-8. */
const objectOfSize = (bytes: number): string => {
  const frame = '{"pad":""}';
  return `{"pad":"${'x'.repeat(bytes - frame.length)}"}`;
};

describe('parsePayload: accepted payloads', () => {
  it('returns the object and the text for a JSON object', () => {
    // Prepare
    const text = '{"device_id":"brk-001","measurements":{"voltage":{"phase_a":120.1}}}';

    // Act
    const result = parsePayload(text);

    // Assess
    expect(result).toEqual({
      ok: true,
      value: { device_id: 'brk-001', measurements: { voltage: { phase_a: 120.1 } } },
      text,
    });
  });

  it('decodes a Uint8Array payload as UTF-8', () => {
    // Prepare
    const text = '{"site":"Zürich ☀"}';

    // Act
    const result = parsePayload(encode(text));

    // Assess
    expect(result).toEqual({ ok: true, value: { site: 'Zürich ☀' }, text });
  });

  it('accepts a payload of exactly 128 KB', () => {
    // Prepare
    const text = objectOfSize(MAX_PAYLOAD_BYTES);

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('ok');
  });

  it('accepts nesting of exactly MAX_NESTING_DEPTH levels', () => {
    // Prepare
    const text = nestedObjects(MAX_NESTING_DEPTH);

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('ok');
  });
});

describe('parsePayload: EMPTY_PAYLOAD', () => {
  it('rejects an empty string with EMPTY_PAYLOAD', () => {
    // Prepare
    const text = '';

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('EMPTY_PAYLOAD');
  });

  it('rejects a whitespace-only string with EMPTY_PAYLOAD', () => {
    // Prepare
    const text = ' \n\t\r ';

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('EMPTY_PAYLOAD');
  });

  it('rejects an empty Uint8Array with EMPTY_PAYLOAD', () => {
    // Prepare
    const bytes = new Uint8Array(0);

    // Act
    const result = parsePayload(bytes);

    // Assess
    expect(reasonOf(result)).toBe('EMPTY_PAYLOAD');
  });
});

describe('parsePayload: PAYLOAD_TOO_LARGE', () => {
  it('rejects a string over 128 KB with PAYLOAD_TOO_LARGE', () => {
    // Prepare
    const text = objectOfSize(MAX_PAYLOAD_BYTES + 1);

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rejects a string over 128 KB in UTF-8 only because of multi-byte characters with PAYLOAD_TOO_LARGE', () => {
    // Prepare: fewer UTF-16 units than the limit, but two UTF-8 bytes for each 'é'.
    const text = `{"pad":"${'é'.repeat(MAX_PAYLOAD_BYTES / 2)}"}`;

    // Act
    const result = parsePayload(text);

    // Assess
    expect(text.length).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(reasonOf(result)).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rejects a Uint8Array over 128 KB with PAYLOAD_TOO_LARGE', () => {
    // Prepare
    const bytes = encode(objectOfSize(MAX_PAYLOAD_BYTES + 1));

    // Act
    const result = parsePayload(bytes);

    // Assess
    expect(reasonOf(result)).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('parsePayload: INVALID_UTF8 and INVALID_JSON', () => {
  it('rejects the bytes 0xff 0xfe with INVALID_UTF8', () => {
    // Prepare
    const bytes = new Uint8Array([0xff, 0xfe]);

    // Act
    const result = parsePayload(bytes);

    // Assess
    expect(reasonOf(result)).toBe('INVALID_UTF8');
  });

  it('rejects truncated JSON with INVALID_JSON', () => {
    // Prepare
    const text = '{"device_id":"brk-001","measurements":{"voltage":';

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('INVALID_JSON');
  });
});

describe('parsePayload: NOT_AN_OBJECT', () => {
  it.each([
    ['an array', '[{"device_id":"brk-001"}]'],
    ['a number', '42'],
    ['null', 'null'],
    ['a string', '"brk-001"'],
  ])('rejects %s with NOT_AN_OBJECT', (_kind, text) => {
    // Prepare (the table)

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('NOT_AN_OBJECT');
  });
});

describe('parsePayload: TOO_DEEP', () => {
  it('rejects nesting beyond MAX_NESTING_DEPTH with TOO_DEEP and the path to the level', () => {
    // Prepare
    const text = nestedObjects(MAX_NESTING_DEPTH + 1);

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('TOO_DEEP');
    expect(pathOf(result)).toBe(Array(MAX_NESTING_DEPTH).fill('a').join('.'));
  });

  it('reports array indices in the TOO_DEEP path', () => {
    // Prepare: the object, then MAX_NESTING_DEPTH arrays below key "m".
    const text = `{"m":${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}}`;

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('TOO_DEEP');
    expect(pathOf(result)).toBe(`m${'[0]'.repeat(MAX_NESTING_DEPTH - 1)}`);
  });

  it('rejects a 65 000-deep array, about the deepest that fits in 128 KB, with TOO_DEEP', () => {
    // Prepare
    const depth = 65_000;
    const text = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('TOO_DEEP');
  });

  it('rejects 100 000 unclosed brackets with INVALID_JSON instead of overflowing the stack', () => {
    // Prepare
    const text = `{"a":${'['.repeat(100_000)}`;

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('INVALID_JSON');
  });

  it('rejects a 100 000-deep array, too large for 128 KB, with PAYLOAD_TOO_LARGE and does not throw', () => {
    // Prepare
    const depth = 100_000;
    const text = `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;

    // Act
    const result = parsePayload(text);

    // Assess
    expect(reasonOf(result)).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('parsePayload: FORBIDDEN_KEY', () => {
  it.each(['__proto__', 'constructor', 'prototype'])(
    'rejects a top-level "%s" key with FORBIDDEN_KEY and its path',
    (key) => {
      // Prepare
      const text = `{"device_id":"brk-001","${key}":{"polluted":true}}`;

      // Act
      const result = parsePayload(text);

      // Assess
      expect(reasonOf(result)).toBe('FORBIDDEN_KEY');
      expect(pathOf(result)).toBe(key);
    },
  );

  it.each(['__proto__', 'constructor', 'prototype'])(
    'rejects a nested "%s" key with FORBIDDEN_KEY and its full path',
    (key) => {
      // Prepare
      const text = `{"measurements":{"voltage":[1,{"${key}":1}]}}`;

      // Act
      const result = parsePayload(text);

      // Assess
      expect(reasonOf(result)).toBe('FORBIDDEN_KEY');
      expect(pathOf(result)).toBe(`measurements.voltage[1].${key}`);
    },
  );

  it('leaves Object.prototype unpolluted when parsing a __proto__ payload', () => {
    // Prepare
    const text = '{"__proto__":{"polluted":true}}';

    // Act
    parsePayload(text);

    // Assess
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
