import { describe, expect, it } from 'vitest';
import type { ConditionState } from '../core/alert-state.js';
import { AlertStateConflict, InMemoryAlertStateStore } from '../ports/registry.js';
import { CachedAlertStateStore } from './cached-alert-state.js';

const active = (version: number, alertId = 'a'): ConditionState => ({
  active: true,
  alertId,
  onsets: [alertId],
  version,
});

function counted() {
  const store = new InMemoryAlertStateStore();
  const loads: string[][] = [];
  return {
    store,
    loads,
    inner: {
      load: (ids: readonly string[]) => {
        loads.push([...ids]);
        return store.load(ids);
      },
      save: store.save.bind(store),
    },
  };
}

describe('CachedAlertStateStore', () => {
  it('reads a device from the store once, then serves it and its own writes from memory', async () => {
    const { inner, loads } = counted();
    const cached = new CachedAlertStateStore(inner);

    await cached.load(['d1']);
    await cached.save('d1', { r: active(1) });
    const again = await cached.load(['d1']);

    expect(loads).toEqual([['d1']]);
    expect(again).toEqual({ d1: { r: active(1) } });
  });

  it('forgets a device whose write conflicted, so the store decides on the next read', async () => {
    const { inner, store, loads } = counted();
    const cached = new CachedAlertStateStore(inner);
    await cached.load(['d1']);
    await store.save('d1', { r: active(1, 'other') }); // written behind the mirror's back

    await expect(cached.save('d1', { r: active(1) })).rejects.toBeInstanceOf(AlertStateConflict);
    const reread = await cached.load(['d1']);

    expect(loads).toEqual([['d1'], ['d1']]);
    expect(reread.d1?.r?.alertId).toBe('other');
  });

  it('keeps at most the given number of devices, evicting the least recently used', async () => {
    const { inner, loads } = counted();
    const cached = new CachedAlertStateStore(inner, 2);

    await cached.load(['d1', 'd2']);
    await cached.load(['d1']);
    await cached.load(['d3']);
    await cached.load(['d1', 'd2']);

    expect(loads).toEqual([['d1', 'd2'], ['d3'], ['d2']]);
  });
});
