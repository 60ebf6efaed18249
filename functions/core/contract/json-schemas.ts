/**
 * The JSON Schemas generated from the zod contract, one per kind, each versioned by its `$id`.
 * `npm run schemas` writes them to `registry-data/schemas/`; a test fails when the committed files
 * drift from what this module generates.
 */
import { z } from 'zod';
import { IngestMapping } from './ingest-mapping.js';
import { Alert, CONTRACT_VERSION, DlqRecord, EnrichedMessage, RawMessage } from './messages.js';
import { NotificationChannel } from './notification-channel.js';
import { AlertRuleSet, Application, DeviceType } from './registry.js';

export const SCHEMA_BASE_URI = 'https://schemas.iot-cloud.dev';

const CONTRACT_SCHEMAS = {
  'device-type': DeviceType,
  'alert-rules': AlertRuleSet,
  application: Application,
  'raw-message': RawMessage,
  'enriched-message': EnrichedMessage,
  'dlq-record': DlqRecord,
  alert: Alert,
  // Notification channels (issue 15): registry data, edited through /api/notification-channels.
  'notification-channel': NotificationChannel,
  // Issue 14.
  'ingest-mapping': IngestMapping,
} as const;

export type ContractSchemaName = keyof typeof CONTRACT_SCHEMAS;

export const schemaFileName = (name: ContractSchemaName): string =>
  `${name}.v${CONTRACT_VERSION}.schema.json`;

export function generateJsonSchema(name: ContractSchemaName): Record<string, unknown> {
  // io: 'input' describes what a producer may send (optional fields stay optional).
  const generated = z.toJSONSchema(CONTRACT_SCHEMAS[name], {
    target: 'draft-2020-12',
    io: 'input',
  }) as Record<string, unknown>;
  const { $schema, id: _id, ...rest } = generated;
  return { $schema, $id: `${SCHEMA_BASE_URI}/${schemaFileName(name)}`, ...rest };
}

export const contractSchemaNames = (): ContractSchemaName[] =>
  Object.keys(CONTRACT_SCHEMAS) as ContractSchemaName[];
