/**
 * Port of the data operations (issue 16) in AWS: where the Kafka event source mappings' on-failure
 * destination keeps the batches Lambda gave up on (an S3 bucket: functions/adapters/s3/failed-batches.ts).
 * The local runtime has no such destination and leaves it out.
 */

/** One on-failure document, as written by Lambda. */
export interface FailedBatchDocument {
  /** Where it is kept (the S3 object key). */
  readonly key: string;
  /** Epoch ms: when it was written, i.e. shortly after Lambda gave up on the batch. */
  readonly writtenAt: number;
  /** The document as written (JSON text: functions/handlers/on-failure.ts reads it). */
  readonly body: string;
}

export interface FailedBatchStore {
  /**
   * Visits, one at a time, the documents written at or after `since` (epoch ms): a batch fails after
   * its records were received, so nothing written earlier holds a record received since then. Stops
   * early when `visit` answers false.
   */
  readSince(
    since: number,
    visit: (document: FailedBatchDocument) => Promise<boolean | undefined> | boolean | undefined,
  ): Promise<void>;
}
