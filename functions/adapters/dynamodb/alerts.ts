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
 *
 * Lifecycle (issue 15, alert-contract.md): every transition is its own alert item (a clear's alert_id is
 * `${raised}:cleared`); acknowledgement and clearing are attributes of the raise's item, set by update:
 * `acknowledgedAt`, `acknowledgedBy`, `note`, `clearedAt`, `clearedBy` (condition | operator),
 * `clearedByUser`. Items also carry `ruleId` and `transition` for the API's filters. The API names an
 * alert by its id alone, so each alert has a pointer item in a partition no device id can take
 * (`#alert-ids`, sk = alert id) that records its device and sort key: one GetItem, no index to add
 * to the table. Pointers carry neither `feed` nor `severity`, so they stay out of both GSIs.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { toClearEvent } from '../../core/alert-state.js';
import { type Alert, Alert as AlertSchema } from '../../core/contract/messages.js';
import type { AlertSeverity } from '../../core/contract/registry.js';
import {
  type AlertLifecycle,
  type AlertQuery,
  type AlertRecord,
  type AlertStore,
  NotFoundError,
  type OperatorAction,
  ValidationError,
} from '../../ports/registry.js';
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
/** The partition of the alert-id pointers: `#` is outside the device id alphabet. */
export const ALERT_POINTER_PARTITION = '#alert-ids';
const Pointer = z.object({ alertDeviceId: z.string(), alertSk: z.string() });
const LIFECYCLE_STATES = ['active', 'acknowledged', 'cleared'] as const;
const RULE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

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

  async recent(query: AlertQuery): Promise<AlertRecord[]> {
    checkLimit(query.limit, MAX_ALERT_QUERY);
    if (query.deviceId !== undefined) checkDeviceId(query.deviceId);
    if (query.severity !== undefined && !SEVERITIES.includes(query.severity)) {
      throw new ValidationError('invalid severity', [`severity: one of ${SEVERITIES.join(', ')}`]);
    }
    if (query.state !== undefined && !LIFECYCLE_STATES.includes(query.state)) {
      throw new ValidationError('invalid state', [`state: one of ${LIFECYCLE_STATES.join(', ')}`]);
    }
    if (query.ruleId !== undefined && !RULE_ID_PATTERN.test(query.ruleId)) {
      throw new ValidationError('invalid rule id', ['ruleId: 1-64 of a-z 0-9 _ -']);
    }
    const { deviceId, severity } = query;
    const names: Record<string, string> = { '#expiresAt': TTL };
    const values: Record<string, unknown> = { ':now': Math.floor(this.now() / 1000) };
    let key: { IndexName?: string; KeyConditionExpression: string };
    let filter = '#expiresAt > :now';
    // Lifecycle filters (issue 15). Items stored before them have no `transition`: they are raises,
    // and `NOT (#transition = :cleared)` holds for a missing attribute.
    if (query.ruleId !== undefined) {
      filter += ' AND #ruleId = :ruleId';
      names['#ruleId'] = 'ruleId';
      values[':ruleId'] = query.ruleId;
    }
    if (query.state !== undefined) {
      filter += ' AND NOT (#transition = :clearedEvent)';
      Object.assign(names, { '#transition': 'transition', '#clearedAt': 'clearedAt' });
      if (query.state !== 'cleared') names['#ackAt'] = 'acknowledgedAt';
      values[':clearedEvent'] = 'cleared';
      filter +=
        query.state === 'active'
          ? ' AND attribute_not_exists(#ackAt) AND attribute_not_exists(#clearedAt)'
          : query.state === 'acknowledged'
            ? ' AND attribute_exists(#ackAt) AND attribute_not_exists(#clearedAt)'
            : ' AND attribute_exists(#clearedAt)';
    }
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
            ruleId: alert.rule_id,
            transition: alert.transition ?? 'raised',
            body: JSON.stringify({ ...alert, raised_at: claim.raisedAt }),
            [TTL]: expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // already stored: the redelivery is a no-op
    }
    // The pointer for lookups by id: same content on every delivery, so an unconditional put.
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          deviceId: ALERT_POINTER_PARTITION,
          sk: alert.alert_id,
          alertDeviceId: deviceId,
          alertSk: claim.alertSk,
          [TTL]: expiresAt,
        },
      }),
    );
    if (alert.transition === 'cleared' && alert.raised_alert_id !== undefined) {
      await this.markCleared(
        deviceId,
        alert.raised_alert_id,
        alert.raised_at,
        alert.cleared_by ?? 'condition',
      );
    }
  }

  /** Marks the raise `raisedAlertId` cleared, unless it already is (the first clear stands). */
  private async markCleared(
    deviceId: string,
    raisedAlertId: string,
    at: string,
    by: 'condition' | 'operator',
    user?: string,
  ): Promise<void> {
    const claim = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { deviceId, sk: `${CLAIM_PREFIX}${raisedAlertId}` },
        ConsistentRead: true,
      }),
    );
    if (!claim.Item) return; // the raise expired (or was never stored): nothing to mark
    const { alertSk } = Claim.parse(claim.Item);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId, sk: alertSk },
          UpdateExpression: `SET #clearedAt = :at, #clearedBy = :by${user === undefined ? '' : ', #user = :user'}`,
          ConditionExpression: 'attribute_exists(sk) AND attribute_not_exists(#clearedAt)',
          ExpressionAttributeNames: {
            '#clearedAt': 'clearedAt',
            '#clearedBy': 'clearedBy',
            ...(user === undefined ? {} : { '#user': 'clearedByUser' }),
          },
          ExpressionAttributeValues: {
            ':at': at,
            ':by': by,
            ...(user === undefined ? {} : { ':user': user }),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error; // already cleared, or the raise is gone
    }
  }

  /** The key of the alert item an id names, from its pointer; NotFoundError when unknown. */
  private async locate(alertId: string): Promise<{ deviceId: string; sk: string }> {
    if (!ALERT_ID_PATTERN.test(alertId)) {
      throw new ValidationError('invalid alert id', ['alertId: 1-256 of A-Z a-z 0-9 _ . : -']);
    }
    const found = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { deviceId: ALERT_POINTER_PARTITION, sk: alertId },
        ConsistentRead: true,
      }),
    );
    if (!found.Item) throw new NotFoundError('alert', alertId);
    const pointer = Pointer.parse(found.Item);
    return { deviceId: pointer.alertDeviceId, sk: pointer.alertSk };
  }

  async get(alertId: string): Promise<AlertRecord> {
    const key = await this.locate(alertId);
    const found = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (!found.Item) throw new NotFoundError('alert', alertId);
    return toAlert(found.Item);
  }

  async acknowledge(alertId: string, action: OperatorAction): Promise<AlertRecord> {
    const key = await this.locate(alertId);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET #ackAt = :at, #ackBy = :by${action.note === undefined ? '' : ', #note = :note'}`,
          ConditionExpression:
            'attribute_exists(sk) AND attribute_not_exists(#ackAt) AND NOT (#transition = :clearedEvent)',
          ExpressionAttributeNames: {
            '#ackAt': 'acknowledgedAt',
            '#ackBy': 'acknowledgedBy',
            '#transition': 'transition',
            ...(action.note === undefined ? {} : { '#note': 'note' }),
          },
          ExpressionAttributeValues: {
            ':at': new Date(action.at).toISOString(),
            ':by': action.by,
            ':clearedEvent': 'cleared',
            ...(action.note === undefined ? {} : { ':note': action.note }),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const record = await this.get(alertId);
    if (!record.lifecycle) {
      throw new ValidationError('only a raised alert can be acknowledged', [
        `alertId: ${alertId} is a clear`,
      ]);
    }
    return record; // already acknowledged: the first acknowledgement stands
  }

  async clear(alertId: string, action: OperatorAction): Promise<{ record: AlertRecord; event?: Alert }> {
    const record = await this.get(alertId);
    if (!record.lifecycle) {
      throw new ValidationError('only a raised alert can be cleared', [`alertId: ${alertId} is a clear`]);
    }
    if (record.lifecycle.state === 'cleared') return { record };
    const { lifecycle: _lifecycle, ...raise } = record;
    const at = new Date(action.at).toISOString();
    const event = toClearEvent({ ...raise, triggered_at: at, raised_at: at }, alertId, 'operator');
    // The event first (it marks the raise cleared by an operator), then who: a crash in between leaves
    // the event stored, and the retry finds the alert cleared.
    await this.add([event]);
    await this.markWho(raise.device_id, alertId, action.by);
    return { record: await this.get(alertId), event };
  }

  private async markWho(deviceId: string, alertId: string, user: string): Promise<void> {
    const key = await this.locate(alertId);
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId, sk: key.sk },
          UpdateExpression: 'SET #user = if_not_exists(#user, :user)',
          ConditionExpression: 'attribute_exists(sk) AND #clearedBy = :operator',
          ExpressionAttributeNames: { '#user': 'clearedByUser', '#clearedBy': 'clearedBy' },
          ExpressionAttributeValues: { ':user': user, ':operator': 'operator' },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionalCheckFailed(error)) throw error; // the condition cleared it first
      });
  }
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

function lifecycleOf(item: Item): AlertLifecycle {
  const acknowledgedAt = optionalString(item.acknowledgedAt);
  const clearedAt = optionalString(item.clearedAt);
  const clearedBy =
    item.clearedBy === 'operator' || item.clearedBy === 'condition' ? item.clearedBy : undefined;
  const fields = {
    acknowledged_at: acknowledgedAt,
    acknowledged_by: optionalString(item.acknowledgedBy),
    note: optionalString(item.note),
    cleared_at: clearedAt,
    cleared_by: clearedBy,
    cleared_by_user: optionalString(item.clearedByUser),
  };
  return {
    state: clearedAt !== undefined ? 'cleared' : acknowledgedAt !== undefined ? 'acknowledged' : 'active',
    ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
  };
}

function toAlert(item: Item): AlertRecord {
  const body = typeof item.body === 'string' ? item.body : '';
  const parsed = AlertSchema.safeParse(JSON.parse(body || 'null'));
  if (!parsed.success) throw new Error(`stored alert "${String(item.sk)}" is malformed`);
  // Raises carry their lifecycle; a clear event is a record of its own, without one.
  return parsed.data.transition === 'cleared'
    ? parsed.data
    : { ...parsed.data, lifecycle: lifecycleOf(item) };
}
