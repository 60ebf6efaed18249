/**
 * MQTT transport over mqtt.js for a plain broker (Mosquitto, aedes, EMQX ...), MQTT 3.1.1 or 5, QoS 1.
 *
 * - per-device: one connection per device, clientId = deviceId, carrying the device's last will (QoS 1,
 *   not retained), so the broker announces a device that drops off without disconnecting.
 * - shared: a small pool of connections (`sharedConnections`, default 1) publishing for every device; no
 *   per-device will.
 *
 * Back-pressure: each connection carries at most `maxInFlight` unacknowledged publishes (and never more
 * than an MQTT 5 broker's Receive Maximum); further publishes wait for a PUBACK. Every publish has a
 * deadline (`publishTimeoutMs`) covering that wait too.
 */
import { type IClientOptions, type IConnackPacket, type MqttClient, connect as mqttConnect } from 'mqtt';
import type { DeliveryCounters, SimMessage, Transport, TransportDevice } from '../types.js';
import { DeliveryTracker, errorMessage } from './counters.js';
import { InFlightLimiter, mapWithConcurrency, sleep } from './pacing.js';

export type ConnectionMode = 'per-device' | 'shared';

export interface MqttTransportOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  readonly url: string;
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5. */
  readonly protocolVersion?: 4 | 5;
  /** Default `per-device`. */
  readonly connectionMode?: ConnectionMode;
  /** Size of the shared pool (default 1); only for `shared`. */
  readonly sharedConnections?: number;
  /** Deadline of one publish, from the call to its PUBACK (default 10 s). */
  readonly publishTimeoutMs?: number;
  /** Unacknowledged publishes per connection before publish waits (default 1000). */
  readonly maxInFlight?: number;
  /** Deadline for TCP connect + CONNACK of one connection (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Connections opened at once while connecting (default 50). */
  readonly connectConcurrency?: number;
  /**
   * Once connected, how long to wait before reconnecting a dropped connection (default 1 s; 0 = never).
   * While a connection is down its publishes fail at once. The initial connect never retries.
   */
  readonly reconnectPeriodMs?: number;
  /** MQTT keep-alive in seconds (default 60). */
  readonly keepaliveSeconds?: number;
  /** clientId prefix of shared connections: `{prefix}-{index}` (default `fleet-sim-{random}`). */
  readonly clientIdPrefix?: string;
  /** How long close() waits for in-flight publishes before giving up on them (default 5 s). */
  readonly closeTimeoutMs?: number;
  readonly username?: string;
  readonly password?: string;
  /** Errors of established connections (dropped sockets, failed reconnects); they are not thrown. */
  readonly onConnectionError?: (error: Error, clientId: string) => void;
}

interface Connection {
  readonly clientId: string;
  readonly client: MqttClient;
  readonly limiter: InFlightLimiter;
}

interface ConnectionSpec {
  readonly clientId: string;
  readonly will?: SimMessage;
}

interface ResolvedOptions {
  readonly url: string;
  readonly protocolVersion: 4 | 5;
  readonly connectionMode: ConnectionMode;
  readonly sharedConnections: number;
  readonly publishTimeoutMs: number;
  readonly maxInFlight: number;
  readonly connectTimeoutMs: number;
  readonly connectConcurrency: number;
  readonly reconnectPeriodMs: number;
  readonly keepaliveSeconds: number;
  readonly clientIdPrefix: string;
  readonly closeTimeoutMs: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly onConnectionError: ((error: Error, clientId: string) => void) | undefined;
}

export class MqttTransport implements Transport {
  private readonly tracker = new DeliveryTracker();
  private readonly byDevice = new Map<string, Connection>();
  private shared: Connection[] = [];
  private nextShared = 0;
  private state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle';
  private readonly options: ResolvedOptions;

