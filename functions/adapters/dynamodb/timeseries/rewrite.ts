/**
 * A replay's rewrite on the DynamoDB sink (issue 16, `TimeseriesSink.rewrite`): the stored points of
 * each replayed message (device, kind, time) become exactly the points of its new enrichment.
 *
 * 1. Read: the points items of the messages' times (BatchGetItem, consistent) and each device's latest
 *    items (one Query per device). A points item is shared by every kind stamped at that millisecond
 *    (telemetry and trends often are), and it does not say which kind wrote which measure; the latest
 *    items do (one per kind, and every stored measure reaches its kind's item), so a measure is removed
 *    only when a rewritten kind holds it and no other kind does. A name two kinds share is left alone
 *    unless the new points set it (the item cannot tell whose it is).
 * 2. Points: per item, one UpdateItem (or one per MEASURES_PER_UPDATE operations) that SETs each new
 *    or changed value (overwriting, where `write` keeps the first), REMOVEs the dropped measures and
 *    ADDs the new SUSPECT verdicts; a second one DELETEs the verdicts no longer SUSPECT (ADD and DELETE of
 *    one set cannot share an expression). UpdateItem, not BatchWriteItem: a PutRequest replaces the whole
 *    item, so it would erase another kind's readings written between the read and the Put, and it takes
 *    no condition. An item already as the new points say is not written at all, so a second identical
 *    rewrite writes no point. An item left without readings stays as a shell (key and TTL) until its
 *    TTL: readers skip items without the measure, and no condition can say "no other attribute".
 * 3. Rollups: the hourly aggregates are recomputed from the points (rollup.ts), never incremented, so a
 *    rewrite cannot double-count: it bumps `gen` of every closed hour it touched, as `write` does,
 *    which makes readers take those hours from the points until the job recomputes them. On every
 *    rewrite, not only on changes: a retry whose first attempt changed the points but died before this
 *    step must still invalidate.
 * 4. Latest: a value whose time was rewritten is replaced by the new point (same time, condition
 *    `m[1] <= t`), or, when the new definition drops it, by the newest point still stored before it
 *    (a bounded backwards Query), or removed when there is none; each conditional on the entry being the
 *    one read, so a newer live value always wins.
 */
import { type DynamoDBDocumentClient, QueryCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DEVICE_ID_PATTERN } from '../../../core/contract/identifiers.js';
import type { EnrichedMessage } from '../../../core/contract/messages.js';
import type { TimeSeriesPoint } from '../../../core/timeseries.js';
import type { MessagePointKey } from '../../../ports/timeseries.js';
import { batchGet, forEachLimited, type Item, isConditionalCheckFailed } from '../support.js';
import {
  EXPIRES_AT,
  expiresAtSeconds,
  hourStart,
  isExpired,
  isMeasureAttribute,
  measureAttribute,
  measureOf,
  PK,
  SK,
  SUSPECT,
  type TimeseriesTableNamesOf,
  timeKey,
  timeOfKey,
} from './layout.js';
import {
  checkPoint,
  chunks,
  isKeyTime,
  type LatestEntry,
  latestEntry,
  MEASURES_PER_UPDATE,
  retentionLookup,
  WRITE_CONCURRENCY,
} from './writes.js';

/** Pages (1 MB each) read backwards for the value that replaces a dropped latest value. */
const LATEST_LOOKBACK_PAGES = 10;

const KINDS: ReadonlySet<string> = new Set(['telemetry', 'trends', 'status', 'event']);

/** What the rewrite needs of the sink (sink.ts): its client, tables, clock and write path. */
export interface RewriteTarget {
  readonly client: DynamoDBDocumentClient;
  readonly tables: TimeseriesTableNamesOf;
  readonly now: () => number;
  update(input: UpdateCommandInput): Promise<void>;
  invalidation(deviceId: string, hour: number, retentionDays: number): UpdateCommandInput;
  readonly onUnstorableTime?: (points: readonly TimeSeriesPoint[]) => void;
}

/** One points item (device, time) of the rewrite: the kinds rewritten there and their new points. */
interface ItemPlan {
  readonly deviceId: string;
  readonly time: number;
  readonly kinds: Set<string>;
  /** Each measure once (the first point of it, as `write` keeps). */
  readonly points: Map<string, TimeSeriesPoint>;
}

/** The latest items of a device, by kind. */
type LatestItems = ReadonlyMap<string, Item>;

