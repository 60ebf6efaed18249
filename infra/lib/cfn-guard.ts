/**
 * cfn-guard (AWS Control Tower proactive controls, via @cdklabs/cdk-validator-cfnguard) over the
 * synthesized templates. The controls below fail on this design on purpose; each entry says why.
 * Anything else cfn-guard finds fails the test in infra/test/cfn-guard.test.ts.
 */
export interface AcceptedControl {
  /** The control's rule file (what CfnGuardValidator's `disabledRules` takes). */
  readonly file: string;
  readonly reason: string;
}

export const ACCEPTED_GUARD_FINDINGS: Readonly<Record<string, AcceptedControl>> = {
  cloudwatch_log_group_retention_period_check: {
    file: 'ct-cloudwatch-pr-2',
    reason:
      "Retention is per environment (cdk.json logRetentionDays: dev 7, staging 30, prod 90 days), not the control's 365.",
  },
  cloudwatch_log_group_encrypted_check: {
    file: 'ct-cloudwatch-pr-3',
    reason:
      "Log groups use CloudWatch Logs' default encryption; a KMS key per log group adds cost and key policy work for no stated requirement.",
  },
  lambda_inside_vpc_check: {
    file: 'ct-lambda-pr-3',
    reason:
      'Only functions that reach the MSK cluster run in the VPC (the API, seed, notifier and CDK provider functions stay out, as the design asks; the notifier must reach the internet); the control also flags the VPC functions, whose subnet IDs are imported from the stateful stack.',
  },
  s3_bucket_default_encryption_kms_check: {
    file: 'ct-s3-pr-10',
    reason: 'Buckets use SSE-S3 (AES-256); no requirement for SSE-KMS and its request cost.',
  },
  s3_bucket_versioning_enabled_check: {
    file: 'ct-s3-pr-11',
    reason:
      'The access-log bucket and the site bucket (rebuilt from the repository on every deploy) are not versioned; data buckets are.',
  },
  s3_bucket_logging_enabled_check: {
    file: 'ct-s3-pr-2',
    reason: 'The access-log bucket is the log destination; logging it into itself would loop.',
  },
  s3_event_notifications_enabled_check: {
    file: 'ct-s3-pr-4',
    reason: 'No consumer of bucket events exists; the alarms watch the queues and metrics instead.',
  },
  s3_bucket_acl_prohibited_check: {
    file: 'ct-s3-pr-5',
    reason:
      'CloudFront standard logging writes with ACLs, so the access-log bucket needs BUCKET_OWNER_PREFERRED ownership.',
  },
  s3_bucket_object_lock_enabled_check: {
    file: 'ct-s3-pr-9',
    reason: 'Object Lock (WORM retention) is not a requirement of this platform.',
  },
  api_gw_v2_authorization_type_configured_check: {
    file: 'ct-apigateway-pr-5',
    reason:
      'Reads are public by design (API.md); every write route has the Cognito JWT authorizer (asserted by a test).',
  },
  cloudfront_origin_failover_enabled_check: {
    file: 'ct-cloudfront-pr-4',
    reason: 'One S3 origin and one API origin; no second region to fail over to.',
  },
  cloudfront_custom_ssl_certificate_check: {
    file: 'ct-cloudfront-pr-6',
    reason:
      'The default *.cloudfront.net certificate is used until an adopter adds a domain and an ACM certificate.',
  },
  cloudfront_sni_enabled_check: {
    file: 'ct-cloudfront-pr-7',
    reason: 'SNI applies to custom certificates only; none by default.',
  },
  cloudfront_security_policy_check: {
    file: 'ct-cloudfront-pr-9',
    reason:
      'The default certificate fixes the viewer TLS policy; a custom certificate lifts it to TLSv1.2_2021.',
  },
  kms_create_grant_aws_service_check: {
    file: 'ct-kms-pr-3',
    reason:
      "The key policy is aws-cdk-lib's default (account root) plus service grants; the key encrypts SQS and SNS only.",
  },
  lambda_function_public_access_prohibited_check: {
    file: 'ct-lambda-pr-2',
    reason:
      "API Gateway's invoke permissions are scoped by SourceArn to this API (an Fn::Join the control cannot evaluate).",
  },
  sqs_dlq_check: {
    file: 'ct-sqs-pr-1',
    reason:
      "The flagged queues are the dead-letter destinations themselves (buffer DLQ, IoT rule error queue, the notifier's on-failure queue).",
  },
};

/** The rule files to disable in CfnGuardValidator (everything else stays on). */
export const ACCEPTED_GUARD_RULE_FILES: readonly string[] = Object.values(ACCEPTED_GUARD_FINDINGS).map(
  (control) => control.file,
);
