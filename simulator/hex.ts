import { HEX_BYTE_WIDTH, type HexEncoding } from '../functions/core/index.js';

/**
 * Encodes a physical value the way a device register carries it, as the registry declares: the inverse
 * of the core's decodeHex (raw = round((value - offset) / scale), clamped to the type's range,
 * upper-case hex of exactly the type's width).
 */
export function encodeHex(value: number, encoding: HexEncoding): string {
  const width = HEX_BYTE_WIDTH[encoding.type];
  const bytes = new Uint8Array(width);
  const view = new DataView(bytes.buffer);
  const little = encoding.byteOrder === 'little';
  const raw = (value - encoding.offset) / encoding.scale;
  const integer = (min: number, max: number) => Math.min(max, Math.max(min, Math.round(raw)));
  switch (encoding.type) {
    case 'int8':
      view.setInt8(0, integer(-128, 127));
      break;
    case 'uint8':
      view.setUint8(0, integer(0, 255));
      break;
    case 'int16':
      view.setInt16(0, integer(-32768, 32767), little);
      break;
    case 'uint16':
      view.setUint16(0, integer(0, 65535), little);
      break;
    case 'int32':
      view.setInt32(0, integer(-2147483648, 2147483647), little);
      break;
    case 'uint32':
      view.setUint32(0, integer(0, 4294967295), little);
      break;
    case 'float32':
      view.setFloat32(0, raw, little);
      break;
  }
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).toUpperCase().padStart(2, '0');
  return hex;
}
