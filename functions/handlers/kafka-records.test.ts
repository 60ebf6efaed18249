/**
 * The Lambda MSK event as AWS documents it ("Using Lambda with Amazon MSK", example event), and the
 * Kafka partial batch response identifier (`{ partition: '{topic}-{partition}', offset }`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KafkaEvent } from '../ports/stream.js';
import { eachRecord, failures, recordHeaders, recordValue } from './kafka-records.js';

const docsExample = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'msk-docs-example-event.json'), 'utf8'),
) as KafkaEvent;

describe('Lambda MSK event records', () => {
  it('reads the documented example: base64 value, byte-array headers', () => {
    const [record] = [...eachRecord(docsExample)];

    expect(record && recordValue(record).toString('utf8')).toBe('{"key":"value"}');
    expect(record && recordHeaders(record)).toEqual({ headerKey: 'headerValue' });
  });

  it('identifies a failed record by its records key and offset, as the Kafka event source mapping expects', () => {
    const [record] = [...eachRecord(docsExample)];

    expect(failures(record ? [record] : [])).toEqual({
      batchItemFailures: [{ itemIdentifier: { partition: 'mytopic-0', offset: 15 } }],
    });
  });

  it('keeps a dotted topic name whole in the identifier', () => {
    const record = {
      ...[...eachRecord(docsExample)][0],
      topic: 'iot.enriched',
      partition: 5,
      offset: 7,
    } as Parameters<typeof failures>[0][number];

    expect(failures([record]).batchItemFailures[0]?.itemIdentifier).toEqual({
      partition: 'iot.enriched-5',
      offset: 7,
    });
  });
});