  constructor(options: MqttTransportOptions) {
    this.options = {
      url: options.url,
      protocolVersion: options.protocolVersion ?? 4,
      connectionMode: options.connectionMode ?? 'per-device',
      sharedConnections: options.sharedConnections ?? 1,
      publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
      maxInFlight: options.maxInFlight ?? 1000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      connectConcurrency: options.connectConcurrency ?? 50,
      reconnectPeriodMs: options.reconnectPeriodMs ?? 1000,
      keepaliveSeconds: options.keepaliveSeconds ?? 60,
      clientIdPrefix: options.clientIdPrefix ?? `fleet-sim-${Math.random().toString(16).slice(2, 10)}`,
      closeTimeoutMs: options.closeTimeoutMs ?? 5000,
      username: options.username,
      password: options.password,
      onConnectionError: options.onConnectionError,
    };
    const { sharedConnections, maxInFlight, publishTimeoutMs, connectConcurrency } = this.options;
    for (const [name, value] of Object.entries({
      sharedConnections,
      maxInFlight,
      publishTimeoutMs,
      connectConcurrency,
    })) {
      if (!Number.isInteger(value) || value < 1)
        throw new RangeError(`MqttTransport: ${name} must be an integer >= 1`);
    }
  }

  get counters(): Readonly<DeliveryCounters> {
    return this.tracker.counters;
  }

  async connect(devices: readonly TransportDevice[]): Promise<void> {
    if (this.state !== 'idle') throw new Error(`MqttTransport: connect() called while ${this.state}`);
    this.state = 'connecting';
    try {
      const connections = await mapWithConcurrency(
        this.connectionSpecs(devices),
        this.options.connectConcurrency,
        (spec) => this.open(spec),
        (opened) => Promise.all(opened.map((c) => this.closeConnection(c))).then(() => undefined),
      );
      if (this.isClosed()) {
        await Promise.all(connections.map((c) => this.closeConnection(c)));
        throw new Error('MqttTransport: closed while connecting');
      }
      if (this.options.connectionMode === 'shared') {
        this.shared = connections;
      } else {
        for (const connection of connections) this.byDevice.set(connection.clientId, connection);
      }
      this.state = 'connected';
    } catch (error) {
      this.state = 'closed';
      throw error;
    }
  }

  publish(message: SimMessage): Promise<void> {
    return this.tracker.track(message.topic, this.options.publishTimeoutMs, async (markSent, deadline) => {
      const connection = this.connectionFor(message);
      if (!connection.limiter.tryAcquire()) await connection.limiter.acquire(deadline.signal);
      if (!connection.client.connected) {
        connection.limiter.release();
        throw new Error(`connection ${connection.clientId} to ${this.options.url} is down`);
      }
      markSent();
      await new Promise<void>((resolve, reject) => {
        connection.client.publish(message.topic, message.payload, { qos: 1, retain: false }, (error) => {
          connection.limiter.release();
          if (error) reject(error);
          else resolve();
        });
      });
    });
  }

  /**
   * Drops a device's connection abruptly — the socket is destroyed without DISCONNECT, so the broker
   * publishes the device's last will — and does not reconnect it; later publishes for the device fail.
   * For fault injection and tests; per-device mode only.
   */
  dropDevice(deviceId: string): void {
    const connection = this.byDevice.get(deviceId);
    if (!connection) throw new Error(`MqttTransport: device ${deviceId} has no connection of its own`);
    this.byDevice.delete(deviceId);
    connection.client.options.reconnectPeriod = 0;
    connection.limiter.rejectWaiting(new Error(`device ${deviceId} was dropped`));
    // end(true) destroys the stream without sending DISCONNECT.
    connection.client.end(true);
  }

  /** Ends every connection with DISCONNECT (so no will is published). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const connections = [...this.byDevice.values(), ...this.shared];
    this.byDevice.clear();
    this.shared = [];
    await Promise.all(connections.map((connection) => this.closeConnection(connection)));
  }

  /** Whether close() ran (it may run while connect() is still under way). */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private connectionSpecs(devices: readonly TransportDevice[]): ConnectionSpec[] {
    if (this.options.connectionMode === 'shared') {
      return Array.from({ length: this.options.sharedConnections }, (_, index) => ({
        clientId: `${this.options.clientIdPrefix}-${index}`,
      }));
    }
    const seen = new Set<string>();
    return devices.map((device) => {
      if (seen.has(device.deviceId)) throw new Error(`MqttTransport: duplicate deviceId ${device.deviceId}`);
      seen.add(device.deviceId);
      return { clientId: device.deviceId, will: device.lastWill };
    });
  }