const itemKeyOf = (deviceId: string, time: number) => `${deviceId}\u0000${time}`;

function checkKey(key: MessagePointKey, index: number): void {
  if (!DEVICE_ID_PATTERN.test(key.deviceId))
    throw new RangeError(`messages[${index}].deviceId is not a valid device id`);
  if (!KINDS.has(key.kind)) throw new RangeError(`messages[${index}].kind is not a message kind`);
  if (!Number.isSafeInteger(key.time))
    throw new RangeError(`messages[${index}].time is not an integer epoch-milliseconds time`);
}

export async function rewriteMessagePoints(
  target: RewriteTarget,
  points: readonly TimeSeriesPoint[],
  keys: readonly MessagePointKey[],
  messages: readonly EnrichedMessage[],
): Promise<void> {
  points.forEach(checkPoint);
  keys.forEach(checkKey);
  const plans = planItems(target, points, keys);
  if (plans.size === 0) return;
  const retentionOf = retentionLookup(messages);
  const devices = new Set([...plans.values()].map((plan) => plan.deviceId));
  const latest = new Map<string, LatestItems>();
  await forEachLimited([...devices], WRITE_CONCURRENCY, async (deviceId) => {
    latest.set(deviceId, await readLatest(target, deviceId));
  });
  const stored = new Map<string, Item>();
  const read = await batchGet(
    target.client,
    target.tables.points,
    [...plans.values()].map((plan) => ({ [PK]: plan.deviceId, [SK]: timeKey(plan.time) })),
  );
  for (const item of read) stored.set(itemKeyOf(String(item[PK]), timeOfKey(String(item[SK]))), item);

  const updates = [...plans].flatMap(([key, plan]) =>
    itemUpdates(
      target,
      plan,
      stored.get(key),
      latest.get(plan.deviceId) ?? new Map(),
      retentionOf(plan.deviceId),
    ),
  );
  await forEachLimited(updates, WRITE_CONCURRENCY, (input) => target.update(input));

  const closedBefore = hourStart(target.now());
  const hours = new Map<string, { deviceId: string; hour: number }>();
  for (const { deviceId, time } of plans.values()) {
    const hour = hourStart(time);
    if (hour < closedBefore) hours.set(itemKeyOf(deviceId, hour), { deviceId, hour });
  }
  await Promise.all([
    forEachLimited([...hours.values()], WRITE_CONCURRENCY, ({ deviceId, hour }) =>
      target.update(target.invalidation(deviceId, hour, retentionOf(deviceId))),
    ),
    rewriteLatest(target, plans, latest),
  ]);
}

/** The items the keys and points address; points whose time fits no sort key are reported, not stored. */
function planItems(
  target: RewriteTarget,
  points: readonly TimeSeriesPoint[],
  keys: readonly MessagePointKey[],
): Map<string, ItemPlan> {
  const plans = new Map<string, ItemPlan>();
  const planOf = (deviceId: string, time: number, kind: string) => {
    const key = itemKeyOf(deviceId, time);
    let plan = plans.get(key);
    if (!plan) {
      plan = { deviceId, time, kinds: new Set(), points: new Map() };
      plans.set(key, plan);
    }
    plan.kinds.add(kind);
    return plan;
  };
  for (const key of keys) if (isKeyTime(key.time)) planOf(key.deviceId, key.time, key.kind);
  const unstorable: TimeSeriesPoint[] = [];
  for (const point of points) {
    if (!isKeyTime(point.time)) unstorable.push(point);
    else if (point.quality === 'GOOD' || point.quality === 'SUSPECT') {
      const plan = planOf(point.deviceId, point.time, point.kind);
      if (!plan.points.has(point.measure)) plan.points.set(point.measure, point);
    }
  }
  if (unstorable.length > 0) target.onUnstorableTime?.(unstorable);
  return plans;
}

