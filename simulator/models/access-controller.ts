/**
 * F2 access controller: doors, electric strikes, exit buttons, motion sensors and a siren driven by a
 * small discrete-event simulation in continuous time. People arrive as a Poisson process whose rate
 * follows the working day: a badge read energises the strike for a few seconds and the door opens and
 * closes; an exit button press does the same from the inside; motion sensors see everyone passing; a
 * door opened while its strike is locked is forced, sounds the siren and raises an event. The RS-485
 * sensors report smooth indoor climate and occupancy-driven CO2, hex-encoded as the registry declares.
 *
 * Telemetry samples the state at the step's time; exit buttons are latched (pressed at any moment
 * since the previous step), and the readers carry the last credential read since the previous step.
 */
import { MeanReverting, type Random } from '../random.js';
import type { DeviceModel, Measurements, ModelEvent, ModelOptions, ModelStep, Scalar } from '../types.js';
import {
  Channel,
  diurnal,
  firstOrder,
  groupComponents,
  hourOfDay,
  MS_PER_HOUR,
  randomHex,
  readingAt,
  StepClock,
} from './common.js';

/** How long a granted credential or an exit request keeps the strike energised. */
export const UNLOCK_MS = 5_000;
/** How long a motion sensor holds its output after the last movement. */
export const MOTION_HOLD_MS = 30_000;
/** Forced-door rate per door (per hour): about one every four days. */
export const FORCED_PER_HOUR = 1 / 96;

/** Working-day occupancy in [0, 1]: zero at night, highest early afternoon (UTC hours). */
export function occupancy(hour: number): number {
  if (hour <= 6.5 || hour >= 19.5) return 0;
  const s = Math.sin((Math.PI * (hour - 6.5)) / 13);
  return s * s;
}

type ActionKind = 'badge' | 'qr' | 'exit' | 'forced' | 'open' | 'close' | 'motion';

interface Action {
  readonly at: number;
  readonly seq: number;
  readonly kind: ActionKind;
  readonly door: number;
}

interface Door {
  readonly key: string;
  readonly suffix: string;
  /** Traffic relative to the device's average. */
  readonly busy: number;
  open: boolean;
  closeAt: number;
  strikeUntil: number;
  motionUntil: number;
  /** Exit button pressed since the last step. */
  pressed: boolean;
}

const suffixOf = (key: string): string => key.slice(key.lastIndexOf('_') + 1);

class AccessControllerModel implements DeviceModel {
  readonly deviceType: string;

  private readonly random: Random;
  private readonly clock = new StepClock();
  private readonly doors: Door[];
  private readonly doorBySuffix = new Map<string, Door>();
  private readonly groups: {
    readonly strikes: string[];
    readonly buttons: string[];
    readonly motion: string[];
    readonly sirens: string[];
    readonly readers: string[];
  };
  private readonly cards: string[];
  private readonly nfcMaxLength: number;
  private readonly qrMaxLength: number;
  private readonly rs485: { readonly key: string; readonly channel: Channel }[];

  private readonly queue: Action[] = [];
  private seq = 0;
  private initialised = false;
  private sirenUntil = Number.NEGATIVE_INFINITY;
  private lastNfc: string | undefined;
  private lastQr: string | undefined;
  private events: ModelEvent[] = [];

  private readonly indoorWalk: MeanReverting;
  private readonly humidityWalk: MeanReverting;
  private readonly pressureWalk: MeanReverting;
  private readonly co2Walk: MeanReverting;
  private readonly indoorBase: number;
  private readonly humidityBase: number;
  private co2: number;

  constructor(options: ModelOptions) {
    const { definition, random } = options;
    this.deviceType = definition.typeId;
    this.random = random;

    this.doors = groupComponents(definition, 'door_sensors').map((key) => ({
      key,
      suffix: suffixOf(key),
      busy: random.between(0.5, 1.5),
      open: false,
      closeAt: Number.NEGATIVE_INFINITY,
      strikeUntil: Number.NEGATIVE_INFINITY,
      motionUntil: Number.NEGATIVE_INFINITY,
      pressed: false,
    }));
    for (const door of this.doors) this.doorBySuffix.set(door.suffix, door);
    this.groups = {
      strikes: groupComponents(definition, 'strikes'),
      buttons: groupComponents(definition, 'exit_buttons'),
      motion: groupComponents(definition, 'motion_sensors'),
      sirens: groupComponents(definition, 'sirens'),
      readers: groupComponents(definition, 'readers'),
    };
    this.nfcMaxLength = readingAt(definition, 'readers.nfc')?.maxLength ?? 64;
    this.qrMaxLength = readingAt(definition, 'readers.qr')?.maxLength ?? 512;
    const cardCount = random.int(12, 40);
    this.cards = [];
    for (let i = 0; i < cardCount; i++) {
      const uid = randomHex(() => random.next(), random.chance(0.7) ? 4 : 7);
      this.cards.push(uid.slice(0, this.nfcMaxLength));
    }

    this.rs485 = groupComponents(definition, 'rs485').map((key) => ({
      key,
      channel: Channel.of(definition, `rs485.${key}`, { min: 0, max: 10_000 }, 1),
    }));
    this.indoorBase = random.between(20, 23);
    this.humidityBase = random.between(38, 50);
    this.indoorWalk = new MeanReverting(0, 0.3, 3600);
    this.humidityWalk = new MeanReverting(0, 3, 4 * 3600);
    this.pressureWalk = new MeanReverting(1013, 7, 2 * 24 * 3600);
    this.pressureWalk.value = random.normal(1013, 7);
    this.co2Walk = new MeanReverting(0, 25, 1800);
    this.co2 = 420 + 600 * occupancy(hourOfDay(options.startTime));
  }

