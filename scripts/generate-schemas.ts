// Writes the JSON Schemas generated from the zod contract to registry-data/schemas/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  contractSchemaNames,
  generateJsonSchema,
  schemaFileName,
} from '../functions/core/contract/json-schemas.js';

const outputDir = join(import.meta.dirname, '..', 'registry-data', 'schemas');
mkdirSync(outputDir, { recursive: true });
for (const name of contractSchemaNames()) {
  const file = join(outputDir, schemaFileName(name));
  writeFileSync(file, `${JSON.stringify(generateJsonSchema(name), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
