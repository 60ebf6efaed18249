/** For the Lambda entry tests: the environment the CDK stack sets, fixtures, and in-memory fakes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import type { KafkaEvent, KafkaEventRecord, StreamProducer, StreamRecord } from '../ports/stream.js';
import { TABLE_NAME_ENV, TIMESERIES_TABLE_NAME_ENV } from '../shared/tables.js';
import { ENV } from './environment.js';
import { createObservability, type Observability } from './observability.js';

/** Every variable any entry reads, with plausible values. */
export const LAMBDA_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'eu-west-1',
  [ENV.kafkaBootstrapBrokers]: 'boot-abc123.c2.kafka-serverless.eu-west-1.amazonaws.com:9098',
  // The Timestream sink here: its variables are the superset. Tests of the DynamoDB sink override it.
  [ENV.timeseriesSink]: 'timestream',
  [ENV.timestreamDatabase]: 'iot-cloud-dev',
  [ENV.timestreamTable]: 'telemetry',
  [ENV.platformVersion]: '0.1.0-test',
  [ENV.registryRefreshSeconds]: '60',
  // Notifications (issue 15).
  [ENV.notificationTopicArn]: 'arn:aws:sns:eu-west-1:123456789012:test-notifications',
  // Data operations (issue 16).
  [ENV.dataOpsFunctionName]: 'test-data-ops',
  [ENV.failedRecordsBucket]: 'test-failed-records',
  ...Object.fromEntries(Object.entries(TABLE_NAME_ENV).map(([key, name]) => [name, `test-${key}`])),
  ...Object.fromEntries(
    Object.entries(TIMESERIES_TABLE_NAME_ENV).map(([key, name]) => [name, `test-${key}`]),
  ),
  // Tests read no logs: keep the output readable.
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_DEV: 'false',
};

export const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'handlers', 'fixtures', name), 'utf8')) as T;

export const sqsIngestEvent = () => fixture<SQSEvent>('sqs-ingest-event.json');
export const mskRawEvent = () => fixture<KafkaEvent>('msk-raw-event.json');

export const silentObservability = (): Observability => {
  const observability = createObservability('test', { POWERTOOLS_SERVICE_NAME: 'test' });
  observability.logger.setLogLevel('SILENT');
  return observability;
};

/** A producer that keeps what it is sent; `failTopics` make it throw for those topics. */
export class MemoryProducer implements StreamProducer {
  readonly sent = new Map<string, StreamRecord[]>();
  constructor(private readonly failTopics: readonly string[] = []) {}
  async send(topic: string, records: readonly StreamRecord[]): Promise<void> {
    if (this.failTopics.includes(topic)) throw new Error(`broker unavailable for ${topic}`);
    this.sent.set(topic, [...(this.sent.get(topic) ?? []), ...records]);
  }
  values(topic: string): string[] {
    return (this.sent.get(topic) ?? []).map((r) => Buffer.from(r.value).toString('utf8'));
  }
}

/** An MSK event in the shape of the fixture, with these values on one topic-partition. */
export function mskEvent(
  topic: string,
  partition: number,
  values: readonly (string | Buffer)[],
  firstOffset = 0,
): KafkaEvent {
  const template = mskRawEvent();
  const records: KafkaEventRecord[] = values.map((value, i) => ({
    topic,
    partition,
    offset: firstOffset + i,
    timestamp: 1795435201000 + i,
    timestampType: 'CREATE_TIME',
    key: Buffer.from('env-00001').toString('base64'),
    value: Buffer.from(value).toString('base64'),
    headers: [],
  }));
  return { ...template, records: { [`${topic}-${partition}`]: records } };
}
