/**
 * The per-environment configuration of the CDK app: one zod schema, validated once in `bin/` from the
 * `iot-cloud:environments` context of cdk.json. Every construct receives the typed result, never the
 * raw context, so a bad value fails `cdk synth` with the field's path and the fix.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { TOPIC_PARTITIONS, TOPICS, type TopicName } from '../../functions/shared/stream.js';
import { DEFAULT_TIMESERIES_SINK, TIMESERIES_SINKS } from '../../functions/shared/timeseries-sink.js';

export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** Context keys read by `bin/` (and nowhere else). */
export const CONTEXT_KEYS = {
  environments: 'iot-cloud:environments',
  /** `-c env=dev|staging|prod|all` selects what to synthesize. */
  environment: 'env',
  /** `-c alarmEmail=ops@example.org` overrides the environment's alarm e-mail. */
  alarmEmail: 'alarmEmail',
  /** `-c cfnGuard=true` (npm run synth) also runs cfn-guard's Control Tower controls. */
  cfnGuard: 'cfnGuard',
} as const;

// CloudWatch Logs accepts only these retention periods; the enum's numeric values are the days.
const LOG_RETENTION_DAYS = Object.values(RetentionDays).filter(
  (value): value is number => typeof value === 'number' && value > 0,
);

const TOPIC_NAMES = Object.values(TOPICS) as [TopicName, ...TopicName[]];

/**
 * Regions whose S3 buckets CloudFront's standard logging (legacy), which the dashboard distribution
 * uses (its access-log bucket lives in the environment's region), does not deliver to. The CloudFront
 * developer guide lists them under "Choose an Amazon S3 bucket for standard logs"
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html#access-logs-choosing-s3-bucket);
 * they are the opt-in Regions, which only standard logging v2 can deliver to
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html: "Send
 * logs to opt-in AWS Regions"). Opt-in Regions opened after that list are refused for the same reason.
 */
export const CLOUDFRONT_LEGACY_LOG_UNSUPPORTED_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
];

const consumerSchema = z
  .object({
    /** Records per invocation (Kafka ESM: 1-10,000). */
    batchSize: z.number().int().min(1).max(10_000),
    maxBatchingWindowSeconds: z.number().int().min(0).max(300),
    /** Provisioned pollers: each handles up to 5 concurrent invocations or 5 MB/s. */
    minimumPollers: z.number().int().min(1).max(200),
    maximumPollers: z.number().int().min(1).max(2000),
  })
  .strict()
  .refine((c) => c.maximumPollers >= c.minimumPollers, {
    message: 'maximumPollers must be at least minimumPollers',
    path: ['maximumPollers'],
  });

