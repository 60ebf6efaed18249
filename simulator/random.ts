/**
 * Seeded randomness for the simulator: the same seed gives the same fleet, the same values and the same
 * faults, run after run. Each device draws from its own stream (derived from the fleet seed and the
 * device id), so adding a device does not change what the others publish.
 */

/** FNV-1a over a string: turns a seed and a device id into a 32-bit stream seed. */
function hashSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export class Random {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream of its own for `label` (a device id, a fault name), derived from `seed`. */
  static derive(seed: number, label: string): Random {
    return new Random(hashSeed(seed, label));
  }

  /** Uniform in [0, 1): mulberry32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() needs at least one item');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(mean = 0, deviation = 1): number {
    if (this.spareNormal !== undefined) {
      const value = this.spareNormal;
      this.spareNormal = undefined;
      return mean + deviation * value;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return mean + deviation * radius * Math.cos(2 * Math.PI * v);
  }

  /** Exponentially distributed waiting time with the given mean (for Poisson events). */
  exponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.next();
    return -mean * Math.log(u);
  }
}

/**
 * A mean-reverting random walk (Ornstein-Uhlenbeck), advanced by elapsed time: slow drifts that stay
 * near their mean, the right shape for grid voltage, frequency and pressure.
 */
export class MeanReverting {
  value: number;

  constructor(
    readonly mean: number,
    /** Long-run standard deviation. */
    readonly deviation: number,
    /** How fast it returns to the mean, in seconds (the correlation time). */
    readonly timeConstantSeconds: number,
    initial?: number,
  ) {
    this.value = initial ?? mean;
  }

  step(random: Random, seconds: number): number {
    if (seconds <= 0) return this.value;
    const decay = Math.exp(-seconds / this.timeConstantSeconds);
    const noise = this.deviation * Math.sqrt(1 - decay * decay);
    this.value = this.mean + (this.value - this.mean) * decay + noise * random.normal();
    return this.value;
  }
}

export const round = (value: number, digits: number): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));
