/**
 * The price table of `npm run cost`: AWS list prices in us-east-1 (US East, N. Virginia), on-demand,
 * without the free tier, looked up on 2026-12-06 in stored copies of public pages (the search tool of
 * the session that wrote this; no live page was read). Every entry names the AWS pricing page that is
 * the authority and the page where the figure was actually found. Where no stored page showed the
 * figure, `found` is false and the figure is the one AWS has long published, to be checked on the
 * AWS page: the cost output marks those lines with "?".
 */
export const PRICE_REGION = 'us-east-1';
export const PRICES_LOOKED_UP = '2026-12-06';

export interface Price {
  readonly usd: number;
  readonly unit: string;
  /** The AWS pricing page (the authority). */
  readonly source: string;
  /** Where the figure was found (a stored copy or a transcription), or why it was not. */
  readonly foundAt: string;
  readonly found: boolean;
}

const MSK = 'https://aws.amazon.com/msk/pricing/';
const MSK_FOUND =
  'https://gist.github.com/EverettBerry/d24aa940ad43c313803248cea6366682 (MSK Serverless price table, transcribed 2022-10-03)';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const TIMESTREAM = 'https://aws.amazon.com/timestream/pricing/';
const TIMESTREAM_FOUND =
  'https://awsnegotiations.com/blog/timestream-pricing-analysis/ (US East); https://web.archive.org/web/20200728133125/https://aws.amazon.com/timestream/pricing/';
const IOT = 'https://aws.amazon.com/iot-core/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const NOT_FOUND = 'not found in the stored pages searched on 2026-12-06: check the AWS page';