export const environmentConfigSchema = z
  .object({
    /** Optional: pin the stacks to an account/region (otherwise environment-agnostic, the CLI's). */
    account: z
      .string()
      .regex(/^\d{12}$/, 'a 12-digit AWS account id')
      .optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1')
      .refine((region) => !CLOUDFRONT_LEGACY_LOG_UNSUPPORTED_REGIONS.includes(region), {
        message:
          "CloudFront cannot deliver the dashboard's standard logs to a bucket in this region (an opt-in region); choose another region",
      })
      .optional(),
    /** `destroy` deletes tables, buckets and the cluster with the stack; `retain` keeps them. */
    removalPolicy: z.enum(['destroy', 'retain']),
    logRetentionDays: z
      .number()
      .int()
      .refine((days) => LOG_RETENTION_DAYS.includes(days), {
        message: `one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
      }),
    alarmEmail: z.email().optional(),
    vpcCidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, 'an IPv4 CIDR from /16 to /24'),
    stream: z
      .object({
        /** retention.ms of every topic, in hours. */
        retentionHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 365),
        /** Overrides of the shared TOPIC_PARTITIONS (functions/shared/stream.ts), per topic. */
        partitions: z.partialRecord(z.enum(TOPIC_NAMES), z.number().int().min(1).max(120)).default({}),
      })
      .strict(),
    ingest: z
      .object({
        batchSize: z.number().int().min(1).max(10_000),
        maxBatchingWindowSeconds: z.number().int().min(0).max(300),
        /** Cap on concurrent bridge invocations (SQS ESM maximum concurrency, 2-1000). */
        maxConcurrency: z.number().int().min(2).max(1000),
        queueRetentionDays: z.number().int().min(1).max(14),
      })
      .strict()
      .refine((i) => i.batchSize <= 10 || i.maxBatchingWindowSeconds >= 1, {
        message: 'SQS batches over 10 messages need maxBatchingWindowSeconds of at least 1',
        path: ['maxBatchingWindowSeconds'],
      }),
    consumers: z
      .object({
        startingPosition: z.enum(['TRIM_HORIZON', 'LATEST']),
        /** Share one provisioned poller group (EPU capacity) between the two mappings. */
        pollerGroup: z.boolean(),
        enrich: consumerSchema,
        timeseriesWriter: consumerSchema,
      })
      .strict(),
    api: z
      .object({
        throttleRateLimit: z.number().int().min(1).max(10_000),
        throttleBurstLimit: z.number().int().min(1).max(5_000),
      })
      .strict(),
    timeseries: z
      .object({
        /**
         * Where time series are stored: `dynamodb` (default; every account, no idle cost) or
         * `timestream` (LiveAnalytics: only accounts that used it before 2025-06-20).
         */
        sink: z.enum(TIMESERIES_SINKS).default(DEFAULT_TIMESERIES_SINK),
        /** Required when the sink is `timestream`, refused otherwise. */
        timestream: z
          .object({
            memoryRetentionHours: z.number().int().min(1).max(8766),
            magneticRetentionDays: z.number().int().min(1).max(73_000),
            /**
             * The Timestream cell the account is mapped to: no default, since an endpoint can only be
             * made for the account's own cell. `npm run preflight` prints it (DescribeEndpoints returns
             * ingest-<cell>.timestream.<region>.amazonaws.com). The writer runs in the isolated VPC,
             * where only a cell-specific interface endpoint reaches Timestream.
             */
            ingestCell: z
              .string()
              .regex(/^cell\d{1,3}$/, 'a Timestream cell such as cell1 (npm run preflight prints yours)'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .superRefine((t, ctx) => {
        if (t.sink === 'timestream' && t.timestream === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['timestream'],
            message:
              'the timestream sink needs timestream.memoryRetentionHours, magneticRetentionDays and ingestCell (npm run preflight prints the cell)',
          });
        }
        if (t.sink !== 'timestream' && t.timestream !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['timestream'],
            message: `timestream settings apply only to the timestream sink; this environment's sink is ${t.sink}`,
          });
        }
      })
      .default({ sink: DEFAULT_TIMESERIES_SINK }),
    registryRefreshSeconds: z.number().int().min(1).max(3600),
  })
  .strict();

export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;

export interface EnvironmentConfig extends z.output<typeof environmentConfigSchema> {
  readonly name: EnvironmentName;
  /** The platform version (package.json), reported by /api/health. */
  readonly platformVersion: string;
}

/** Partitions per topic: the shared declaration, overridden by the environment where it says so. */
export function topicPartitions(config: EnvironmentConfig): Readonly<Record<TopicName, number>> {
  const result = { ...TOPIC_PARTITIONS };
  for (const topic of TOPIC_NAMES) {
    const override = config.stream.partitions[topic];
    if (override !== undefined) result[topic] = override;
  }
  return result;
}

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * Validates the raw `iot-cloud:environments` context and returns the selected environments. Errors
 * name the environment, the field and what is expected.
 */
export function parseEnvironments(
  rawEnvironments: unknown,
  selected: unknown,
  options: { readonly platformVersion: string; readonly alarmEmail?: unknown },
): EnvironmentConfig[] {
  if (typeof rawEnvironments !== 'object' || rawEnvironments === null) {
    throw new ConfigurationError(
      `cdk.json context "${CONTEXT_KEYS.environments}" is missing: it must map ${ENVIRONMENT_NAMES.join(', ')} to their settings`,
    );
  }
  const names: readonly EnvironmentName[] =
    selected === 'all' ? ENVIRONMENT_NAMES : [toEnvironmentName(selected)];
  return names.map((name) => {
    const raw = (rawEnvironments as Record<string, unknown>)[name];
    if (raw === undefined) {
      throw new ConfigurationError(`cdk.json context "${CONTEXT_KEYS.environments}" has no "${name}" entry`);
    }
    const withOverride =
      options.alarmEmail !== undefined && typeof raw === 'object'
        ? { ...(raw as object), alarmEmail: options.alarmEmail }
        : raw;
    const parsed = environmentConfigSchema.safeParse(withOverride);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `  ${name}.${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('\n');
      throw new ConfigurationError(
        `invalid configuration of environment "${name}" in cdk.json:\n${problems}`,
      );
    }
    return { ...parsed.data, name, platformVersion: options.platformVersion };
  });
}

function toEnvironmentName(value: unknown): EnvironmentName {
  if (typeof value === 'string' && (ENVIRONMENT_NAMES as readonly string[]).includes(value)) {
    return value as EnvironmentName;
  }
  throw new ConfigurationError(
    `choose an environment with -c env=${ENVIRONMENT_NAMES.join('|')} (or -c env=all to synthesize all three); got ${JSON.stringify(value)}`,
  );
}
