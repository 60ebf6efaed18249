/**
 * The S3 on-failure store with the SDK client mocked (aws-sdk-client-mock): what it asks S3 for and
 * what it skips. The same adapter runs against moto's S3 in integration/aws-on-failure-redrive.
 */
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FailedBatchDocument } from '../../ports/failed-batches.js';
import { s3FailedBatchStore } from './failed-batches.js';

const s3 = mockClient(S3Client);
const SINCE = Date.parse('2026-12-01T10:00:00.000Z');

const bodyOf = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

beforeEach(() => {
  s3.reset();
  s3.on(GetObjectCommand).callsFake(async (input) => ({ Body: bodyOf(`body of ${input.Key}`) }));
});

const store = () =>
  s3FailedBatchStore({
    client: new S3Client({ region: 'eu-west-1' }),
    bucket: 'failed',
    prefix: 'aws/lambda/',
  });

describe('s3FailedBatchStore', () => {
  it('lists under the prefix, page after page, and reads the objects written since the time asked', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          { Key: 'aws/lambda/u/iot.raw-0/a', LastModified: new Date(SINCE + 1_000) },
          // Written a day before: it cannot hold a record received since.
          { Key: 'aws/lambda/u/iot.raw-0/old', LastModified: new Date(SINCE - 86_400_000) },
        ],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({ Contents: [{ Key: 'aws/lambda/u/iot.raw-1/b', LastModified: new Date(SINCE) }] });
    const visited: FailedBatchDocument[] = [];

    await store().readSince(SINCE, (document) => {
      visited.push(document);
      return true;
    });

    expect(visited).toEqual([
      { key: 'aws/lambda/u/iot.raw-0/a', writtenAt: SINCE + 1_000, body: 'body of aws/lambda/u/iot.raw-0/a' },
      { key: 'aws/lambda/u/iot.raw-1/b', writtenAt: SINCE, body: 'body of aws/lambda/u/iot.raw-1/b' },
    ]);
    // Every listing names the prefix (the role may list nothing else); the second one continues the first.
    const listings = s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input);
    expect(listings).toHaveLength(2);
    for (const listing of listings)
      expect(listing).toMatchObject({ Bucket: 'failed', Prefix: 'aws/lambda/' });
    expect(listings[1]?.ContinuationToken).toBe('page-2');
  });

  it('stops reading when the visitor answers false', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'aws/lambda/u/p/1', LastModified: new Date(SINCE) },
        { Key: 'aws/lambda/u/p/2', LastModified: new Date(SINCE) },
      ],
    });

    await store().readSince(SINCE, () => false);

    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });
});
