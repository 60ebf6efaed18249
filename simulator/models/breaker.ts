/**
 * Three-phase smart circuit breaker: grid voltage with slow drift, a daily load profile per device,
 * power from per-phase V·I and a load-dependent power factor, a first-order thermal model, and real
 * protection logic (inverse-time overcurrent, ground fault, arc fault, over-temperature) that trips
 * the breaker and resets it after a delay.
 */
import { MeanReverting, type Random, round } from '../random.js';
import type { DeviceModel, ModelEvent, ModelFaultHooks, ModelOptions, ModelStep } from '../types.js';
import { Channel, diurnal, firstOrder, hourOfDay, Overload, rating, readingAt, StepClock } from './common.js';

export const PHASES = ['phase_a', 'phase_b', 'phase_c'] as const;
export type Phase = (typeof PHASES)[number];

export const DEFAULT_TRIP_RESET_MS = 60_000;
export const DEFAULT_MAINTENANCE_THRESHOLD_HOURS = 8_760;

/** Overcurrent pickup, as a multiple of the rated current. */
export const PICKUP_MULTIPLE = 1.05;
/** IEC 60255 standard inverse: t = 0.14·TMS / ((I/Is)^0.02 − 1). */
const SI_K = 0.14;
const SI_ALPHA = 0.02;
/** The time multiplier is chosen so that 150 % of rated current trips in this many seconds. */
export const TRIP_SECONDS_AT_150_PERCENT = 35;
export const TIME_MULTIPLIER =
  (TRIP_SECONDS_AT_150_PERCENT * ((1.5 / PICKUP_MULTIPLE) ** SI_ALPHA - 1)) / SI_K;
/** Below pickup the integrator relaxes with this time constant (disk-emulation style reset). */
const OVERCURRENT_RESET_TAU_S = 30;

export const GROUND_FAULT_TRIP_A = 5;
export const OVER_TEMPERATURE_TRIP_C = 85;

/** Thermal model: ambient plus 40 K at rated current (I² heating), time constant 15 minutes. */
const THERMAL_RISE_AT_RATED_K = 40;
const THERMAL_TAU_S = 15 * 60;

export type TripReason = 'overcurrent' | 'ground_fault' | 'arc_fault' | 'over_temperature';

/** Seconds to trip at `current` for the inverse-time curve; Infinity at or below pickup. */
export function inverseTimeSeconds(current: number, ratedCurrent: number): number {
  const ratio = current / (PICKUP_MULTIPLE * ratedCurrent);
  if (!(ratio > 1)) return Number.POSITIVE_INFINITY;
  return (SI_K * TIME_MULTIPLIER) / (ratio ** SI_ALPHA - 1);
}

/**
 * The site's daily load as a fraction of its peak-to-rated: a night base of 0.30 and a broad
 * afternoon hump peaking at 0.72 around 15:00 (UTC).
 */
export function breakerLoadProfile(hour: number): number {
  const x = Math.cos((Math.PI * (hour - 15)) / 18);
  return 0.3 + 0.42 * (x > 0 ? x ** 1.5 : 0);
}

/** What the protection relay sees at one instant. */
export interface ProtectionInputs {
  readonly arcFault: boolean;
  readonly groundFaultCurrent: number;
  /** Σ dt / t(I) of the inverse-time curve since the current last exceeded pickup. */
  readonly overcurrentIntegral: number;
  readonly temperature: number;
}

/** The protection decision, fastest function first: arc, ground fault, overcurrent, over-temperature. */
export function tripReason(inputs: ProtectionInputs): TripReason | undefined {
  if (inputs.arcFault) return 'arc_fault';
  if (inputs.groundFaultCurrent > GROUND_FAULT_TRIP_A) return 'ground_fault';
  if (inputs.overcurrentIntegral >= 1) return 'overcurrent';
  if (inputs.temperature > OVER_TEMPERATURE_TRIP_C) return 'over_temperature';
  return undefined;
}

class BreakerModel implements DeviceModel {
  readonly deviceType: string;
  readonly faults: ModelFaultHooks;

  private readonly random: Random;
  private readonly clock = new StepClock();
  private readonly ratedCurrent: number;
  private readonly nominalVoltage: number;
  private readonly tripResetMs: number;
  private readonly maintenanceThreshold: number;

