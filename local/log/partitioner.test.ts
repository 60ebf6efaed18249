import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './partitioner.js';

describe('murmur2', () => {
  it("matches Kafka's Utils.murmur2 test vectors", () => {
    // Prepare: the cases of Kafka's UtilsTest.testMurmur2
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];

    // Act / Assess
    for (const [input, expected] of cases) expect(murmur2(Buffer.from(input, 'utf8'))).toBe(expected);
  });

  it('hashes only the bytes of a Uint8Array view', () => {
    const whole = Buffer.from('xxfoobarxx', 'utf8');

    expect(murmur2(whole.subarray(2, 8))).toBe(murmur2(Buffer.from('foobar', 'utf8')));
  });
});

describe('partitionForKey', () => {
  it('puts the same key on the same partition every time', () => {
    for (const key of ['breaker-00001', 'meter-7', 'π-sensor', '']) {
      const first = partitionForKey(key, 6);
      for (let i = 0; i < 5; i++) expect(partitionForKey(key, 6)).toBe(first);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(first).toBeLessThan(6);
    }
  });

  it('spreads keys over all partitions', () => {
    // Prepare
    const counts = new Array<number>(6).fill(0);

    // Act
    for (let i = 0; i < 6000; i++) {
      const partition = partitionForKey(`breaker-${String(i).padStart(5, '0')}`, 6);
      counts[partition] = (counts[partition] ?? 0) + 1;
    }

    // Assess: every partition gets a fair share (expected 1000 each)
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('refuses a partition count below one', () => {
    expect(() => partitionForKey('a', 0)).toThrow(RangeError);
  });
});
