/**
 * Condition state of edge-triggered alerts (functions/core/alert-state.ts), in the alerts table under
 * the device's partition, one item per (device, rule):
 *
 *   state { deviceId, sk: 'state#{ruleId}', active, alertId?, onsets: [alert ids], through?: {stream,
 *           offset}, clears?: [{by, raised}], pendingSince?, sample?: {value, at}, newest?, version }
 *
 * `state#` sorts after `claim#` and every alert (`{ISO time}#...`), so device alert queries
 * (`sk < 'claim#'`) never see it, and it carries neither `feed` nor `severity`, so it stays out of both
 * GSIs. No `expiresAt`: a TTL sweep would forget an active condition and raise it again.
 *
 * Conditional writes only (dynalite has no transactions): each transition is a put conditional on the
 * version read at the start of the batch (`attribute_not_exists` for the first), so two consumers
 * that ever overlap on a device cannot both raise the same onset; the loser gets `AlertStateConflict`,
 * its batch is retried and decides again from the stored state.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { ConditionState } from '../../core/alert-state.js';
import { AlertStateConflict, type AlertStateStore } from '../../ports/registry.js';
import { checkDeviceId } from './devices.js';
import { forEachLimited, isConditionalCheckFailed } from './support.js';

export interface AlertStateStoreOptions {
  readonly client: DynamoDBDocumentClient;
  /** The alerts table. */
  readonly tableName: string;
}

export const STATE_PREFIX = 'state#';

const StoredState = z.object({
  sk: z.string().startsWith(STATE_PREFIX),
  active: z.boolean(),
  alertId: z.string().optional(),
  onsets: z.array(z.string()),
  through: z.object({ stream: z.string(), offset: z.number() }).optional(),
  // Issue 15: remembered clears, the start of a `forSeconds` wait, a rate rule's previous sample.
  clears: z.array(z.object({ by: z.string(), raised: z.string() })).optional(),
  pendingSince: z.number().optional(),
  sample: z.object({ value: z.number(), at: z.number() }).optional(),
  // The newest reading time a write was decided on: older readings are stale (core/alert-state.ts).
  newest: z.number().optional(),
  version: z.number().int().positive(),
});

export class DynamoAlertStateStore implements AlertStateStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: AlertStateStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async load(deviceIds: readonly string[]): Promise<Record<string, Record<string, ConditionState>>> {
    const loaded: Record<string, Record<string, ConditionState>> = {};
    await forEachLimited([...new Set(deviceIds)], 8, async (deviceId) => {
      checkDeviceId(deviceId);
      loaded[deviceId] = await this.loadDevice(deviceId);
    });
    return loaded;
  }

  async save(deviceId: string, states: Readonly<Record<string, ConditionState>>): Promise<void> {
    checkDeviceId(deviceId);
    await forEachLimited(Object.entries(states), 8, async ([ruleId, state]) => {
      const first = state.version === 1;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { deviceId, sk: `${STATE_PREFIX}${ruleId}`, ...state },
            ConditionExpression: first ? 'attribute_not_exists(sk)' : '#version = :previous',
            ...(first
              ? {}
              : {
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':previous': state.version - 1 },
                }),
          }),
        );
      } catch (error) {
        if (isConditionalCheckFailed(error)) throw new AlertStateConflict(deviceId, ruleId);
        throw error;
      }
    });
  }

  private async loadDevice(deviceId: string): Promise<Record<string, ConditionState>> {
    const states: Record<string, ConditionState> = {};
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#deviceId = :deviceId AND begins_with(#sk, :state)',
          ExpressionAttributeNames: { '#deviceId': 'deviceId', '#sk': 'sk' },
          ExpressionAttributeValues: { ':deviceId': deviceId, ':state': STATE_PREFIX },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const { sk, ...state } = StoredState.parse(item);
        states[sk.slice(STATE_PREFIX.length)] = state;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return states;
  }
}
