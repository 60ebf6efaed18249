/** The local DynamoDB of `npm start`: dynalite, its tables and the seed registry. */
export { type DynaliteOptionsInput, type LocalDynamo, startDynalite } from './dynalite.js';
export { ensureTables, ensureTimeseriesTables } from './ensure-tables.js';
export { type SeedResult, type SeedStores, seedRegistry } from './seed.js';
export { localTableNames, localTimeseriesTableNames } from './table-names.js';
export { type DynamoWriteWorker, startDynamoWriteWorker } from './write-worker-host.js';
