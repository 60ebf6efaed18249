/**
 * Transports move the simulator's messages: `mqtt` to a plain MQTT broker, `iot-core` to AWS IoT Core,
 * `dry-run` to a stream as JSON lines. `createTransport` picks one from a discriminated options object.
 */
import type { DeliveryCounters, SimMessage, Transport, TransportDevice } from '../types.js';
import { DeliveryTracker } from './counters.js';
import { IotCoreTransport, type IotCoreTransportOptions } from './iot-core-transport.js';
import { MqttTransport, type MqttTransportOptions } from './mqtt-transport.js';

export { DeliveryTracker, PublishError } from './counters.js';
export {
  type IotCoreCommonOptions,
  type IotCoreLocalTarget,
  type IotCoreMtlsTarget,
  type IotCoreProtocol,
  IotCoreTransport,
  type IotCoreTransportOptions,
} from './iot-core-transport.js';
export { type ConnectionMode, MqttTransport, type MqttTransportOptions } from './mqtt-transport.js';
export { connectionsFor, IOT_CORE_PUBLISHES_PER_SECOND_PER_CONNECTION, TokenBucket } from './pacing.js';

/** The minimal writable the dry run needs (process.stdout, a file stream, a PassThrough in tests). */
export interface LineSink {
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
}

/**
 * Publishes nothing: writes each message as one JSON line `{"topic":…,"payload":…}` (the payload kept as
 * the exact string that would be sent) and counts it as sent and acked once the stream took it.
 */
export class DryRunTransport implements Transport {
  private readonly tracker = new DeliveryTracker();

  constructor(private readonly output: LineSink = process.stdout) {}

  get counters(): Readonly<DeliveryCounters> {
    return this.tracker.counters;
  }

  async connect(_devices: readonly TransportDevice[]): Promise<void> {}

  publish(message: SimMessage): Promise<void> {
    const line = `${JSON.stringify({ topic: message.topic, payload: message.payload })}\n`;
    return this.tracker.track(message.topic, 60_000, (markSent) => {
      markSent();
      return new Promise<void>((resolve, reject) => {
        this.output.write(line, (error) => (error ? reject(error) : resolve()));
      });
    });
  }

  /** Leaves the stream open (it may be stdout). */
  async close(): Promise<void> {}
}

export type TransportOptions =
  | ({ readonly kind: 'mqtt' } & MqttTransportOptions)
  | ({ readonly kind: 'iot-core' } & IotCoreTransportOptions)
  | { readonly kind: 'dry-run'; readonly output?: LineSink };

export function createTransport(options: TransportOptions): Transport {
  switch (options.kind) {
    case 'mqtt': {
      const { kind: _kind, ...rest } = options;
      return new MqttTransport(rest);
    }
    case 'iot-core': {
      const { kind: _kind, ...rest } = options;
      return new IotCoreTransport(rest);
    }
    case 'dry-run':
      return new DryRunTransport(options.output);
  }
}
