/**
 * For tests of the redrive from on-failure records: a document in the shape Lambda writes to an S3
 * on-failure destination for a Kafka mapping (as fixtures/msk-on-failure-s3-record.json, checked
 * against https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html), built from records.
 */
import type { RetainedRecord } from '../ports/data-ops.js';

export interface OnFailureDocumentOptions {
  /** Leave `payload` out: the document then knows the batch's offsets only. */
  readonly withoutPayload?: boolean;
  readonly failedAt?: number;
}

export function onFailureDocument(
  records: readonly RetainedRecord[],
  options: OnFailureDocumentOptions = {},
): string {
  const byPartition = new Map<string, RetainedRecord[]>();
  for (const record of records) {
    const key = `${record.topic}-${record.partition}`;
    byPartition.set(key, [...(byPartition.get(key) ?? []), record]);
  }
  const iso = (time: number) => new Date(time).toISOString();
  const recordsInfo = Object.fromEntries(
    [...byPartition].map(([key, partition]) => {
      const first = partition[0] as RetainedRecord;
      const last = partition.at(-1) as RetainedRecord;
      return [
        key,
        {
          firstRecordOffset: String(first.offset),
          lastRecordOffset: String(last.offset),
          firstRecordTimestamp: iso(first.timestamp),
          lastRecordTimestamp: iso(last.timestamp),
        },
      ];
    }),
  );
  const event = {
    eventSource: 'aws:kafka',
    records: Object.fromEntries(
      [...byPartition].map(([key, partition]) => [
        key,
        partition.map((record) => ({
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          timestamp: record.timestamp,
          timestampType: 'CREATE_TIME',
          ...(record.key === undefined ? {} : { key: Buffer.from(record.key).toString('base64') }),
          value: Buffer.from(record.value).toString('base64'),
          headers: Object.entries(record.headers).map(([name, value]) => ({
            [name]: [...Buffer.from(value)],
          })),
        })),
      ]),
    ),
  };
  return JSON.stringify({
    requestContext: {
      requestId: '316aa6d0-8154-4c1e-9af7-85d5f4a6bc81',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:iot-cloud-dev-enrich',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 4,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: iso(options.failedAt ?? (records.at(-1)?.timestamp ?? 0) + 5_000),
    KafkaBatchInfo: { batchSize: records.length, recordsInfo },
    ...(options.withoutPayload ? {} : { payload: JSON.stringify(event) }),
  });
}