  private connectionFor(message: SimMessage): Connection {
    if (this.state !== 'connected') throw new Error(`transport is ${this.state}, not connected`);
    if (this.options.connectionMode === 'per-device') {
      const connection = this.byDevice.get(message.deviceId);
      if (!connection) throw new Error(`device ${message.deviceId} is not connected`);
      return connection;
    }
    // Round-robin over the pool, preferring connections that are up.
    const count = this.shared.length;
    for (let i = 0; i < count; i += 1) {
      const connection = this.shared[(this.nextShared + i) % count];
      if (connection?.client.connected) {
        this.nextShared = (this.nextShared + i + 1) % count;
        return connection;
      }
    }
    const first = this.shared[0];
    if (!first) throw new Error('no shared connection');
    return first;
  }

  private open(spec: ConnectionSpec): Promise<Connection> {
    const { url, protocolVersion, connectTimeoutMs, keepaliveSeconds, username, password } = this.options;
    const clientOptions: IClientOptions = {
      clientId: spec.clientId,
      protocolVersion,
      clean: true,
      keepalive: keepaliveSeconds,
      // No retry while connecting: an unreachable broker must fail connect(), not loop forever.
      reconnectPeriod: 0,
      connectTimeout: connectTimeoutMs,
      resubscribe: false,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(spec.will
        ? { will: { topic: spec.will.topic, payload: Buffer.from(spec.will.payload), qos: 1, retain: false } }
        : {}),
    };
    let client: MqttClient;
    try {
      client = mqttConnect(url, clientOptions);
    } catch (error) {
      return Promise.reject(
        new Error(`MQTT connect to ${url} failed: ${errorMessage(error)}`, { cause: error }),
      );
    }
    return new Promise<Connection>((resolve, reject) => {
      const cleanup = (): void => {
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
      };
      const fail = (reason: string, cause?: unknown): void => {
        cleanup();
        client.on('error', () => {}); // late socket errors of the abandoned client
        client.end(true);
        reject(new Error(`MQTT connect to ${url} as ${spec.clientId} failed: ${reason}`, { cause }));
      };
      const onError = (error: Error): void => fail(errorMessage(error), error);
      const onClose = (): void => fail('connection closed before CONNACK');
      const onConnect = (connack: IConnackPacket): void => {
        cleanup();
        const receiveMaximum = connack.properties?.receiveMaximum;
        const limit = Math.min(this.options.maxInFlight, receiveMaximum ?? Number.POSITIVE_INFINITY);
        client.options.reconnectPeriod = this.options.reconnectPeriodMs;
        client.on('error', (error) => this.options.onConnectionError?.(error, spec.clientId));
        resolve({ clientId: spec.clientId, client, limiter: new InFlightLimiter(Math.max(1, limit)) });
      };
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
    });
  }

  private async closeConnection(connection: Connection): Promise<void> {
    const { client, limiter, clientId } = connection;
    client.options.reconnectPeriod = 0;
    limiter.rejectWaiting(new Error(`connection ${clientId} is closing`));
    // Let in-flight publishes finish, within reason (no point while the connection is down).
    if (client.connected) {
      const stop = new AbortController();
      const onClose = (): void => stop.abort();
      client.once('close', onClose);
      await Promise.race([
        limiter.whenIdle(),
        sleep(this.options.closeTimeoutMs, stop.signal).catch(() => {}),
      ]);
      client.off('close', onClose);
      stop.abort();
    }
    if (client.connected) {
      // end(false) waits for every outstanding PUBACK; give up on those still missing (their publishes
      // reject) so DISCONNECT goes out now. It must go out, or the broker publishes the will.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
      const ended = client.endAsync(false);
      const stuck = new AbortController();
      const gaveUp = await Promise.race([
        ended.then(() => false),
        sleep(this.options.closeTimeoutMs, stuck.signal).then(() => true),
      ]).catch(() => false);
      stuck.abort();
      // DISCONNECT was written; a broker that does not close its side must not keep us waiting.
      if (gaveUp) client.stream.destroy();
    } else {
      await client.endAsync(true).catch(() => {});
    }
  }
}
