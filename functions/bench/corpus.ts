/**
 * A fixed, generated corpus for the core benchmark: the same messages on every run (seeded PRNG), a
 * realistic mix across all four device types and all four message kinds, and a small share of bad
 * input so the rejection paths are timed too. It is a benchmark input, not a simulator: values are
 * plausible, not physically modelled.
 */
export interface CorpusMessage {
  readonly payload: string;
  readonly topic: string;
}

/** mulberry32: tiny, fast, and deterministic for a given seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export function generateCorpus(size: number, seed = 42): CorpusMessage[] {
  const random = seededRandom(seed);
  const between = (min: number, max: number) => min + random() * (max - min);
  const hex16 = (value: number) => ((value + 0x10000) & 0xffff).toString(16).toUpperCase().padStart(4, '0');
  const start = Date.parse('2026-11-23T00:00:00.000Z');
  const messages: CorpusMessage[] = [];

  for (let i = 0; i < size; i++) {
    const time = new Date(start + i * 1000).toISOString();
    const pick = random();
    const n = i % 50;
    if (pick < 0.4) {
      const id = `breaker-${n}`;
      const currents = [between(20, 85), between(20, 85), between(20, 85)];
      const excursion = random() < 0.03 ? 6 : 0; // a few messages cross the alert thresholds
      const voltages = [between(117, 123) + excursion, between(117, 123), between(117, 123)];
      const pf = between(0.86, 0.99);
      const apparent = voltages.reduce((sum, v, k) => sum + v * (currents[k] as number), 0);
      const active = apparent * pf;
      messages.push({
        topic: `dt/smart_breaker/${id}/telemetry`,
        payload: JSON.stringify({
          device_id: id,
          device_type: 'smart_breaker',
          timestamp: time,
          event_type: 'telemetry',
          measurements: {
            voltage: {
              phase_a: round(voltages[0] as number),
              phase_b: round(voltages[1] as number),
              phase_c: round(voltages[2] as number),
            },
            current: {
              phase_a: round(currents[0] as number),
              phase_b: round(currents[1] as number),
              phase_c: round(currents[2] as number),
            },
            power: {
              active: round(active),
              reactive: round(Math.sqrt(apparent ** 2 - active ** 2)),
              apparent: round(apparent),
              factor: round(pf, 3),
            },
            frequency: round(between(59.8, 60.2), 3),
            temperature: round(between(30, 70), 1),
            status: { breaker: 1, position: 1, communication: 1 },
            protection: {
              trip_count: n % 5,
              ground_fault_current: round(between(0, 1)),
              arc_fault_detected: random() < 0.01,
            },
            operational: {
              load_percentage: round(between(20, 80), 1),
              operating_hours: round(1000 + i / 3600, 1),
              maintenance_due: false,
            },
          },
        }),
      });
    } else if (pick < 0.55) {
      const id = `meter-${n}`;
      // Half the meters name no type and report `power`: detection must not take them for breakers.
      const typed = random() < 0.5;
      messages.push({
        topic: typed ? `dt/smart_meter/${id}/telemetry` : `legacy/${id}`,
        payload: JSON.stringify({
          device_id: id,
          ...(typed ? { device_type: 'smart_meter' } : {}),
          timestamp: time,
          event_type: 'telemetry',
          measurements: {
            energy: round(10000 + i * 0.5),
            demand: round(between(5, 85)),
            power_factor: round(between(0.86, 0.99), 3),
            power: round(between(5000, 90000)),
          },
        }),
      });
    } else if (pick < 0.7) {
      const id = `env-${n}`;
      messages.push({
        topic: `dt/environmental_sensor/${id}/telemetry`,
        payload: JSON.stringify({
          device_id: id,
          timestamp: time,
          event_type: 'telemetry',
          tags: { site: 'plant-1' },
          measurements: {
            temperature: round(between(5, 38), 1),
            humidity: round(between(20, 80), 1),
            pressure: round(between(980, 1040), 1),
            battery: round(between(20, 100)),
          },
        }),
      });
    } else if (pick < 0.8) {
      const id = `f2-${n.toString(16).padStart(12, '0')}`;
      messages.push({
        topic: `dt/f2_access_controller/${id}/telemetry`,
        payload: JSON.stringify({
          device_id: id,
          device_type: 'f2_access_controller',
          timestamp: time,
          event_type: 'telemetry',
          measurements: {
            door_sensors: { door_1: random() < 0.2, door_2: random() < 0.2 },
            strikes: { strike_1: random() < 0.1, strike_2: false },
            motion_sensors: { motion_1: random() < 0.3, motion_2: false },
            sirens: { siren_1: random() < 0.02 },
            readers: random() < 0.1 ? { nfc: '04A224B2C35E80' } : {},
            rs485: {
              temperature: hex16(Math.round(between(150, 350))),
              humidity: hex16(Math.round(between(300, 700))),
              pressure: hex16(Math.round(between(9800, 10400))),
            },
          },
        }),
      });
    } else if (pick < 0.9) {
      const id = `breaker-${n}`;
      const window = { start: new Date(start + i * 1000 - 300_000).toISOString(), end: time };
      const channel = (lo: number, hi: number) => {
        const a = between(lo, hi);
        const b = between(lo, hi);
        const min = round(Math.min(a, b));
        const max = round(Math.max(a, b));
        return { avg: round((min + max) / 2), min, max, last: max, count: 60 };
      };
      messages.push({
        topic: `dt/smart_breaker/${id}/trends`,
        payload: JSON.stringify({
          device_id: id,
          device_type: 'smart_breaker',
          timestamp: time,
          event_type: 'trends',
          window,
          measurements: {
            'voltage.phase_a': channel(115, 125),
            'voltage.phase_b': channel(115, 125),
            'voltage.phase_c': channel(115, 125),
            'current.phase_a': channel(20, 80),
            'current.phase_b': channel(20, 80),
            'current.phase_c': channel(20, 80),
            'power.active': channel(5000, 25000),
            frequency: channel(59.8, 60.2),
            temperature: channel(30, 60),
          },
        }),
      });
    } else if (pick < 0.95) {
      const id = `env-${n}`;
      messages.push({
        topic: `dt/environmental_sensor/${id}/status`,
        payload: JSON.stringify({
          device_id: id,
          device_type: 'environmental_sensor',
          timestamp: time,
          event_type: 'status',
          status: {
            online: true,
            firmware_version: '2.1.0',
            uptime_s: i * 10,
            counters: { sent: i, failed: 0 },
          },
        }),
      });
    } else if (pick < 0.98) {
      const id = `breaker-${n}`;
      messages.push({
        topic: `dt/smart_breaker/${id}/event`,
        payload: JSON.stringify({
          device_id: id,
          device_type: 'smart_breaker',
          timestamp: time,
          event_type: 'event',
          event: {
            type: 'trip',
            severity: 'critical',
            data: { reason: 'overcurrent', trip_current: 182.5, trip_count: n % 10 },
          },
        }),
      });
    } else {
      // Bad input: each kind the gate must reject.
      const bad = [
        '{"device_id":"x","timestamp":',
        '[1,2,3]',
        JSON.stringify({ device_id: 'bad id!', timestamp: time, event_type: 'telemetry', measurements: {} }),
        JSON.stringify({
          device_id: 'ghost-1',
          timestamp: time,
          event_type: 'telemetry',
          measurements: { flux: 1 },
        }),
        JSON.stringify({
          device_id: 'env-1',
          timestamp: time,
          event_type: 'telemetry',
          measurements: { temperature: 'hot' },
          __proto__x: 1,
        }),
      ];
      messages.push({ topic: `legacy/${i}`, payload: bad[i % bad.length] as string });
    }
  }
  return messages;
}
