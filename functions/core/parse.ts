/**
 * First gate for every incoming payload: bytes in, either a checked JSON object or a typed rejection.
 * Nothing here throws to the caller: hostile input is a normal outcome, not an exception.
 */
import { IOT_CORE_MAX_PAYLOAD_BYTES } from '../shared/aws-limits.js';
import type { RejectionReason } from './contract/messages.js';

/** AWS IoT Core's own message size limit: anything larger cannot have come through IoT Core. */
export const MAX_PAYLOAD_BYTES = IOT_CORE_MAX_PAYLOAD_BYTES;

/** Our contract nests at most three levels (message > measurements > group); 16 leaves ample room. */
export const MAX_NESTING_DEPTH = 16;

/**
 * Keys that can reach an object's prototype when code copies or merges objects. JSON.parse itself
 * creates them as plain own properties, but a later spread or merge could not be trusted to.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface Rejection {
  readonly reason: RejectionReason;
  readonly detail: string;
  readonly path?: string;
  readonly deviceId?: string;
}

export type ParseResult =
  | {
      readonly ok: true;
      readonly value: Record<string, unknown>;
      /** The payload as text: enrichment reuses it when the message needs no normalising. */
      readonly text: string;
    }
  | { readonly ok: false; readonly rejection: Rejection };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const reject = (reason: RejectionReason, detail: string, path?: string): ParseResult => ({
  ok: false,
  rejection: path === undefined ? { reason, detail } : { reason, detail, path },
});

const tooLarge = (sizeBytes: number): ParseResult =>
  reject('PAYLOAD_TOO_LARGE', `payload is ${sizeBytes} bytes, the limit is ${MAX_PAYLOAD_BYTES}`);

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Walks the parsed value once, checking depth and forbidden keys. Recursion is safe: it stops one level
 * past MAX_NESTING_DEPTH whatever the input. The path is only built for the problem found, so a clean
 * message costs no string work.
 */
function findStructureProblem(
  value: unknown,
  depth: number,
): { reason: RejectionReason; path: string[] } | undefined {
  if (depth > MAX_NESTING_DEPTH) return { reason: 'TOO_DEEP', path: [] };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child = value[i];
      if (typeof child !== 'object' || child === null) continue;
      const problem = findStructureProblem(child, depth + 1);
      if (problem) {
        problem.path.push(`[${i}]`);
        return problem;
      }
    }
    return undefined;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (FORBIDDEN_KEYS.has(key)) return { reason: 'FORBIDDEN_KEY', path: [key] };
    const child = object[key];
    if (typeof child !== 'object' || child === null) continue;
    const problem = findStructureProblem(child, depth + 1);
    if (problem) {
      problem.path.push(key);
      return problem;
    }
  }
  return undefined;
}

/** Renders a reversed key chain as `a.b[2].c`. */
const renderPath = (reversed: string[]): string =>
  reversed.reduceRight((path, key) => (key.startsWith('[') ? path + key : path ? `${path}.${key}` : key), '');

/** Parses and structurally checks one payload (a string, or the raw bytes of an MQTT/Kafka message). */
export function parsePayload(payload: string | Uint8Array): ParseResult {
  let text: string;
  if (typeof payload === 'string') {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so only long strings pay for an exact count.
    const sizeBytes = payload.length * 3 <= MAX_PAYLOAD_BYTES ? 0 : Buffer.byteLength(payload, 'utf8');
    if (sizeBytes > MAX_PAYLOAD_BYTES) return tooLarge(sizeBytes);
    text = payload;
  } else {
    if (payload.byteLength > MAX_PAYLOAD_BYTES) return tooLarge(payload.byteLength);
    try {
      text = utf8Decoder.decode(payload);
    } catch {
      return reject('INVALID_UTF8', 'payload is not valid UTF-8');
    }
  }
  // A regex stops at the first non-blank character, where trim() would copy the whole payload.
  if (!/\S/.test(text)) return reject('EMPTY_PAYLOAD', 'payload is empty');

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message names the position ("Unexpected token } in JSON at position 12"): useful, and safe to echo.
    const message = error instanceof Error ? error.message : 'unparseable';
    return reject('INVALID_JSON', `payload is not valid JSON: ${message.slice(0, 200)}`);
  }
  if (!isPlainObject(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return reject('NOT_AN_OBJECT', `payload must be a JSON object, got ${kind}`);
  }
  const problem = findStructureProblem(value, 1);
  if (problem) {
    const path = renderPath(problem.path);
    return problem.reason === 'TOO_DEEP'
      ? reject('TOO_DEEP', `nesting deeper than ${MAX_NESTING_DEPTH} levels`, path)
      : reject('FORBIDDEN_KEY', `key "${path}" is not allowed`, path);
  }
  return { ok: true, value, text };
}