async function readLatest(target: RewriteTarget, deviceId: string): Promise<LatestItems> {
  const byKind = new Map<string, Item>();
  let startKey: Item | undefined;
  do {
    const page = await target.client.send(
      new QueryCommand({
        TableName: target.tables.latest,
        KeyConditionExpression: '#pk = :device',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':device': deviceId },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) byKind.set(String(item[SK]), item);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return byKind;
}

/** True when only the kinds rewritten here hold `measure` (see the file comment, step 1). */
function ownedByRewrittenKinds(latest: LatestItems, kinds: ReadonlySet<string>, measure: string): boolean {
  const attribute = measureAttribute(measure);
  let owned = false;
  for (const [kind, item] of latest) {
    if (!(attribute in item)) continue;
    if (!kinds.has(kind)) return false;
    owned = true;
  }
  return owned;
}

const suspectSet = (value: unknown): Set<string> =>
  value instanceof Set ? new Set([...value].map(String)) : new Set();

/** The updates that make one points item hold the plan's points (none when it already does). */
function itemUpdates(
  target: RewriteTarget,
  plan: ItemPlan,
  item: Item | undefined,
  latest: LatestItems,
  retentionDays: number,
): UpdateCommandInput[] {
  const stored = item ?? {};
  const storedSuspect = suspectSet(stored[SUSPECT]);
  const removed = Object.keys(stored)
    .filter(isMeasureAttribute)
    .map(measureOf)
    .filter((measure) => !plan.points.has(measure) && ownedByRewrittenKinds(latest, plan.kinds, measure));
  const changed = [...plan.points.values()].filter(
    (point) => stored[measureAttribute(point.measure)] !== point.value,
  );
  const suspectNow = new Set(
    [...plan.points.values()].filter((p) => p.quality === 'SUSPECT').map((p) => p.measure),
  );
  const addSuspect = [...suspectNow].filter((measure) => !storedSuspect.has(measure));
  const clearSuspect = [...storedSuspect].filter(
    (measure) => !suspectNow.has(measure) && (plan.points.has(measure) || removed.includes(measure)),
  );
  if (changed.length + removed.length + addSuspect.length + clearSuspect.length === 0) return [];

  const Key = { [PK]: plan.deviceId, [SK]: timeKey(plan.time) };
  const operations = [
    ...changed.map((point) => ({ measure: point.measure, value: point.value })),
    ...removed.map((measure) => ({ measure, value: undefined })),
  ];
  const parts: (typeof operations)[] =
    operations.length > 0 ? chunks(operations, MEASURES_PER_UPDATE) : addSuspect.length > 0 ? [[]] : [];
  const updates = parts.map((part, index): UpdateCommandInput => {
    const names: Record<string, string> = { '#exp': EXPIRES_AT };
    const values: Record<string, unknown> = { ':exp': expiresAtSeconds(plan.time, retentionDays) };
    const sets = ['#exp = :exp'];
    const removes: string[] = [];
    part.forEach(({ measure, value }, i) => {
      names[`#m${i}`] = measureAttribute(measure);
      if (value === undefined) removes.push(`#m${i}`);
      else {
        values[`:v${i}`] = value;
        sets.push(`#m${i} = :v${i}`);
      }
    });
    let expression = `SET ${sets.join(', ')}`;
    if (removes.length > 0) expression += ` REMOVE ${removes.join(', ')}`;
    if (index === 0 && addSuspect.length > 0) {
      names['#suspect'] = SUSPECT;
      values[':add'] = new Set(addSuspect);
      expression += ' ADD #suspect :add';
    }
    return {
      TableName: target.tables.points,
      Key,
      UpdateExpression: expression,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  });
  if (clearSuspect.length > 0) {
    updates.push({
      TableName: target.tables.points,
      Key,
      UpdateExpression: 'DELETE #suspect :clear',
      ExpressionAttributeNames: { '#suspect': SUSPECT },
      ExpressionAttributeValues: { ':clear': new Set(clearSuspect) },
    });
  }
  return updates;
}

/** A latest measure the rewrite changes: the entry read, and what replaces it. */
interface LatestChange {
  readonly deviceId: string;
  readonly kind: string;
  readonly measure: string;
  /** The entry read before the rewrite (undefined: none). */
  readonly read: LatestEntry | undefined;
  /** The newest new point of the measure (undefined: look for the newest stored one before `read`). */
  readonly next: TimeSeriesPoint | undefined;
}

const sameEntry = (a: LatestEntry, b: LatestEntry) =>
  a[0] === b[0] && a[1] === b[1] && (a[2] ?? 'GOOD') === (b[2] ?? 'GOOD');

/** Step 4 of the file comment, per (device, kind) rewritten. */
async function rewriteLatest(
  target: RewriteTarget,
  plans: ReadonlyMap<string, ItemPlan>,
  latest: ReadonlyMap<string, LatestItems>,
): Promise<void> {
  const rewritten = new Map<string, { times: Set<number>; newest: Map<string, TimeSeriesPoint> }>();
  for (const plan of plans.values()) {
    for (const kind of plan.kinds) {
      const key = `${plan.deviceId}\u0000${kind}`;
      let entry = rewritten.get(key);
      if (!entry) {
        entry = { times: new Set(), newest: new Map() };
        rewritten.set(key, entry);
      }
      entry.times.add(plan.time);
      for (const point of plan.points.values()) {
        const known = entry.newest.get(point.measure);
        if (point.kind === kind && (!known || point.time > known.time))
          entry.newest.set(point.measure, point);
      }
    }
  }
  const changes: LatestChange[] = [];
  for (const [key, { times, newest }] of rewritten) {
    const [deviceId, kind] = key.split('\u0000') as [string, string];
    const item: Item = latest.get(deviceId)?.get(kind) ?? {};
    const measures = new Set([...newest.keys()]);
    for (const name of Object.keys(item)) if (isMeasureAttribute(name)) measures.add(measureOf(name));
    for (const measure of measures) {
      const read = item[measureAttribute(measure)] as LatestEntry | undefined;
      const next = newest.get(measure);
      if (
        next &&
        (!read || next.time > read[1] || (next.time === read[1] && !sameEntry(read, latestEntry(next))))
      )
        changes.push({ deviceId, kind, measure, read, next });
      else if (read && times.has(read[1]) && next?.time !== read[1])
        changes.push({ deviceId, kind, measure, read, next: undefined });
    }
  }
  await forEachLimited(changes, WRITE_CONCURRENCY, (change) => applyLatestChange(target, change));
}

async function applyLatestChange(target: RewriteTarget, change: LatestChange): Promise<void> {
  const { deviceId, kind, measure, read, next } = change;
  const replacement = next ?? (read && (await newestStoredBefore(target, deviceId, measure, read[1])));
  const input: UpdateCommandInput = {
    TableName: target.tables.latest,
    Key: { [PK]: deviceId, [SK]: kind },
    UpdateExpression: replacement ? 'SET #m = :entry' : 'REMOVE #m',
    ExpressionAttributeNames: { '#m': measureAttribute(measure) },
    // A new point replaces an entry as old or older; a dropped one only the very entry read.
    ConditionExpression: next
      ? 'attribute_not_exists(#m) OR #m[1] <= :t'
      : 'attribute_exists(#m) AND #m[1] = :t',
    ExpressionAttributeValues: {
      ':t': next ? next.time : (read as LatestEntry)[1],
      ...(replacement ? { ':entry': latestEntry({ ...replacement, measure }) } : {}),
    },
  };
  try {
    await target.update(input);
  } catch (error) {
    // A newer value arrived meanwhile: it stands.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** The newest stored point of `measure` before `before`, within LATEST_LOOKBACK_PAGES pages. */
async function newestStoredBefore(
  target: RewriteTarget,
  deviceId: string,
  measure: string,
  before: number,
): Promise<{ value: TimeSeriesPoint['value']; time: number; quality: 'GOOD' | 'SUSPECT' } | undefined> {
  if (before <= 0) return undefined;
  const attribute = measureAttribute(measure);
  const now = target.now();
  let startKey: Item | undefined;
  for (let page = 0; page < LATEST_LOOKBACK_PAGES; page++) {
    const output = await target.client.send(
      new QueryCommand({
        TableName: target.tables.points,
        KeyConditionExpression: '#pk = :device AND #sk < :before',
        FilterExpression: 'attribute_exists(#m)',
        ProjectionExpression: '#sk, #m, #suspect, #exp',
        ExpressionAttributeNames: {
          '#pk': PK,
          '#sk': SK,
          '#m': attribute,
          '#suspect': SUSPECT,
          '#exp': EXPIRES_AT,
        },
        ExpressionAttributeValues: { ':device': deviceId, ':before': timeKey(before) },
        ScanIndexForward: false,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of output.Items ?? []) {
      if (isExpired(item, now)) continue;
      const quality = suspectSet(item[SUSPECT]).has(measure) ? 'SUSPECT' : 'GOOD';
      return {
        value: item[attribute] as TimeSeriesPoint['value'],
        time: timeOfKey(String(item[SK])),
        quality,
      };
    }
    startKey = output.LastEvaluatedKey;
    if (!startKey) return undefined;
  }
  return undefined;
}
