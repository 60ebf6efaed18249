/**
 * Committed consumer-group offsets of the local log: one small JSON file per group,
 * `{dataDir}/groups/{group}.json`, replaced atomically (write a temp file, fsync it, rename it over
 * the old one, fsync the directory), so a crash leaves either the old or the new offsets, never a
 * torn file. A committed offset is the next offset the group will read, as in Kafka.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './fs-util.js';

const GROUP_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;
const FILE_VERSION = 1;

interface GroupFile {
  readonly version: number;
  readonly group: string;
  readonly updated_at: string;
  readonly topics: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

interface Waiter {
  readonly version: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

class GroupOffsets {
  readonly topics = new Map<string, Map<number, number>>();
  version = 0;
  persistedVersion = 0;
  writing = false;
  waiters: Waiter[] = [];

  constructor(readonly group: string) {}
}

export function assertGroupName(group: string): void {
  if (!GROUP_PATTERN.test(group) || group === '.' || group === '..') {
    throw new Error(`invalid consumer group name "${group}": use 1-200 of [A-Za-z0-9._-]`);
  }
}

export class OffsetStore {
  private readonly groups = new Map<string, GroupOffsets>();

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  /** Loads every group file; leftovers of an interrupted write (`*.tmp`) are removed. */
  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.tmp')) {
        await rm(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const parsed = parseGroupFile(await readFile(file, 'utf8'), file);
      const state = this.state(parsed.group);
      for (const [topic, partitions] of Object.entries(parsed.topics)) {
        const offsets = new Map<number, number>();
        for (const [partition, offset] of Object.entries(partitions)) offsets.set(Number(partition), offset);
        state.topics.set(topic, offsets);
      }
    }
  }

  /** The groups that have committed offsets on `topic`. */
  groupsOf(topic: string): string[] {
    return [...this.groups.values()].filter((state) => state.topics.has(topic)).map((state) => state.group);
  }

  /** Committed offsets of `group` on `topic`, by partition (absent: nothing committed). */
  get(group: string, topic: string): ReadonlyMap<number, number> {
    return this.groups.get(group)?.topics.get(topic) ?? new Map();
  }

  /** Records the offsets and resolves once a file holding them (or later ones) is durable. */
  commit(group: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    assertGroupName(group);
    const state = this.state(group);
    let topicOffsets = state.topics.get(topic);
    if (!topicOffsets) {
      topicOffsets = new Map();
      state.topics.set(topic, topicOffsets);
    }
    for (const [partition, offset] of offsets) {
      if (!Number.isSafeInteger(partition) || partition < 0 || !Number.isSafeInteger(offset) || offset < 0) {
        return Promise.reject(
          new RangeError(`invalid committed offset ${offset} for partition ${partition}`),
        );
      }
      topicOffsets.set(partition, offset);
    }
    state.version += 1;
    const version = state.version;
    const done = new Promise<void>((resolve, reject) => state.waiters.push({ version, resolve, reject }));
    if (!state.writing) void this.writeLoop(state);
    return done;
  }

  /** Resolves when no group file write is pending. */
  async flush(): Promise<void> {
    const pending = [...this.groups.values()]
      .filter((state) => state.persistedVersion < state.version)
      .map(
        (state) =>
          new Promise<void>((resolve, reject) => {
            state.waiters.push({ version: state.version, resolve, reject });
            if (!state.writing) void this.writeLoop(state);
          }),
      );
    await Promise.all(pending);
  }

  private state(group: string): GroupOffsets {
    let state = this.groups.get(group);
    if (!state) {
      state = new GroupOffsets(group);
      this.groups.set(group, state);
    }
    return state;
  }

  /** One writer per group; commits that arrive during a write are coalesced into the next one. */
  private async writeLoop(state: GroupOffsets): Promise<void> {
    state.writing = true;
    try {
      while (state.persistedVersion < state.version) {
        const version = state.version;
        try {
          await this.writeGroup(state);
          state.persistedVersion = version;
          const [settled, waiting] = partition(state.waiters, (waiter) => waiter.version <= version);
          state.waiters = waiting;
          for (const waiter of settled) waiter.resolve();
        } catch (error) {
          // The next commit writes the offsets in memory again, which are still the newest.
          state.persistedVersion = version;
          const [failed, waiting] = partition(state.waiters, (waiter) => waiter.version <= version);
          state.waiters = waiting;
          for (const waiter of failed) waiter.reject(error);
        }
      }
    } finally {
      state.writing = false;
    }
  }

  private async writeGroup(state: GroupOffsets): Promise<void> {
    const topics: Record<string, Record<string, number>> = {};
    for (const [topic, offsets] of state.topics) {
      const entries: Record<string, number> = {};
      for (const [partition, offset] of [...offsets].sort((a, b) => a[0] - b[0]))
        entries[String(partition)] = offset;
      topics[topic] = entries;
    }
    const content: GroupFile = {
      version: FILE_VERSION,
      group: state.group,
      updated_at: new Date().toISOString(),
      topics,
    };
    const file = path.join(this.dir, `${state.group}.json`);
    await writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, this.fsync);
  }
}

function partition<T>(items: readonly T[], predicate: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (predicate(item) ? yes : no).push(item);
  return [yes, no];
}

function parseGroupFile(text: string, file: string): GroupFile {
  const invalid = (why: string) => new Error(`consumer offsets file ${file} is invalid: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`not JSON (${String(error)})`);
  }
  if (typeof value !== 'object' || value === null) throw invalid('not an object');
  const record = value as Record<string, unknown>;
  if (record.version !== FILE_VERSION) throw invalid(`unsupported version ${String(record.version)}`);
  const group = record.group;
  if (typeof group !== 'string') throw invalid('no group name');
  assertGroupName(group);
  const topics = record.topics;
  if (typeof topics !== 'object' || topics === null) throw invalid('no topics');
  const checked: Record<string, Record<string, number>> = {};
  for (const [topic, partitions] of Object.entries(topics)) {
    if (typeof partitions !== 'object' || partitions === null) throw invalid(`topic ${topic} has no offsets`);
    const offsets: Record<string, number> = {};
    for (const [partitionId, offset] of Object.entries(partitions)) {
      if (
        !/^\d+$/.test(partitionId) ||
        typeof offset !== 'number' ||
        !Number.isSafeInteger(offset) ||
        offset < 0
      ) {
        throw invalid(`bad offset ${String(offset)} for ${topic}-${partitionId}`);
      }
      offsets[partitionId] = offset;
    }
    checked[topic] = offsets;
  }
  return { version: FILE_VERSION, group, updated_at: String(record.updated_at ?? ''), topics: checked };
}
