/**
 * Private S3 buckets with the project's defaults: all public access blocked, S3-managed encryption,
 * TLS-only access, versioning where the content is data, server access logs to a log bucket.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

export interface PrivateBucketOptions {
  readonly removalPolicy: RemovalPolicy;
  /** Receives this bucket's server access logs. */
  readonly accessLogs: s3.IBucket;
  readonly accessLogsPrefix: string;
  /** @default true */
  readonly versioned?: boolean;
  /** Objects expire after this many days. @default - never */
  readonly expireAfterDays?: number;
  /** Send the bucket's events to EventBridge (rules match on them; no polling). @default false */
  readonly eventBridgeEnabled?: boolean;
}

export function privateBucket(scope: Construct, id: string, options: PrivateBucketOptions): s3.Bucket {
  return new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: options.versioned ?? true,
    serverAccessLogsBucket: options.accessLogs,
    serverAccessLogsPrefix: options.accessLogsPrefix,
    lifecycleRules: [
      {
        ...(options.expireAfterDays ? { expiration: Duration.days(options.expireAfterDays) } : {}),
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
    removalPolicy: options.removalPolicy,
    autoDeleteObjects: options.removalPolicy === RemovalPolicy.DESTROY,
    eventBridgeEnabled: options.eventBridgeEnabled ?? false,
  });
}

/**
 * The bucket that receives access logs. CloudFront standard logging writes with ACLs, hence
 * BUCKET_OWNER_PREFERRED instead of the enforced ownership of the other buckets.
 */
export function accessLogsBucket(
  scope: Construct,
  id: string,
  options: { readonly removalPolicy: RemovalPolicy; readonly expireAfterDays: number },
): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(options.expireAfterDays) }],
    removalPolicy: options.removalPolicy,
    autoDeleteObjects: options.removalPolicy === RemovalPolicy.DESTROY,
  });
  acknowledge(bucket, [
    { id: 'AwsSolutions-S1', reason: 'This is the access-log bucket; logging it into itself would loop.' },
  ]);
  return bucket;
}
