import { describe, expect, it } from 'vitest';
import { seedRegistry } from '../../registry-data/index.js';
import type { HexEncoding } from './contract/registry.js';
import { decodeHex, describeEncoding } from './hex.js';
import { type ProcessOutcome, processMessage } from './process-message.js';
import { compileRegistry } from './registry.js';
import {
  accessControllerTelemetry,
  PROCESSED_AT,
  RECEIVED_AT,
  type TestMessage,
} from './test-support/messages.js';

const encoding = (
  type: HexEncoding['type'],
  options: { byteOrder?: HexEncoding['byteOrder']; scale?: number; offset?: number } = {},
): HexEncoding => ({
  format: 'hex',
  type,
  byteOrder: options.byteOrder ?? 'big',
  scale: options.scale ?? 1,
  offset: options.offset ?? 0,
});

const registry = compileRegistry(seedRegistry);

function run(message: TestMessage): ProcessOutcome {
  return processMessage(
    JSON.stringify(message),
    { receivedAt: RECEIVED_AT, processedAt: PROCESSED_AT },
    { registry, service: 'enrich', serviceVersion: 'test' },
  );
}

function enriched(outcome: ProcessOutcome) {
  if (outcome.kind !== 'enriched') {
    throw new Error(
      `expected an enriched message, got ${outcome.rejection.reason}: ${outcome.rejection.detail}`,
    );
  }
  return outcome;
}