export const PRICES = {
  mskClusterHour: { usd: 0.75, unit: 'cluster-hour', source: MSK, foundAt: MSK_FOUND, found: true },
  mskPartitionHour: { usd: 0.0015, unit: 'partition-hour', source: MSK, foundAt: MSK_FOUND, found: true },
  mskStorageGbMonth: { usd: 0.1, unit: 'GiB-month stored', source: MSK, foundAt: MSK_FOUND, found: true },
  mskDataInGb: { usd: 0.1, unit: 'GiB in', source: MSK, foundAt: MSK_FOUND, found: true },
  mskDataOutGb: { usd: 0.05, unit: 'GiB out', source: MSK, foundAt: MSK_FOUND, found: true },

  lambdaRequestMillion: {
    usd: 0.2,
    unit: 'million requests',
    source: LAMBDA,
    foundAt: 'https://cloudchipr.com/blog/aws-lambda-pricing (US East, N. Virginia)',
    found: true,
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'GB-second (Arm, first 7.5 billion)',
    source: LAMBDA,
    foundAt: 'https://cloudchipr.com/blog/aws-lambda-pricing (US East, N. Virginia)',
    found: true,
  },
  /** Provisioned mode of the Kafka event source mappings: one EPU carries up to 10 event pollers. */
  lambdaEventPollerUnitHour: {
    usd: 0.185,
    unit: 'EPU-hour (10 Kafka pollers)',
    source: LAMBDA,
    foundAt: `${LAMBDA} (stored copy, "Pricing Example 3": "EPU-hours price is $0.185/hour and supports 10 event pollers per EPU", US East)`,
    found: true,
  },

  sqsRequestMillion: {
    usd: 0.4,
    unit: 'million requests (64 KB chunks)',
    source: 'https://aws.amazon.com/sqs/pricing/',
    foundAt: 'https://cloudburn.io/blog/amazon-sqs-pricing (US East, March 2026)',
    found: true,
  },

  iotMessageMillion: {
    usd: 1.0,
    unit: 'million messages (5 KB increments)',
    source: IOT,
    foundAt:
      'https://raw.githubusercontent.com/api-evangelist/amazon-iot-core/refs/heads/main/plans/amazon-iot-core-plans-pricing.yml (quotes the AWS page; its example is Europe, Ireland)',
    found: true,
  },
  iotConnectionMinuteMillion: {
    usd: 0.08,
    unit: 'million connection-minutes',
    source: IOT,
    foundAt:
      'https://raw.githubusercontent.com/api-evangelist/amazon-iot-core/refs/heads/main/plans/amazon-iot-core-plans-pricing.yml (Europe, Ireland example)',
    found: true,
  },
  iotRuleTriggeredMillion: {
    usd: 0.15,
    unit: 'million rules triggered',
    source: IOT,
    foundAt: NOT_FOUND,
    found: false,
  },
  iotActionMillion: {
    usd: 0.15,
    unit: 'million actions executed',
    source: IOT,
    foundAt: NOT_FOUND,
    found: false,
  },

  dynamodbWriteUnitMillion: {
    usd: 0.625,
    unit: 'million write request units',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    foundAt: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East)',
    found: true,
  },
  dynamodbReadUnitMillion: {
    usd: 0.125,
    unit: 'million read request units',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    foundAt: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East)',
    found: true,
  },
  dynamodbStorageGbMonth: {
    usd: 0.25,
    unit: 'GB-month stored (Standard)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    foundAt:
      'https://aws.amazon.com/dynamodb/pricing/ (stored copy: "prices start from $0.25 per GB-month" after the first 25 GB)',
    found: true,
  },
  /** Continuous backups, billed on the size of each table that has them on (every table here). */
  dynamodbPitrGbMonth: {
    usd: 0.2,
    unit: 'GB-month of table size with point-in-time recovery',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    foundAt:
      'https://finops.com.py/services/dynamodb/backups ("Charged based on table size: $0.20 per GB-month")',
    found: true,
  },

  timestreamWriteMillion: {
    usd: 0.5,
    unit: 'million 1 KB writes',
    source: TIMESTREAM,
    foundAt: TIMESTREAM_FOUND,
    found: true,
  },
  timestreamMemoryGbHour: {
    usd: 0.036,
    unit: 'GB-hour in the memory store',
    source: TIMESTREAM,
    foundAt: TIMESTREAM_FOUND,
    found: true,
  },
  timestreamMagneticGbMonth: {
    usd: 0.03,
    unit: 'GB-month in the magnetic store',
    source: TIMESTREAM,
    foundAt: TIMESTREAM_FOUND,
    found: true,
  },

  logsIngestGb: {
    usd: 0.5,
    unit: 'GB of logs ingested',
    source: CLOUDWATCH,
    foundAt: 'https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/',
    found: true,
  },
  logsStorageGbMonth: {
    usd: 0.03,
    unit: 'GB-month of logs stored',
    source: CLOUDWATCH,
    foundAt: NOT_FOUND,
    found: false,
  },
  alarmMonth: {
    usd: 0.1,
    unit: 'standard alarm-month',
    source: CLOUDWATCH,
    foundAt: 'https://c3x.dev/blog/aws-cloudwatch-metrics-cost/ ("alarms ($0.10 each)")',
    found: true,
  },
  /** Each metric name + dimension set, pro rata by the hours it is published (first 10,000). */
  customMetricMonth: {
    usd: 0.3,
    unit: 'custom metric-month (first 10,000)',
    source: CLOUDWATCH,
    foundAt: 'https://c3x.dev/blog/aws-cloudwatch-metrics-cost/ ("$0.30/metric/month (first 10k)")',
    found: true,
  },
  dashboardMonth: {
    usd: 3.0,
    unit: 'dashboard-month',
    source: CLOUDWATCH,
    foundAt: 'https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/',
    found: true,
  },

  interfaceEndpointAzHour: {
    usd: 0.01,
    unit: 'interface endpoint AZ-hour',
    source: 'https://aws.amazon.com/privatelink/pricing/',
    foundAt: 'https://awsnegotiations.com/privatelink-cost-analysis.html',
    found: true,
  },
  interfaceEndpointDataGb: {
    usd: 0.01,
    unit: 'GB processed (first PB)',
    source: 'https://aws.amazon.com/privatelink/pricing/',
    foundAt: 'https://968880.n0h2l.group/privatelink/pricing (a copy of the AWS page)',
    found: true,
  },

  /** EventBridge Scheduler: 14 million invocations a month are free, then this (US East). */
  schedulerInvocationMillion: {
    usd: 1.0,
    unit: 'million Scheduler invocations (14 M/month free tier not applied)',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    foundAt:
      'https://cloudburn.io/blog/amazon-eventbridge-pricing (US East, March 2026: "Scheduler, per million invocations, $1.00, 14M invocations/month")',
    found: true,
  },
  snsPublishMillion: {
    usd: 0.5,
    unit: 'million SNS publishes (standard topic)',
    source: 'https://aws.amazon.com/sns/pricing/',
    foundAt:
      'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/ ("Standard topic publish is $0.50/M")',
    found: true,
  },
  snsEmailMillion: {
    usd: 20.0,
    unit: 'million e-mail notifications ($2 per 100,000)',
    source: 'https://aws.amazon.com/sns/pricing/',
    foundAt:
      'https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/ ("email is $2/100K")',
    found: true,
  },

  kmsKeyMonth: {
    usd: 1.0,
    unit: 'customer managed key-month',
    source: 'https://aws.amazon.com/kms/pricing/',
    foundAt: NOT_FOUND,
    found: false,
  },
  xrayTraceMillion: {
    usd: 5.0,
    unit: 'million traces recorded',
    source: 'https://aws.amazon.com/xray/pricing/',
    foundAt: NOT_FOUND,
    found: false,
  },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;
export type PriceTable = Readonly<Record<PriceKey, Price>>;
