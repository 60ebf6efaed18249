/**
 * The HTTP API handler; the implementation lives in ./api/ (routes, request parsing, schemas, the
 * OpenAPI document). This module keeps the import path the entry points and the local runtime use.
 */
export * from './api/index.js';