  private meanBusy(): number {
    if (this.doors.length === 0) return 1;
    return this.doors.reduce((sum, door) => sum + door.busy, 0) / this.doors.length;
  }

  // --- the event queue ------------------------------------------------------------------------------

  private schedule(at: number, kind: ActionKind, door: number): void {
    const action: Action = { at, seq: this.seq++, kind, door };
    const queue = this.queue;
    let i = queue.length;
    while (i > 0) {
      const before = queue[i - 1] as Action;
      if (before.at < at || (before.at === at && before.seq < action.seq)) break;
      i--;
    }
    queue.splice(i, 0, action);
  }

  /** The next arrival of a Poisson process with rate `rate(t)` per hour (thinning under `maxRate`). */
  private nextArrival(from: number, rate: (time: number) => number, maxRate: number): number {
    let time = from;
    for (let i = 0; i < 10_000; i++) {
      time += this.random.exponential(MS_PER_HOUR / maxRate);
      if (this.random.next() * maxRate < rate(time)) return time;
    }
    return time;
  }

  private badgeRate(door: Door): (time: number) => number {
    return (time) => door.busy * (0.2 + 7 * occupancy(hourOfDay(time)));
  }

  private scheduleBadge(from: number, index: number): void {
    const door = this.doors[index] as Door;
    this.schedule(this.nextArrival(from, this.badgeRate(door), door.busy * 7.2), 'badge', index);
  }

  private scheduleExit(from: number, index: number): void {
    const door = this.doors[index] as Door;
    const rate = this.badgeRate(door);
    this.schedule(
      this.nextArrival(from, (t) => 0.5 * rate(t), door.busy * 3.6),
      'exit',
      index,
    );
  }

  private scheduleQr(from: number): void {
    if (this.doors.length === 0) return;
    const at = this.nextArrival(from, (t) => 0.05 + 0.4 * occupancy(hourOfDay(t)), 0.45);
    this.schedule(at, 'qr', this.random.int(0, this.doors.length - 1));
  }

  private scheduleForced(from: number, index: number): void {
    this.schedule(from + this.random.exponential(MS_PER_HOUR / FORCED_PER_HOUR), 'forced', index);
  }

  private scheduleMotion(from: number, index: number): void {
    const at = this.nextArrival(from, (t) => 0.5 + 2 * occupancy(hourOfDay(t)), 2.5);
    this.schedule(at, 'motion', index);
  }

  private initialise(time: number): void {
    this.initialised = true;
    this.doors.forEach((_, index) => {
      this.scheduleBadge(time, index);
      this.scheduleExit(time, index);
      this.scheduleForced(time, index);
      this.scheduleMotion(time, index);
    });
    this.scheduleQr(time);
  }

  // --- what happens at a door -----------------------------------------------------------------------

  private sense(door: Door, at: number): void {
    door.motionUntil = Math.max(door.motionUntil, at + MOTION_HOLD_MS);
  }

  private credential(index: number, at: number, reader: 'nfc' | 'qr'): void {
    const door = this.doors[index] as Door;
    const random = this.random;
    let credential: string;
    if (reader === 'nfc') {
      credential = random.pick(this.cards);
      this.lastNfc = credential;
    } else {
      const date = new Date(at).toISOString().slice(0, 10).replaceAll('-', '');
      credential = `VISITOR-${randomHex(() => random.next(), 4)}-${date}`.slice(0, this.qrMaxLength);
      this.lastQr = credential;
    }
    this.sense(door, at);
    const field = reader === 'nfc' ? 'card' : 'code';
    if (random.chance(reader === 'nfc' ? 0.96 : 0.9)) {
      door.strikeUntil = Math.max(door.strikeUntil, at + UNLOCK_MS);
      this.events.push({
        type: 'access_granted',
        severity: 'info',
        message: `Access granted at ${door.key} (${reader})`,
        data: { reader, [field]: credential, door: door.key },
      });
      if (random.chance(0.95)) this.schedule(at + random.between(1_000, 3_500), 'open', index);
    } else {
      this.events.push({
        type: 'access_denied',
        severity: 'low',
        message: `Access denied at ${door.key} (${reader})`,
        data: { reader, [field]: credential, door: door.key },
      });
    }
  }

