import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredNotificationChannel } from '../../core/contract/notification-channel.js';
import type { AlertEvent } from '../../core/notifications.js';
import { STRICT_URL_POLICY } from '../../core/url-policy.js';
import { PermanentDeliveryError } from '../../ports/notifications.js';
import { createChannelSenders } from './senders.js';

const sns = mockClient(SNSClient);
afterEach(() => sns.reset());

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:IotCloud-dev-Platform-NotificationsTopic';
const channel: StoredNotificationChannel = {
  channelId: 'mail',
  type: 'sns',
  minSeverity: 'high',
  updatedAt: '2026-12-06T03:00:00.000Z',
};
const clear: AlertEvent = {
  alert_id: 'a-1:cleared',
  device_id: 'breaker-7',
  device_type: 'smart_breaker',
  rule_id: 'overtemperature',
  severity: 'critical',
  raised_at: '2026-12-06T03:09:00.000Z',
  transition: 'cleared',
  cleared_by: 'operator',
  raised_alert_id: 'a-1',
};

describe('sns sender', () => {
  it("publishes the event to the stack's topic with filterable attributes", async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const senders = createChannelSenders({
      policy: STRICT_URL_POLICY,
      attemptTimeoutMs: 1000,
      sns: { client: new SNSClient({ region: 'eu-west-1' }), topicArn: TOPIC },
    });

    await senders.sns(channel, clear);

    const [call] = sns.commandCalls(PublishCommand);
    expect(call?.args[0].input).toMatchObject({
      TopicArn: TOPIC,
      Subject: '[critical] Cleared: overtemperature on breaker-7',
      MessageAttributes: {
        severity: { DataType: 'String', StringValue: 'critical' },
        transition: { DataType: 'String', StringValue: 'cleared' },
      },
    });
    expect(JSON.parse(call?.args[0].input.Message ?? '{}')).toEqual(clear);
  });

  it('fails for good where there is no topic (the local platform)', async () => {
    const senders = createChannelSenders({ policy: STRICT_URL_POLICY, attemptTimeoutMs: 1000 });

    await expect(senders.sns(channel, clear)).rejects.toBeInstanceOf(PermanentDeliveryError);
  });

  it('lets an SNS error through, so the notifier retries it', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
    const senders = createChannelSenders({
      policy: STRICT_URL_POLICY,
      attemptTimeoutMs: 1000,
      sns: { client: new SNSClient({ region: 'eu-west-1' }), topicArn: TOPIC },
    });

    await expect(senders.sns(channel, clear)).rejects.toThrow('Rate exceeded');
  });
});
