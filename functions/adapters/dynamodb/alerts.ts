/**
 * Alerts in DynamoDB, two item kinds under the device's partition:
 *
 *   alert  { deviceId, sk: '{raisedAt ISO}#{alertId}', alertId, raisedAt, severity, feed: 'all',
 *            body: JSON of the Alert, expiresAt }
 *   claim  { deviceId, sk: 'claim#{alertId}', alertSk, raisedAt, expiresAt }
 *
 * Idempotency on `alert_id` without transactions: a redelivered message raises the same `alert_id`
 * with a later `raised_at`, so the sort key alone cannot de-duplicate. The claim is written first with
 * `attribute_not_exists`; whoever finds it already there uses the sort key it records. The alert item
 * is then put with `attribute_not_exists` as well, so a crash between the two writes is repaired by
 * the redelivery, and a second delivery never adds a second alert.
 *
 * Claims sort after every alert (`c` > any digit) and carry neither `feed` nor `severity`, so they
 * stay out of both GSIs and out of `sk < 'claim#'` device queries. `byRaisedAt` puts every alert in
 * the constant partition `feed = 'all'`: fine for alert rates (a few hundred per second at most);
 * beyond that the feed would need sharding. TTL as for message samples: `expiresAt`, filtered on reads.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { type Alert, Alert as AlertSchema } from '../../core/contract/messages.js';
import type { AlertSeverity } from '../../core/contract/registry.js';
import { type AlertQuery, type AlertStore, ValidationError } from '../../ports/registry.js';
import { INDEX_NAMES, TTL_ATTRIBUTES } from '../../shared/tables.js';
import { checkDeviceId } from './devices.js';
import { checkLimit, forEachLimited, type Item, isConditionalCheckFailed, queryNewest } from './support.js';

export interface AlertStoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long alerts are kept. Default 30 days. */
  readonly retentionSeconds?: number;
  readonly now?: () => number;
}

export const MAX_ALERT_QUERY = 500;
export const ALERT_FEED = 'all';
const CLAIM_PREFIX = 'claim#';
const ALERT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$/;
const SEVERITIES: readonly AlertSeverity[] = ['critical', 'high', 'medium', 'low'];
const MAX_ITEMS_EXAMINED = 5_000;
const TTL = TTL_ATTRIBUTES.alerts;

const Claim = z.object({ alertSk: z.string(), raisedAt: z.string() });

export class DynamoAlertStore implements AlertStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly retentionSeconds: number;
  private readonly now: () => number;

  constructor(options: AlertStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = options.retentionSeconds ?? 30 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  async add(alerts: readonly Alert[]): Promise<void> {
    const valid = alerts.map((alert, i) => {
      const parsed = AlertSchema.safeParse(alert);
      if (!parsed.success) {
        throw new ValidationError(
          'invalid alert',
          parsed.error.issues.map((issue) => `${[i, ...issue.path.map(String)].join('.')}: ${issue.message}`),
        );
      }
      if (!ALERT_ID_PATTERN.test(parsed.data.alert_id)) {
        throw new ValidationError('invalid alert id', [`${i}.alert_id: 1-256 of A-Z a-z 0-9 _ . : -`]);
      }
      return parsed.data;
    });
    await forEachLimited(valid, 8, (alert) => this.addOne(alert));
  }

  async recent(query: AlertQuery): Promise<Alert[]> {
    checkLimit(query.limit, MAX_ALERT_QUERY);
    if (query.deviceId !== undefined) checkDeviceId(query.deviceId);
    if (query.severity !== undefined && !SEVERITIES.includes(query.severity)) {
      throw new ValidationError('invalid severity', [`severity: one of ${SEVERITIES.join(', ')}`]);
    }
    const { deviceId, severity } = query;
    const names: Record<string, string> = { '#expiresAt': TTL };
    const values: Record<string, unknown> = { ':now': Math.floor(this.now() / 1000) };
    let key: { IndexName?: string; KeyConditionExpression: string };
    let filter = '#expiresAt > :now';
    if (severity !== undefined) {
      names['#severity'] = 'severity';
      values[':severity'] = severity;
    }
    if (deviceId !== undefined) {
      // The device's partition, alerts only (claims sort after them), severity as a filter.
      key = { KeyConditionExpression: '#deviceId = :deviceId AND #sk < :claims' };
      Object.assign(names, { '#deviceId': 'deviceId', '#sk': 'sk' });
      Object.assign(values, { ':deviceId': deviceId, ':claims': CLAIM_PREFIX });
      if (severity !== undefined) filter += ' AND #severity = :severity';
    } else if (severity !== undefined) {
      key = { IndexName: INDEX_NAMES.alertsBySeverity, KeyConditionExpression: '#severity = :severity' };
    } else {
      key = { IndexName: INDEX_NAMES.alertsByRaisedAt, KeyConditionExpression: '#feed = :feed' };
      names['#feed'] = 'feed';
      values[':feed'] = ALERT_FEED;
    }

    return queryNewest(
      this.client,
      {
        TableName: this.tableName,
        ...key,
        FilterExpression: filter,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      query.limit,
      MAX_ITEMS_EXAMINED,
      toAlert,
    );
  }

  private async addOne(alert: Alert): Promise<void> {
    const deviceId = alert.device_id;
    const raisedAt = new Date(Date.parse(alert.raised_at)).toISOString();
    const expiresAt = Math.floor(this.now() / 1000) + this.retentionSeconds;
    const claimKey = { deviceId, sk: `${CLAIM_PREFIX}${alert.alert_id}` };
    let claim = { alertSk: `${raisedAt}#${alert.alert_id}`, raisedAt };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...claimKey, ...claim, [TTL]: expiresAt },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const found = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: claimKey, ConsistentRead: true }),
      );
      // Missing only if the claim expired and was swept in between: then this delivery's own key stands.
      if (found.Item) claim = Claim.parse(found.Item);
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            deviceId,
            sk: claim.alertSk,
            alertId: alert.alert_id,
            raisedAt: claim.raisedAt,
            severity: alert.severity,
            feed: ALERT_FEED,
            body: JSON.stringify({ ...alert, raised_at: claim.raisedAt }),
            [TTL]: expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // already stored: the redelivery is a no-op
    }
  }
}

function toAlert(item: Item): Alert {
  const body = typeof item.body === 'string' ? item.body : '';
  const parsed = AlertSchema.safeParse(JSON.parse(body || 'null'));
  if (!parsed.success) throw new Error(`stored alert "${String(item.sk)}" is malformed`);
  return parsed.data;
}
