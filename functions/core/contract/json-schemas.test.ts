import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractSchemaNames, generateJsonSchema, schemaFileName } from './json-schemas.js';

const schemaDir = join(import.meta.dirname, '..', '..', '..', 'registry-data', 'schemas');

describe('committed JSON Schemas', () => {
  it.each(contractSchemaNames())(
    '%s matches what the zod contract generates (run npm run schemas)',
    (name) => {
      const committed = JSON.parse(readFileSync(join(schemaDir, schemaFileName(name)), 'utf8'));

      expect(committed).toEqual(generateJsonSchema(name));
    },
  );

  it('versions every schema in its $id', () => {
    for (const name of contractSchemaNames()) {
      expect(generateJsonSchema(name).$id).toMatch(/\.v1\.schema\.json$/);
    }
  });

  it('keeps private application fields out of the enriched message contract', () => {
    const enriched = JSON.stringify(generateJsonSchema('enriched-message'));

    expect(enriched).not.toMatch(/contact_?email|api_?key/i);
  });
});