  private openDoor(index: number, at: number): void {
    const door = this.doors[index] as Door;
    const random = this.random;
    const hold = random.chance(0.05) ? random.between(20_000, 90_000) : random.between(3_000, 12_000);
    this.sense(door, at);
    if (!door.open) {
      door.open = true;
      if (at >= door.strikeUntil) {
        this.sirenUntil = Math.max(this.sirenUntil, at + random.between(30_000, 120_000));
        this.events.push({
          type: 'door_forced',
          severity: 'high',
          message: `${door.key} opened without a granted credential or exit request`,
          data: { door: door.key },
        });
      }
    }
    door.closeAt = Math.max(door.closeAt, at + hold);
    this.schedule(door.closeAt, 'close', index);
  }

  private run(action: Action): void {
    const door = this.doors[action.door] as Door;
    const at = action.at;
    switch (action.kind) {
      case 'badge':
        this.credential(action.door, at, 'nfc');
        this.scheduleBadge(at, action.door);
        break;
      case 'qr':
        this.credential(action.door, at, 'qr');
        this.scheduleQr(at);
        break;
      case 'exit':
        door.pressed = true;
        door.strikeUntil = Math.max(door.strikeUntil, at + UNLOCK_MS);
        this.sense(door, at);
        if (this.random.chance(0.9)) this.schedule(at + this.random.between(500, 2_000), 'open', action.door);
        this.scheduleExit(at, action.door);
        break;
      case 'forced':
        this.openDoor(action.door, at);
        this.scheduleForced(at, action.door);
        break;
      case 'open':
        this.openDoor(action.door, at);
        break;
      case 'close':
        if (door.open && at >= door.closeAt) door.open = false;
        break;
      case 'motion':
        this.sense(door, at);
        this.scheduleMotion(at, action.door);
        break;
    }
  }

  // --- the step -------------------------------------------------------------------------------------

  step(time: number): ModelStep {
    const random = this.random;
    const dt = this.clock.advance(time);
    if (!this.initialised) this.initialise(time);
    this.events = [];
    this.lastNfc = undefined;
    this.lastQr = undefined;
    for (const door of this.doors) door.pressed = false;
    for (let action = this.queue[0]; action && action.at <= time; action = this.queue[0]) {
      this.queue.shift();
      this.run(action);
    }

    const measurements: Measurements = {};
    const byDoor = (keys: readonly string[], value: (door: Door) => boolean): Record<string, Scalar> => {
      const group: Record<string, Scalar> = {};
      for (const key of keys) {
        const door = this.doorBySuffix.get(suffixOf(key));
        group[key] = door ? value(door) : false;
      }
      return group;
    };
    measurements.door_sensors = byDoor(
      this.doors.map((d) => d.key),
      (door) => door.open,
    );
    if (this.groups.strikes.length > 0)
      measurements.strikes = byDoor(this.groups.strikes, (d) => time < d.strikeUntil);
    if (this.groups.buttons.length > 0)
      measurements.exit_buttons = byDoor(this.groups.buttons, (d) => d.pressed);
    if (this.groups.motion.length > 0)
      measurements.motion_sensors = byDoor(this.groups.motion, (d) => time < d.motionUntil);
    if (this.groups.sirens.length > 0) {
      const sounding = time < this.sirenUntil;
      measurements.sirens = Object.fromEntries(this.groups.sirens.map((key) => [key, sounding]));
    }
    const readers: Record<string, Scalar> = {};
    if (this.lastNfc !== undefined && this.groups.readers.includes('nfc')) readers.nfc = this.lastNfc;
    if (this.lastQr !== undefined && this.groups.readers.includes('qr')) readers.qr = this.lastQr;
    if (Object.keys(readers).length > 0) measurements.readers = readers;

    if (this.rs485.length > 0) measurements.rs485 = this.climate(time, dt, random);
    return { measurements, events: this.events };
  }

  /** Indoor climate on the RS-485 bus, as wire values (hex where the registry declares an encoding). */
  private climate(time: number, dt: number, random: Random): Record<string, Scalar> {
    this.indoorWalk.step(random, dt);
    this.humidityWalk.step(random, dt);
    this.pressureWalk.step(random, dt);
    this.co2Walk.step(random, dt);
    const hour = hourOfDay(time);
    const occupied = occupancy(hour) * Math.min(1.3, this.meanBusy());
    const temperature = this.indoorBase + 1.2 * diurnal(hour, 15) + 0.8 * occupied + this.indoorWalk.value;
    const humidity = Math.min(
      70,
      Math.max(20, this.humidityBase - 2 * (temperature - 21) + this.humidityWalk.value),
    );
    const pressure = Math.min(1040, Math.max(980, this.pressureWalk.value));
    this.co2 = firstOrder(this.co2, 420 + 600 * occupied, dt, 40 * 60);
    const co2 = Math.max(400, this.co2 + this.co2Walk.value);
    const physical: Record<string, number> = { temperature, humidity, pressure, co2 };
    const values: Record<string, Scalar> = {};
    for (const { key, channel } of this.rs485) {
      const value = physical[key] ?? (channel.min + channel.max) / 2;
      values[key] = channel.wire(value);
    }
    return values;
  }
}

export const createAccessControllerModel = (options: ModelOptions): DeviceModel =>
  new AccessControllerModel(options);
