/**
 * Battery-powered environmental sensor: a diurnal air temperature (warmest mid-afternoon) with weather
 * noise, relative humidity from a slowly varying dew point (so it falls as the air warms), barometric
 * pressure drifting with the weather plus the small semi-diurnal tide, and a slowly draining battery.
 */
import { MeanReverting, type Random } from '../random.js';
import type { DeviceModel, ModelOptions, ModelStep } from '../types.js';
import { Channel, diurnal, hourOfDay, readingAt, StepClock } from './common.js';

/** Magnus formula: saturation vapour pressure (hPa) at `celsius`. */
const saturationVapourPressure = (celsius: number): number =>
  6.1094 * Math.exp((17.625 * celsius) / (243.04 + celsius));

/** Relative humidity (%) of air at `temperature` with dew point `dewPoint`. */
export const relativeHumidity = (temperature: number, dewPoint: number): number =>
  (100 * saturationVapourPressure(dewPoint)) / saturationVapourPressure(temperature);

class EnvironmentalModel implements DeviceModel {
  readonly deviceType: string;

  private readonly random: Random;
  private readonly clock = new StepClock();
  private readonly meanTemperature: number;
  private readonly amplitude: number;
  private readonly dischargePerHour: number;

  private readonly temperatureChannel: Channel;
  private readonly humidityChannel: Channel;
  private readonly pressureChannel: Channel;
  private readonly batteryChannel: Channel | undefined;

  private readonly weather: MeanReverting;
  private readonly dewPoint: MeanReverting;
  private readonly pressure: MeanReverting;
  private battery: number;

  constructor(options: ModelOptions) {
    const { definition, random } = options;
    this.deviceType = definition.typeId;
    this.random = random;
    this.temperatureChannel = Channel.of(definition, 'temperature', { min: -40, max: 85 });
    this.humidityChannel = Channel.of(definition, 'humidity', { min: 0, max: 100 });
    this.pressureChannel = Channel.of(definition, 'pressure', { min: 300, max: 1100 });
    const batteryReading = readingAt(definition, 'battery');
    this.batteryChannel = batteryReading
      ? new Channel('battery', batteryReading, { min: 0, max: 100 })
      : undefined;

    this.meanTemperature = random.between(8, 20);
    this.amplitude = random.between(4, 8);
    this.weather = new MeanReverting(0, 1.2, 6 * 3600);
    this.weather.value = random.normal(0, 1.2);
    const spread = random.between(3, 9);
    this.dewPoint = new MeanReverting(this.meanTemperature - spread, 1.5, 8 * 3600);
    this.dewPoint.value = random.normal(this.meanTemperature - spread, 1.5);
    this.pressure = new MeanReverting(1013, 7, 2 * 24 * 3600);
    this.pressure.value = random.normal(1013, 7);
    this.battery = random.between(15, 100);
    // 0.5 to 2.2 % a month.
    this.dischargePerHour = random.between(0.5, 2.2) / (30 * 24);
  }

  step(time: number): ModelStep {
    const random = this.random;
    const dt = this.clock.advance(time);
    this.weather.step(random, dt);
    this.dewPoint.step(random, dt);
    this.pressure.step(random, dt);

    const hour = hourOfDay(time);
    const temperature = this.meanTemperature + this.amplitude * diurnal(hour, 15) + this.weather.value;
    const reported = this.temperatureChannel.quantize(temperature + random.normal(0, 0.05));
    const humidity = Math.min(
      100,
      Math.max(5, relativeHumidity(temperature, this.dewPoint.value) + random.normal(0, 0.3)),
    );
    // Weather drift plus the semi-diurnal atmospheric tide (about ±0.6 hPa, maxima near 10:00 and 22:00).
    const tide = 0.6 * Math.cos((4 * Math.PI * (hour - 10)) / 24);
    const pressure = Math.min(1040, Math.max(980, this.pressure.value + tide));
    this.battery = Math.max(
      this.batteryChannel?.min ?? 0,
      this.battery - (this.dischargePerHour * dt) / 3600,
    );

    return {
      measurements: {
        temperature: reported,
        humidity: this.humidityChannel.quantize(humidity),
        pressure: this.pressureChannel.quantize(pressure),
        ...(this.batteryChannel ? { battery: this.batteryChannel.quantize(this.battery) } : {}),
      },
      events: [],
    };
  }
}

export const createEnvironmentalModel = (options: ModelOptions): DeviceModel =>
  new EnvironmentalModel(options);