  // Wire channels (ranges from the registry).
  private readonly voltageChannels: Record<Phase, Channel>;
  private readonly currentChannels: Record<Phase, Channel>;
  private readonly active: Channel;
  private readonly reactive: Channel;
  private readonly apparent: Channel;
  private readonly factor: Channel;
  private readonly frequencyChannel: Channel;
  private readonly temperatureChannel: Channel;
  private readonly groundFaultChannel: Channel;
  private readonly harmonicChannel: Channel;
  private readonly loadChannel: Channel;
  private readonly hoursChannel: Channel;
  private readonly tripCountChannel: Channel;

  // Device-specific constants.
  private readonly loadScale: number;
  private readonly hourShift: number;
  private readonly phaseOffset: Record<Phase, number>;
  private readonly voltageImbalance: Record<Phase, number>;
  private readonly ambientBase: number;

  // Slow processes.
  private readonly gridVoltage: MeanReverting;
  private readonly frequency: MeanReverting;
  private readonly loadWalk: MeanReverting;
  private readonly powerFactorWalk: MeanReverting;
  private readonly harmonicWalk: MeanReverting;
  private readonly leakageWalk: MeanReverting;

  // State.
  private temperature: number;
  private operatingHours: number;
  private tripCount: number;
  private trippedAt: number | undefined;
  private overcurrentIntegral = 0;
  private readonly overload = new Overload();
  private pendingGroundFault = false;
  private pendingArcFault = false;

  constructor(options: ModelOptions) {
    const { definition, random, settings } = options;
    this.deviceType = definition.typeId;
    this.random = random;

    const currentReading = readingAt(definition, 'current.phase_a');
    const voltageReading = readingAt(definition, 'voltage.phase_a');
    this.ratedCurrent = rating(definition, 'ratedCurrentA', currentReading?.normalRange?.max ?? 100);
    this.nominalVoltage = rating(
      definition,
      'nominalVoltageV',
      voltageReading?.normalRange
        ? (voltageReading.normalRange.min + voltageReading.normalRange.max) / 2
        : 120,
    );
    const nominalFrequency = settings?.nominalFrequencyHz ?? rating(definition, 'nominalFrequencyHz', 60);
    this.tripResetMs = settings?.tripResetMs ?? DEFAULT_TRIP_RESET_MS;
    this.maintenanceThreshold = settings?.maintenanceThresholdHours ?? DEFAULT_MAINTENANCE_THRESHOLD_HOURS;

    const maxCurrent = 2 * this.ratedCurrent;
    const maxPower = 3 * 1.25 * this.nominalVoltage * maxCurrent;
    const perPhase = <T>(make: (phase: Phase) => T): Record<Phase, T> => ({
      phase_a: make('phase_a'),
      phase_b: make('phase_b'),
      phase_c: make('phase_c'),
    });
    this.voltageChannels = perPhase((p) =>
      Channel.of(definition, `voltage.${p}`, { min: 0, max: 1.25 * this.nominalVoltage }),
    );
    this.currentChannels = perPhase((p) =>
      Channel.of(definition, `current.${p}`, { min: 0, max: maxCurrent }),
    );
    this.active = Channel.of(definition, 'power.active', { min: 0, max: maxPower });
    this.reactive = Channel.of(definition, 'power.reactive', { min: -maxPower, max: maxPower });
    this.apparent = Channel.of(definition, 'power.apparent', { min: 0, max: maxPower });
    this.factor = Channel.of(definition, 'power.factor', { min: 0, max: 1 }, 3);
    this.frequencyChannel = Channel.of(definition, 'frequency', { min: 45, max: 65 }, 3);
    this.temperatureChannel = Channel.of(definition, 'temperature', { min: -40, max: 150 });
    this.groundFaultChannel = Channel.of(
      definition,
      'protection.ground_fault_current',
      { min: 0, max: 100 },
      3,
    );
    this.harmonicChannel = Channel.of(definition, 'protection.harmonic_distortion', { min: 0, max: 100 });
    this.loadChannel = Channel.of(definition, 'operational.load_percentage', { min: 0, max: 200 });
    this.hoursChannel = Channel.of(definition, 'operational.operating_hours', { min: 0, max: 1_000_000 }, 3);
    this.tripCountChannel = Channel.of(definition, 'protection.trip_count', { min: 0, max: 1_000_000 });

    // The draws below fix the device's character; their order is part of the seed's meaning.
    this.loadScale = random.between(0.85, 1.08);
    this.hourShift = random.between(-1, 1);
    this.phaseOffset = perPhase(() => random.between(-0.05, 0.05));
    this.voltageImbalance = perPhase(() => random.between(-0.005, 0.005));
    this.ambientBase = random.between(23, 27);
    this.operatingHours = random.between(0, 9_500);
    this.tripCount = random.int(0, 3);

    this.gridVoltage = new MeanReverting(this.nominalVoltage, 0.005 * this.nominalVoltage, 600);
    this.gridVoltage.value = random.normal(this.nominalVoltage, 0.005 * this.nominalVoltage);
    this.frequency = new MeanReverting(nominalFrequency, 0.015, 90);
    this.frequency.value = random.normal(nominalFrequency, 0.015);
    this.loadWalk = new MeanReverting(1, 0.04, 300);
    this.powerFactorWalk = new MeanReverting(0, 0.004, 600);
    this.harmonicWalk = new MeanReverting(random.between(2.8, 3.6), 0.35, 1800);
    this.leakageWalk = new MeanReverting(0, 0.02, 600);

    const startLoad = this.baseLoad(options.startTime);
    this.temperature = this.ambient(options.startTime) + THERMAL_RISE_AT_RATED_K * startLoad * startLoad;

    this.faults = {
      overload: (factor, durationMs) => this.overload.start(factor, durationMs),
      groundFault: () => {
        this.pendingGroundFault = true;
      },
      arcFault: () => {
        this.pendingArcFault = true;
      },
    };
  }

