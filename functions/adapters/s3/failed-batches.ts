/**
 * FailedBatchStore over the S3 bucket the Kafka event source mappings write their on-failure records
 * to (issue 16): ListObjectsV2 under one prefix (Lambda's `aws/lambda/`, ON_FAILURE_RECORDS_PREFIX),
 * then GetObject of each document written since the time asked for, one at a time, so memory holds one
 * document (a batch: up to Lambda's 6 MB invocation payload) at once.
 *
 * IAM (infra/lib/constructs/data-ops.ts): s3:ListBucket on the bucket with `s3:prefix` limited to the
 * prefix, which every ListObjectsV2 here sends; s3:GetObject on `<bucket>/<prefix>*`.
 */
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { FailedBatchStore } from '../../ports/failed-batches.js';

export interface S3FailedBatchStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Only objects under this prefix are listed and read. */
  readonly prefix: string;
}

/**
 * Documents written up to this long before `since` are read too: LastModified is the end of the
 * upload, at S3's precision, by S3's clock. A document read needlessly costs a GET; the redrive's
 * filter on receipt time still decides what is sent.
 */
const WRITTEN_AT_SLACK_MS = 60_000;

export function s3FailedBatchStore(options: S3FailedBatchStoreOptions): FailedBatchStore {
  const { client, bucket, prefix } = options;
  return {
    async readSince(since, visit) {
      const pages = paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix });
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const writtenAt = object.LastModified?.getTime();
          if (object.Key === undefined || writtenAt === undefined) continue;
          if (writtenAt < since - WRITTEN_AT_SLACK_MS) continue;
          const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          const body = (await answer.Body?.transformToString('utf8')) ?? '';
          if ((await visit({ key: object.Key, writtenAt, body })) === false) return;
        }
      }
    },
  };
}
