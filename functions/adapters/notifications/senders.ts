/**
 * The channel senders: one attempt each. Webhook and Slack POST through the SSRF-guarded client
 * (./guarded-http.ts), which checks the URL and its resolved addresses again at every attempt; SNS
 * publishes to the stack's topic. A refused URL is a `PermanentDeliveryError` (retrying cannot fix
 * it); a 2xx is success; anything else (a 3xx included: redirects are not followed) is retried.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { slackMessage, snsMessage, webhookRequest } from '../../core/notifications.js';
import type { UrlPolicy } from '../../core/url-policy.js';
import {
  type ChannelSender,
  type ChannelSenders,
  PermanentDeliveryError,
} from '../../ports/notifications.js';
import { checkTarget, postTo, type Resolver, systemResolver, UrlRefusedError } from './guarded-http.js';

export interface SenderOptions {
  readonly policy: UrlPolicy;
  readonly attemptTimeoutMs: number;
  readonly resolve?: Resolver;
  /** The stack's topic (AWS); without one an `sns` channel fails permanently. */
  readonly sns?: { readonly client: SNSClient; readonly topicArn: string };
  readonly nowSeconds?: () => number;
}

async function postJson(
  url: string,
  request: { body: string; headers: Readonly<Record<string, string>> },
  options: SenderOptions,
): Promise<void> {
  let target: Awaited<ReturnType<typeof checkTarget>>;
  try {
    target = await checkTarget(url, options.policy, options.resolve ?? systemResolver);
  } catch (error) {
    if (error instanceof UrlRefusedError) throw new PermanentDeliveryError(`refused: ${error.message}`);
    throw error;
  }
  const result = await postTo(target, request, options.attemptTimeoutMs);
  if (result.status >= 200 && result.status < 300) return;
  const detail = result.bodyStart.replace(/\s+/g, ' ').trim();
  throw new Error(`HTTP ${result.status}${detail ? `: ${detail}` : ''}`);
}

export function createChannelSenders(options: SenderOptions): ChannelSenders {
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const webhook: ChannelSender = async (channel, event) => {
    if (channel.type !== 'webhook') throw new Error(`not a webhook channel: ${channel.type}`);
    const request = webhookRequest(event, {
      nowSeconds: nowSeconds(),
      ...(channel.secret === undefined ? {} : { secret: channel.secret }),
    });
    await postJson(channel.url, request, options);
  };
  const slack: ChannelSender = async (channel, event) => {
    if (channel.type !== 'slack') throw new Error(`not a slack channel: ${channel.type}`);
    const body = JSON.stringify(slackMessage(event));
    await postJson(channel.url, { body, headers: { 'content-type': 'application/json' } }, options);
  };
  const sns: ChannelSender = async (_channel, event) => {
    if (!options.sns) {
      throw new PermanentDeliveryError('sns channels need the stack topic (AWS only)');
    }
    const { subject, message } = snsMessage(event);
    await options.sns.client.send(
      new PublishCommand({
        TopicArn: options.sns.topicArn,
        Subject: subject,
        Message: message,
        // Subscribers can filter on these (SNS subscription filter policies).
        MessageAttributes: {
          severity: { DataType: 'String', StringValue: event.severity },
          device_type: { DataType: 'String', StringValue: event.device_type },
          transition: { DataType: 'String', StringValue: event.transition ?? 'raised' },
        },
      }),
    );
  };
  return { webhook, slack, sns };
}