  private ambient(time: number): number {
    return this.ambientBase + 2 * diurnal(hourOfDay(time), 15);
  }

  private baseLoad(time: number): number {
    return this.loadScale * breakerLoadProfile((hourOfDay(time) - this.hourShift + 24) % 24);
  }

  private tripsAt(reason: TripReason, tripCurrent: number, extra: Record<string, number>): ModelEvent {
    this.tripCount++;
    const messages: Record<TripReason, string> = {
      overcurrent: `Overcurrent trip (inverse-time) at ${tripCurrent.toFixed(1)} A`,
      ground_fault: `Ground-fault trip at ${(extra.ground_fault_current ?? 0).toFixed(1)} A residual current`,
      arc_fault: 'Arc-fault trip',
      over_temperature: `Over-temperature trip at ${(extra.temperature ?? 0).toFixed(1)} °C`,
    };
    return {
      type: 'trip',
      severity: 'critical',
      message: messages[reason],
      data: { reason, trip_current: round(tripCurrent, 2), trip_count: this.tripCount, ...extra },
    };
  }

  step(time: number): ModelStep {
    const random = this.random;
    const dt = this.clock.advance(time);
    const events: ModelEvent[] = [];

    // Slow processes advance whatever the breaker does.
    this.gridVoltage.step(random, dt);
    this.frequency.step(random, dt);
    this.loadWalk.step(random, dt);
    this.powerFactorWalk.step(random, dt);
    this.harmonicWalk.step(random, dt);
    this.leakageWalk.step(random, dt);

    // Reset after the trip delay; the breaker was open until the reset instant.
    let closedSeconds = this.trippedAt === undefined ? dt : 0;
    if (this.trippedAt !== undefined && time >= this.trippedAt + this.tripResetMs) {
      const resetAt = this.trippedAt + this.tripResetMs;
      closedSeconds = Math.max(0, (time - resetAt) / 1000);
      this.trippedAt = undefined;
      this.overcurrentIntegral = 0;
      events.push({
        type: 'reset',
        severity: 'info',
        message: 'Breaker reset and closed',
        data: { trip_count: this.tripCount },
      });
    }

    // Loads per phase (fraction of rated), the measured currents and the phase voltages.
    const closed = this.trippedAt === undefined;
    const overloadFactor = this.overload.factorAt(time);
    const base = this.baseLoad(time) * Math.min(1.12, Math.max(0.88, this.loadWalk.value));
    const currents = {} as Record<Phase, number>;
    const voltages = {} as Record<Phase, number>;
    let maxCurrent = 0;
    let heating = 0;
    let meanLoad = 0;
    for (const phase of PHASES) {
      const normal = Math.min(
        0.95,
        Math.max(0.02, base * (1 + this.phaseOffset[phase]) * (1 + random.normal(0, 0.01))),
      );
      const current = closed
        ? this.currentChannels[phase].quantize(normal * overloadFactor * this.ratedCurrent)
        : 0;
      const load = current / this.ratedCurrent;
      currents[phase] = current;
      maxCurrent = Math.max(maxCurrent, current);
      heating += (load * load) / 3;
      meanLoad += load / 3;
      const drop = 0.01 * this.nominalVoltage * Math.min(load, 2);
      voltages[phase] = this.voltageChannels[phase].quantize(
        this.gridVoltage.value +
          this.voltageImbalance[phase] * this.nominalVoltage -
          drop +
          random.normal(0, 0.05),
      );
    }

    // Thermal model (I² heating towards its steady state).
    this.temperature = firstOrder(
      this.temperature,
      this.ambient(time) + THERMAL_RISE_AT_RATED_K * heating,
      dt,
      THERMAL_TAU_S,
    );

    // Protection.
    let groundFaultCurrent = closed
      ? Math.min(0.3, Math.max(0, 0.05 + 0.15 * meanLoad + this.leakageWalk.value))
      : 0;
    let arcDetected = false;
    let trip: { reason: TripReason; extra: Record<string, number> } | undefined;
    if (closed) {
      const tripSeconds = inverseTimeSeconds(maxCurrent, this.ratedCurrent);
      if (Number.isFinite(tripSeconds)) this.overcurrentIntegral += dt / tripSeconds;
      else this.overcurrentIntegral *= Math.exp(-dt / OVERCURRENT_RESET_TAU_S);
      if (this.pendingGroundFault) {
        groundFaultCurrent = this.groundFaultChannel.quantize(random.between(6, 40));
      }
      arcDetected = this.pendingArcFault;
      const reason = tripReason({
        arcFault: arcDetected,
        groundFaultCurrent,
        overcurrentIntegral: this.overcurrentIntegral,
        temperature: this.temperature,
      });
      if (reason === 'ground_fault') trip = { reason, extra: { ground_fault_current: groundFaultCurrent } };
      else if (reason === 'over_temperature')
        trip = { reason, extra: { temperature: round(this.temperature, 2) } };
      else if (reason) trip = { reason, extra: {} };
    }
    this.pendingGroundFault = false;
    this.pendingArcFault = false;
    if (trip) {
      events.push(this.tripsAt(trip.reason, maxCurrent, trip.extra));
      this.trippedAt = time;
      this.overcurrentIntegral = 0;
      for (const phase of PHASES) currents[phase] = 0;
    }
    const isClosed = this.trippedAt === undefined;

    // Power from the published phase values: S = Σ V·I, P = S·pf, Q = √(S² − P²).
    let apparent = 0;
    for (const phase of PHASES) apparent += voltages[phase] * currents[phase];
    const powerFactor = isClosed
      ? this.factor.quantize(
          Math.min(
            0.99,
            Math.max(
              0.8,
              0.86 + 0.11 * Math.min(1, Math.max(0, (meanLoad - 0.25) / 0.7)) + this.powerFactorWalk.value,
            ),
          ),
        )
      : 1;
    const active = apparent * powerFactor;
    const reactive = Math.sqrt(Math.max(0, apparent * apparent - active * active));

    this.operatingHours += closedSeconds / 3600;
    const hours = this.hoursChannel.quantize(this.operatingHours);
    const harmonic = isClosed ? this.harmonicWalk.value + 0.8 * (1 - Math.min(1, meanLoad)) : 0;

    return {
      measurements: {
        voltage: { ...voltages },
        current: { ...currents },
        power: {
          active: this.active.quantize(active),
          reactive: this.reactive.quantize(reactive),
          apparent: this.apparent.quantize(apparent),
          factor: powerFactor,
        },
        frequency: this.frequencyChannel.quantize(this.frequency.value),
        temperature: this.temperatureChannel.quantize(this.temperature + random.normal(0, 0.05)),
        status: { breaker: isClosed ? 1 : 2, position: 1, communication: 1 },
        protection: {
          trip_count: this.tripCountChannel.quantize(this.tripCount),
          ground_fault_current: this.groundFaultChannel.quantize(groundFaultCurrent),
          arc_fault_detected: arcDetected,
          harmonic_distortion: this.harmonicChannel.quantize(
            isClosed ? Math.min(5, Math.max(2, harmonic)) : 0,
          ),
        },
        operational: {
          load_percentage: this.loadChannel.quantize(isClosed ? (maxCurrent / this.ratedCurrent) * 100 : 0),
          operating_hours: hours,
          maintenance_due: hours > this.maintenanceThreshold,
        },
      },
      events,
    };
  }
}

export const createBreakerModel = (options: ModelOptions): DeviceModel => new BreakerModel(options);
