import type { HexEncoding } from './contract/registry.js';

/** Bytes per register type: the wire value is exactly twice as many hex digits. */
export const HEX_BYTE_WIDTH: Readonly<Record<HexEncoding['type'], number>> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
};

const HEX_DIGITS = /^[0-9A-Fa-f]+$/;

export type HexDecodeResult = { ok: true; value: number } | { ok: false; detail: string };

/**
 * Decodes one hex-encoded register value (RS-485/Modbus style) as the registry declares it.
 * The string must hold exactly the type's width (an optional `0x` prefix is allowed), so a truncated
 * or padded frame is reported instead of silently decoded as something else.
 */
export function decodeHex(wire: unknown, encoding: HexEncoding): HexDecodeResult {
  if (typeof wire !== 'string') return { ok: false, detail: `expected a hex string, got ${typeof wire}` };
  const digits = wire.startsWith('0x') || wire.startsWith('0X') ? wire.slice(2) : wire;
  const width = HEX_BYTE_WIDTH[encoding.type];
  if (digits.length !== width * 2 || !HEX_DIGITS.test(digits)) {
    return { ok: false, detail: `expected ${width * 2} hex digits for ${encoding.type}` };
  }
  // Integers up to 32 bits fit a double exactly: read the digits as one unsigned number, reorder the
  // bytes for little-endian, then apply the sign. float32 goes through a DataView.
  let unsigned = Number.parseInt(digits, 16);
  if (encoding.byteOrder === 'little' && width > 1) {
    let swapped = 0;
    for (let i = 0; i < width; i++) swapped = swapped * 256 + (Math.floor(unsigned / 256 ** i) % 256);
    unsigned = swapped;
  }
  let raw: number;
  const bits = width * 8;
  switch (encoding.type) {
    case 'int8':
    case 'int16':
    case 'int32':
      raw = unsigned >= 2 ** (bits - 1) ? unsigned - 2 ** bits : unsigned;
      break;
    case 'uint8':
    case 'uint16':
    case 'uint32':
      raw = unsigned;
      break;
    case 'float32': {
      const view = new DataView(new ArrayBuffer(4));
      view.setUint32(0, unsigned);
      raw = view.getFloat32(0);
      if (!Number.isFinite(raw)) return { ok: false, detail: 'float32 is NaN or infinite' };
      break;
    }
  }
  // Round away binary noise from the scale (0.1 * 230 = 23.000000000000004) to 10 significant digits.
  return { ok: true, value: Number((raw * encoding.scale + encoding.offset).toPrecision(10)) };
}

export const describeEncoding = (encoding: HexEncoding): string =>
  `hex ${encoding.type} ${encoding.byteOrder}-endian * ${encoding.scale} + ${encoding.offset}`;
