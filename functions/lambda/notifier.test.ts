/**
 * The notifier Lambda over a real DynamoDB stream event shape (fixture), the channel store on
 * dynalite and SNS mocked: an INSERT of an alert item is published to the stack's topic, a MODIFY is
 * not, and a webhook that AWS's policy refuses (plain http to a loopback address) is recorded failed.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoNotificationChannelStore } from '../adapters/dynamodb/notification-channels.js';
import { startTestDynamo, type TestDynamo } from '../adapters/dynamodb/test-support.js';
import { fixture, LAMBDA_ENV, silentObservability } from './test-support.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:test-notifications';
const sns = mockClient(SNSClient);
let dynamo: TestDynamo;
// The entry reads its configuration at import (cold start): import it with the stack's variables set.
let createNotifierLambda: typeof import('./notifier.js').createNotifierLambda;

beforeAll(async () => {
  for (const [name, value] of Object.entries(LAMBDA_ENV)) vi.stubEnv(name, value);
  ({ createNotifierLambda } = await import('./notifier.js'));
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  sns.restore();
  await dynamo.close();
});

describe('notifier Lambda', () => {
  it('publishes alert INSERTs to the topic and records deliveries; refused URLs fail without a request', async () => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const tableName = (await dynamo.freshTables()).notifications;
    const store = new DynamoNotificationChannelStore({ client: dynamo.client, tableName });
    await store.put('mail', { type: 'sns', minSeverity: 'high' });
    await store.put('lan-hook', { type: 'webhook', url: 'http://127.0.0.1:9/hook', minSeverity: 'low' });
    const handler = createNotifierLambda({
      dynamo: dynamo.client,
      tableName,
      sns: { client: new SNSClient({ region: 'eu-west-1' }), topicArn: TOPIC },
      observability: silentObservability(),
    });

    const outcome = await handler(fixture<DynamoDBStreamEvent>('ddb-alerts-stream-event.json'));

    expect(outcome).toEqual({ delivered: 1, failed: 1 });
    const published = sns
      .commandCalls(PublishCommand)
      .map((call) => JSON.parse(call.args[0].input.Message ?? '{}'));
    expect(published).toMatchObject([{ alert_id: 'breaker-7:overtemperature:m-1', severity: 'critical' }]);
    expect(await store.deliveries('lan-hook', 10)).toMatchObject([
      { status: 'failed', attempts: 1, lastError: 'refused: must be https' },
    ]);
  });
});
