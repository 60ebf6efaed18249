/**
 * Smart energy meter: demand from a daily profile scaled per site, cumulative energy integrated from
 * demand over simulated time (a monotonic register), a slowly varying power factor and supply voltage.
 */
import { MeanReverting, type Random } from '../random.js';
import type { DeviceModel, ModelFaultHooks, ModelOptions, ModelStep } from '../types.js';
import { Channel, dailyBump, hourOfDay, Overload, rating, readingAt, StepClock } from './common.js';

/**
 * The site's demand over the day as a fraction of its peak: a night base, a morning rise and an
 * evening peak (UTC hours). The maximum is close to 1.
 */
export function meterDemandProfile(hour: number, eveningPeak = 19): number {
  return 0.3 + 0.3 * dailyBump(hour, 8.5, 2) + 0.68 * dailyBump(hour, eveningPeak, 2.5);
}

/** Normal demand stays below this share of the rated maximum demand (the high-demand alert sits above). */
const NORMAL_DEMAND_CAP = 0.85;

class MeterModel implements DeviceModel {
  readonly deviceType: string;
  readonly faults: ModelFaultHooks;

  private readonly random: Random;
  private readonly clock = new StepClock();
  private readonly maxDemand: number;
  private readonly peakDemand: number;
  private readonly eveningPeak: number;
  private readonly nominalVoltage: number;
  private readonly pfMean: number;

  private readonly energyChannel: Channel;
  private readonly demandChannel: Channel;
  private readonly pfChannel: Channel;
  private readonly voltageChannel: Channel;
  private readonly powerChannel: Channel;

  private readonly demandWalk: MeanReverting;
  private readonly pfWalk: MeanReverting;
  private readonly voltageWalk: MeanReverting;

  private energy: number;
  private previousDemand: number | undefined;
  private readonly overload = new Overload();

  constructor(options: ModelOptions) {
    const { definition, random } = options;
    this.deviceType = definition.typeId;
    this.random = random;

    const demandReading = readingAt(definition, 'demand');
    const voltageReading = readingAt(definition, 'voltage');
    this.maxDemand = rating(definition, 'maxDemandKw', demandReading?.normalRange?.max ?? 100);
    this.nominalVoltage = rating(
      definition,
      'nominalVoltageV',
      voltageReading?.normalRange
        ? (voltageReading.normalRange.min + voltageReading.normalRange.max) / 2
        : 240,
    );
    this.energyChannel = Channel.of(definition, 'energy', { min: 0, max: 1e8 }, 3);
    this.demandChannel = Channel.of(definition, 'demand', { min: 0, max: 2 * this.maxDemand }, 3);
    this.pfChannel = Channel.of(definition, 'power_factor', { min: 0, max: 1 }, 3);
    this.voltageChannel = Channel.of(definition, 'voltage', { min: 0, max: 1.25 * this.nominalVoltage });
    this.powerChannel = Channel.of(definition, 'power', { min: 0, max: 2000 * this.maxDemand }, 1);

    this.peakDemand = random.between(0.35, 0.8) * this.maxDemand;
    this.eveningPeak = random.between(17.5, 20.5);
    this.pfMean = random.between(0.91, 0.95);
    this.energy = random.between(1_000, 250_000);
    this.demandWalk = new MeanReverting(1, 0.06, 900);
    this.pfWalk = new MeanReverting(0, 0.015, 1800);
    this.voltageWalk = new MeanReverting(this.nominalVoltage, 0.004 * this.nominalVoltage, 600);
    this.voltageWalk.value = random.normal(this.nominalVoltage, 0.004 * this.nominalVoltage);

    this.faults = {
      overload: (factor, durationMs) => this.overload.start(factor, durationMs),
    };
  }

  step(time: number): ModelStep {
    const random = this.random;
    const dt = this.clock.advance(time);
    this.demandWalk.step(random, dt);
    this.pfWalk.step(random, dt);
    this.voltageWalk.step(random, dt);

    const profile = meterDemandProfile(hourOfDay(time), this.eveningPeak);
    const walk = Math.min(1.2, Math.max(0.8, this.demandWalk.value));
    const normal = Math.min(
      NORMAL_DEMAND_CAP * this.maxDemand,
      this.peakDemand * profile * walk * (1 + random.normal(0, 0.02)),
    );
    const demand = this.demandChannel.quantize(Math.max(0.05, normal) * this.overload.factorAt(time));

    // Energy register: trapezoidal integral of demand (kW) over the step (h).
    if (this.previousDemand !== undefined) this.energy += ((this.previousDemand + demand) / 2) * (dt / 3600);
    this.previousDemand = demand;

    const load = demand / this.maxDemand;
    const pf = Math.min(0.98, Math.max(0.88, this.pfMean + 0.02 * (load - 0.4) + this.pfWalk.value));
    const voltage = this.voltageWalk.value - 0.005 * this.nominalVoltage * Math.min(load, 1.5);

    return {
      measurements: {
        energy: this.energyChannel.quantize(this.energy),
        demand,
        power_factor: this.pfChannel.quantize(pf),
        voltage: this.voltageChannel.quantize(
          Math.min(1.01 * this.nominalVoltage, Math.max(0.99 * this.nominalVoltage, voltage)),
        ),
        power: this.powerChannel.quantize(demand * 1000),
      },
      events: [],
    };
  }
}

export const createMeterModel = (options: ModelOptions): DeviceModel => new MeterModel(options);
