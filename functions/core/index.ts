/**
 * The core's public surface: what handlers, the local runtime, the simulator and the benchmark use.
 * Plain functions over plain data; nothing here imports AWS.
 */
export {
  type AlertDecision,
  type ConditionState,
  decideAlerts,
  MAX_REMEMBERED_ONSETS,
  type RuleEvaluation,
  type StreamPosition,
} from './alert-state.js';
export { collectReadingHits, collectTrendHits, type RuleHit, ruleMatches, toAlerts } from './alerts.js';
export * from './contract/identifiers.js';
export * from './contract/messages.js';
export * from './contract/registry.js';
export { type DetectionFailure, type DeviceLookup, detectDeviceType, type KnownDevice } from './detect.js';
export { type DlqInput, type DlqSource, toDlqRecord } from './dlq.js';
export { deriveMessageId } from './enrich.js';
export {
  checkTimestamp,
  DEFAULT_TIMESTAMP_POLICY,
  type MessageContext,
  parseTopic,
  type TimestampPolicy,
  type TopicInfo,
} from './envelope.js';
export { RegistryError } from './errors.js';
export { decodeHex, HEX_BYTE_WIDTH } from './hex.js';
export { MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES, parsePayload, type Rejection } from './parse.js';
export {
  type ProcessContext,
  type ProcessOptions,
  type ProcessOutcome,
  processMessage,
} from './process-message.js';
export {
  type CompiledDeviceType,
  type CompiledRegistry,
  compileRegistry,
  type RegistryInput,
} from './registry.js';
export { parseIsoTimestamp, toIsoTime } from './time.js';
export {
  TIMESTREAM_LIMITS,
  type TimeSeriesPoint,
  type TimestreamRecord,
  toTimeSeriesPoints,
  toTimestreamRecords,
  toWriteBatches,
} from './timeseries.js';
