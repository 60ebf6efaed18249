/**
 * DynamoDB adapters of the registry ports. The composition root creates the `DynamoDBDocumentClient`
 * (see `documentClient`) and passes the table names from its configuration.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export { type AlertStateStoreOptions, DynamoAlertStateStore } from './alert-state.js';
export { type AlertStoreOptions, DynamoAlertStore } from './alerts.js';
export { type ApplicationStoreOptions, DynamoApplicationStore, normaliseName } from './applications.js';
export { type DeviceTypeStoreOptions, DynamoDeviceTypeStore } from './device-types.js';
export { type DeviceStoreOptions, DynamoDeviceStore } from './devices.js';
export { DynamoIngestMappingStore, type IngestMappingStoreOptions } from './ingest-mappings.js';
export { DynamoMessageSampleStore, type MessageSampleStoreOptions } from './message-samples.js';
export { DynamoRegistryStore, type RegistryStoreOptions } from './registry-store.js';
export { decodeCursor, encodeCursor } from './support.js';

/**
 * The document client the adapters expect: plain JS numbers, `undefined` members dropped. For the
 * composition roots; the adapters never create a client themselves.
 */
export const documentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