describe('decodeHex', () => {
  it.each([
    ['00E6', 23],
    ['FF9C', -10],
    ['7FFF', 3276.7],
    ['8000', -3276.8],
  ])('decodes int16 big-endian %s with scale 0.1 to %d', (wire, expected) => {
    // Act
    const result = decodeHex(wire, encoding('int16', { scale: 0.1 }));

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it('decodes uint16 2794 with scale 0.1 to 1013.2', () => {
    // Act
    const result = decodeHex('2794', encoding('uint16', { scale: 0.1 }));

    // Assess
    expect(result).toEqual({ ok: true, value: 1013.2 });
  });

  it('decodes uint16 FFFF to 65535', () => {
    // Act
    const result = decodeHex('FFFF', encoding('uint16'));

    // Assess
    expect(result).toEqual({ ok: true, value: 65535 });
  });

  it.each([
    ['int8', 'FF', -1],
    ['int8', '80', -128],
    ['int8', '7F', 127],
    ['uint8', 'FF', 255],
    ['uint8', '00', 0],
  ] as const)('decodes %s %s to %d', (type, wire, expected) => {
    // Act
    const result = decodeHex(wire, encoding(type));

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['int32', 'FFFFFFFF', -1],
    ['uint32', 'FFFFFFFF', 4294967295],
    ['int32', '80000000', -2147483648],
    ['int32', '7FFFFFFF', 2147483647],
  ] as const)('decodes %s %s to %d', (type, wire, expected) => {
    // Act
    const result = decodeHex(wire, encoding(type));

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it('decodes little-endian int16 E600 to 230', () => {
    // Act
    const result = decodeHex('E600', encoding('int16', { byteOrder: 'little' }));

    // Assess
    expect(result).toEqual({ ok: true, value: 230 });
  });

  it('decodes little-endian int16 9CFF to -100', () => {
    // Act
    const result = decodeHex('9CFF', encoding('int16', { byteOrder: 'little' }));

    // Assess
    expect(result).toEqual({ ok: true, value: -100 });
  });

  it('decodes little-endian uint32 01020304 to 0x04030201', () => {
    // Act
    const result = decodeHex('01020304', encoding('uint32', { byteOrder: 'little' }));

    // Assess
    expect(result).toEqual({ ok: true, value: 0x04030201 });
  });

  it('decodes a single byte the same in either byte order', () => {
    // Act
    const little = decodeHex('FE', encoding('int8', { byteOrder: 'little' }));

    // Assess
    expect(little).toEqual({ ok: true, value: -2 });
  });

  it('decodes float32 41C80000 to 25', () => {
    // Act
    const result = decodeHex('41C80000', encoding('float32'));

    // Assess
    expect(result).toEqual({ ok: true, value: 25 });
  });

  it('decodes little-endian float32 0000C841 to 25', () => {
    // Act
    const result = decodeHex('0000C841', encoding('float32', { byteOrder: 'little' }));

    // Assess
    expect(result).toEqual({ ok: true, value: 25 });
  });

  it('applies the offset after the scale', () => {
    // Act
    const result = decodeHex('00E6', encoding('int16', { scale: 0.1, offset: -40 }));

    // Assess
    expect(result).toEqual({ ok: true, value: -17 });
  });

  it.each(['0x00E6', '0X00E6', '00e6'])('accepts %s', (wire) => {
    // Act
    const result = decodeHex(wire, encoding('int16', { scale: 0.1 }));

    // Assess
    expect(result).toEqual({ ok: true, value: 23 });
  });

  it.each(['0E6', '000E6', '', '0x', '0x0E6'])('rejects %j, the wrong length for int16', (wire) => {
    // Act
    const result = decodeHex(wire, encoding('int16'));

    // Assess
    expect(result.ok).toBe(false);
  });

  it.each(['00G6', 'ZZZZ', '-0E6', '+0E6', ' 0E6', '0E6 ', '0x-1'])('rejects the non-hex %j', (wire) => {
    // Act
    const result = decodeHex(wire, encoding('int16'));

    // Assess
    expect(result.ok).toBe(false);
  });

  it.each([230, null, undefined, true, { hex: '00E6' }])('rejects the non-string %j', (wire) => {
    // Act
    const result = decodeHex(wire, encoding('int16'));

    // Assess
    expect(result.ok).toBe(false);
  });

  it.each(['7FC00000', 'FFC00000', '7F800000', 'FF800000'])(
    'rejects the float32 NaN or infinity %s',
    (wire) => {
      // Act
      const result = decodeHex(wire, encoding('float32'));

      // Assess
      expect(result.ok).toBe(false);
    },
  );

  it('names the expected width in the failure detail', () => {
    // Act
    const result = decodeHex('0E6', encoding('int16'));

    // Assess
    expect(result).toEqual({ ok: false, detail: 'expected 4 hex digits for int16' });
  });
});

describe('describeEncoding', () => {
  it('describes type, byte order, scale and offset', () => {
    // Act
    const text = describeEncoding(encoding('int16', { scale: 0.1 }));

    // Assess
    expect(text).toBe('hex int16 big-endian * 0.1 + 0');
  });
});

describe('F2 controller end to end', () => {
  it('puts the decoded RS-485 values in the decoded block', () => {
    // Prepare
    const message = accessControllerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.decoded).toEqual({
      'rs485.temperature': 23,
      'rs485.humidity': 50,
      'rs485.pressure': 1013.2,
      'rs485.co2': 450,
    });
  });

  it('keeps the hex wire values in measurements', () => {
    // Prepare
    const message = accessControllerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(JSON.parse(outcome.json).measurements.rs485).toEqual({
      temperature: '00E6',
      humidity: '01F4',
      pressure: '2794',
      co2: '01C2',
    });
  });

  it('describes the encoding of each hex reading in measurement_metadata', () => {
    // Prepare
    const message = accessControllerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    const metadata = outcome.message.measurement_metadata;
    expect(metadata['rs485.temperature']?.encoding).toBe('hex int16 big-endian * 0.1 + 0');
    expect(metadata['rs485.humidity']?.encoding).toBe('hex uint16 big-endian * 0.1 + 0');
    expect(metadata['rs485.co2']?.encoding).toBe('hex uint16 big-endian * 1 + 0');
    expect(metadata['door_sensors.door_1']).not.toHaveProperty('encoding');
  });

  it('rates the decoded values GOOD', () => {
    // Prepare
    const message = accessControllerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.data_quality.readings['rs485.temperature']).toEqual({ verdict: 'GOOD' });
    expect(outcome.message.data_quality.verdict).toBe('GOOD');
  });

  it('leaves an undecodable reading out of the decoded block', () => {
    // Prepare
    const message = accessControllerTelemetry({ measurements: { rs485: { temperature: '00E' } } });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.decoded).toEqual({
      'rs485.humidity': 50,
      'rs485.pressure': 1013.2,
      'rs485.co2': 450,
    });
  });

  it('leaves a decoded value outside the valid range out of the decoded block', () => {
    // Prepare: 0x0F00 * 0.1 = 384 °C.
    const message = accessControllerTelemetry({ measurements: { rs485: { temperature: '0F00' } } });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message.decoded).not.toHaveProperty(['rs485.temperature']);
    expect(outcome.message.decoded).toHaveProperty(['rs485.humidity']);
  });

  it('serialises the decoded block equal to the object', () => {
    // Prepare
    const message = accessControllerTelemetry();

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(JSON.parse(outcome.json).decoded).toStrictEqual(outcome.message.decoded);
  });

  it('adds no decoded block when the message has no hex readings', () => {
    // Prepare
    const message = accessControllerTelemetry({ measurements: { rs485: undefined } });

    // Act
    const outcome = enriched(run(message));

    // Assess
    expect(outcome.message).not.toHaveProperty('decoded');
    expect(JSON.parse(outcome.json)).not.toHaveProperty('decoded');
  });
});
