/** The local DynamoDB of `npm start`: dynalite, its tables and the seed registry. */
export { type DynaliteOptionsInput, type LocalDynamo, startDynalite } from './dynalite.js';
export { ensureTables } from './ensure-tables.js';
export { type SeedResult, type SeedStores, seedRegistry } from './seed.js';
export { localTableNames } from './table-names.js';
export { type DynamoWriteWorker, startDynamoWriteWorker } from './write-worker-host.js';
