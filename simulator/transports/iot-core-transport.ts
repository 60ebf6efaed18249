/**
 * AWS IoT Core transport over aws-iot-device-sdk-v2 (aws-crt): mTLS to the account's data endpoint, MQTT 5
 * or 3.1.1, QoS 1.
 *
 * - per-device: one connection per device, clientId = deviceId, carrying the device's last will.
 * - shared: ceil(messagesPerSecond / 100) connections, because IoT Core allows 100 publishes per second
 *   per connection; each connection is paced to that rate with a token bucket (per-device connections
 *   are paced the same way).
 *
 * Testing: mTLS needs IoT Core itself (or a Mosquitto with TLS and client certificates), which the tests
 * here do not set up. `insecureLocalBroker` instead connects the SDK's client over plain TCP to a local
 * broker, so the same connect/publish/ack/counter code runs for real: MQTT 3.1.1 against aedes, MQTT 5
 * against Mosquitto (aedes speaks no MQTT 5). Never use it against IoT Core.
 *
 * Known aws-crt behaviour: a started MQTT 5 client keeps the Node process alive after stop() and close()
 * until the client object is garbage-collected (awslabs/aws-crt-nodejs#600), so a CLI using protocol
 * `mqtt5` should exit explicitly once close() has resolved. MQTT 3.1.1 connections do not have this.
 */
import { io, iot, mqtt, mqtt5 } from 'aws-iot-device-sdk-v2';
import type { DeliveryCounters, SimMessage, Transport, TransportDevice } from '../types.js';
import { contextError, DeliveryTracker, errorMessage } from './counters.js';
import {
  connectionsFor,
  IOT_CORE_PUBLISHES_PER_SECOND_PER_CONNECTION,
  mapWithConcurrency,
  sleep,
  TokenBucket,
} from './pacing.js';

export type IotCoreProtocol = 'mqtt5' | 'mqtt311';

export interface IotCoreCommonOptions {
  /** Default `mqtt5`. */
  readonly protocol?: IotCoreProtocol;
  /** Default `per-device`. */
  readonly connectionMode?: 'per-device' | 'shared';
  /** Expected total publish rate; sizes the shared pool (default 100 → one connection). */
  readonly messagesPerSecond?: number;
  /** Pacing of each connection (default 100, IoT Core's per-connection limit). */
  readonly publishesPerSecondPerConnection?: number;
  /** Deadline of one publish, including pacing, from the call to its PUBACK (default 10 s). */
  readonly publishTimeoutMs?: number;
  /** Deadline for connect + CONNACK of one connection (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Connections opened at once while connecting (default 50). */
  readonly connectConcurrency?: number;
  /** MQTT keep-alive in seconds (default 60). */
  readonly keepAliveSeconds?: number;
  /** clientId prefix of shared connections: `{prefix}-{index}` (default `fleet-sim-{random}`). */
  readonly clientIdPrefix?: string;
  /** How long close() waits for one connection to disconnect (default 5 s). */
  readonly closeTimeoutMs?: number;
  /** Errors of established connections (interruptions, failed reconnects); they are not thrown. */
  readonly onConnectionError?: (error: Error, clientId: string) => void;
}

/** The real thing: IoT Core's data endpoint with the device certificate. */
export interface IotCoreMtlsTarget {
  /** `xxxxxxxx-ats.iot.{region}.amazonaws.com` */
  readonly endpoint: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** Root CA file; the system trust store when absent. */
  readonly caPath?: string;
  /** Default 8883. */
  readonly port?: number;
  /**
   * One certificate per device (per-device mode), as `npm run provision` writes them: the least-privilege
   * device policy lets a certificate connect only as its own thing and publish only on its own topics.
   * Devices not in the map use certPath and keyPath.
   */
  readonly deviceCredentials?: ReadonlyMap<string, { readonly certPath: string; readonly keyPath: string }>;
  readonly insecureLocalBroker?: undefined;
}

/** Tests only: plain TCP, no TLS, to a local broker. */
export interface IotCoreLocalTarget {
  readonly insecureLocalBroker: { readonly host: string; readonly port: number };
  readonly endpoint?: undefined;
  readonly certPath?: undefined;
  readonly keyPath?: undefined;
  readonly caPath?: undefined;
  readonly port?: undefined;
  readonly deviceCredentials?: undefined;
}

export type IotCoreTransportOptions = IotCoreCommonOptions & (IotCoreMtlsTarget | IotCoreLocalTarget);

/** One SDK connection, whichever protocol. */
interface CrtConnection {
  readonly clientId: string;
  readonly connected: boolean;
  readonly bucket: TokenBucket;
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

interface ConnectionSpec {
  readonly clientId: string;
  readonly will?: SimMessage;
}

export class IotCoreTransport implements Transport {
  private readonly tracker = new DeliveryTracker();
  private readonly byDevice = new Map<string, CrtConnection>();
  private shared: CrtConnection[] = [];
  private nextShared = 0;
  private state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle';
  private mqtt311Client: mqtt.MqttClient | undefined;
  private readonly protocol: IotCoreProtocol;
  private readonly mode: 'per-device' | 'shared';
  private readonly publishTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly perConnectionRate: number;
  private readonly clientIdPrefix: string;

  constructor(private readonly options: IotCoreTransportOptions) {
    this.protocol = options.protocol ?? 'mqtt5';
    this.mode = options.connectionMode ?? 'per-device';
    this.publishTimeoutMs = options.publishTimeoutMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.perConnectionRate =
      options.publishesPerSecondPerConnection ?? IOT_CORE_PUBLISHES_PER_SECOND_PER_CONNECTION;
    this.clientIdPrefix = options.clientIdPrefix ?? `fleet-sim-${Math.random().toString(16).slice(2, 10)}`;
    if (!options.insecureLocalBroker && !(options.endpoint && options.certPath && options.keyPath)) {
      throw new Error('IotCoreTransport: endpoint, certPath and keyPath are required');
    }
  }

  /** The certificate a connection presents: the device's own when provisioned, else the shared one. */
  private credentialsFor(clientId: string): { certPath?: string; keyPath?: string } {
    return (
      this.options.deviceCredentials?.get(clientId) ?? {
        certPath: this.options.certPath,
        keyPath: this.options.keyPath,
      }
    );
  }

  get counters(): Readonly<DeliveryCounters> {
    return this.tracker.counters;
  }

  /** Where the connections go, for messages. */
  get target(): string {
    const local = this.options.insecureLocalBroker;
    return local ? `${local.host}:${local.port} (insecure, local)` : `${this.options.endpoint}:${this.port}`;
  }

  async connect(devices: readonly TransportDevice[]): Promise<void> {
    if (this.state !== 'idle') throw new Error(`IotCoreTransport: connect() called while ${this.state}`);
    this.state = 'connecting';
    try {
      const specs = this.connectionSpecs(devices);
      const connections = await mapWithConcurrency(
        specs,
        this.options.connectConcurrency ?? 50,
        (spec) => this.open(spec),
        (opened) => Promise.all(opened.map((c) => c.close().catch(() => {}))).then(() => undefined),
      );
      if (this.isClosed()) {
        await Promise.all(connections.map((c) => c.close().catch(() => {})));
        throw new Error('IotCoreTransport: closed while connecting');
      }
      if (this.mode === 'shared') this.shared = connections;
      else for (const connection of connections) this.byDevice.set(connection.clientId, connection);
      this.state = 'connected';
    } catch (error) {
      this.state = 'closed';
      throw error;
    }
  }

  publish(message: SimMessage): Promise<void> {
    return this.tracker.track(message.topic, this.publishTimeoutMs, async (markSent, deadline) => {
      const connection = this.connectionFor(message);
      const wait = connection.bucket.reserve();
      if (wait > 0) await sleep(wait, deadline.signal);
      if (!connection.connected)
        throw new Error(`connection ${connection.clientId} to ${this.target} is down`);
      markSent();
      await connection.publish(message.topic, message.payload);
    });
  }

  /** Disconnects every connection cleanly (DISCONNECT is sent, so no will is published). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const connections = [...this.byDevice.values(), ...this.shared];
    this.byDevice.clear();
    this.shared = [];
    await Promise.all(connections.map((connection) => connection.close().catch(() => {})));
    this.mqtt311Client = undefined;
  }

  /** Whether close() ran (it may run while connect() is still under way). */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private get port(): number {
    return this.options.insecureLocalBroker?.port ?? this.options.port ?? 8883;
  }

  private connectionSpecs(devices: readonly TransportDevice[]): ConnectionSpec[] {
    if (this.mode === 'shared') {
      const count = connectionsFor(
        this.options.messagesPerSecond ?? this.perConnectionRate,
        this.perConnectionRate,
      );
      return Array.from({ length: count }, (_, index) => ({ clientId: `${this.clientIdPrefix}-${index}` }));
    }
    const seen = new Set<string>();
    return devices.map((device) => {
      if (seen.has(device.deviceId))
        throw new Error(`IotCoreTransport: duplicate deviceId ${device.deviceId}`);
      seen.add(device.deviceId);
      return { clientId: device.deviceId, will: device.lastWill };
    });
  }

  private connectionFor(message: SimMessage): CrtConnection {
    if (this.state !== 'connected') throw new Error(`transport is ${this.state}, not connected`);
    if (this.mode === 'per-device') {
      const connection = this.byDevice.get(message.deviceId);
      if (!connection) throw new Error(`device ${message.deviceId} is not connected`);
      return connection;
    }
    const count = this.shared.length;
    for (let i = 0; i < count; i += 1) {
      const connection = this.shared[(this.nextShared + i) % count];
      if (connection?.connected) {
        this.nextShared = (this.nextShared + i + 1) % count;
        return connection;
      }
    }
    const first = this.shared[0];
    if (!first) throw new Error('no shared connection');
    return first;
  }

  private async open(spec: ConnectionSpec): Promise<CrtConnection> {
    const context = `IoT Core connect to ${this.target} as ${spec.clientId} (${this.protocol}) failed`;
    try {
      return this.protocol === 'mqtt5' ? await this.openMqtt5(spec) : await this.openMqtt311(spec);
    } catch (error) {
      throw contextError(context, error);
    }
  }

  private newBucket(): TokenBucket {
    return new TokenBucket(this.perConnectionRate, 1);
  }

  private async openMqtt311(spec: ConnectionSpec): Promise<CrtConnection> {
    const keepAlive = this.options.keepAliveSeconds ?? 60;
    const will = spec.will
      ? new mqtt.MqttWill(spec.will.topic, mqtt.QoS.AtLeastOnce, spec.will.payload, false)
      : undefined;
    const local = this.options.insecureLocalBroker;
    let config: mqtt.MqttConnectionConfig;
    if (local) {
      config = {
        client_id: spec.clientId,
        host_name: local.host,
        port: local.port,
        clean_session: true,
        keep_alive: keepAlive,
        // The SDK gives up on an unacknowledged publish too (publish() has already rejected by then).
        protocol_operation_timeout: this.publishTimeoutMs,
        socket_options: new io.SocketOptions(
          io.SocketType.STREAM,
          io.SocketDomain.IPV4,
          this.connectTimeoutMs,
        ),
        ...(will ? { will } : {}),
      };
    } else {
      const { endpoint, caPath } = this.options;
      const { certPath, keyPath } = this.credentialsFor(spec.clientId);
      if (!endpoint || !certPath || !keyPath) throw new Error('endpoint, certPath and keyPath are required');
      const builder = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(certPath, keyPath)
        .with_endpoint(endpoint)
        .with_port(this.port)
        .with_client_id(spec.clientId)
        .with_clean_session(true)
        .with_keep_alive_seconds(keepAlive)
        .with_protocol_operation_timeout_ms(this.publishTimeoutMs)
        .with_socket_options(
          new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, this.connectTimeoutMs),
        );
      if (caPath) builder.with_certificate_authority_from_path(undefined, caPath);
      if (will) builder.with_will(will);
      // The TLS context, and with it the certificate and key files, is loaded here.
      config = loadCertificate(certPath, keyPath, () => builder.build());
    }
    this.mqtt311Client ??= new mqtt.MqttClient();
    const connection = this.mqtt311Client.new_connection(config);
    let connected = false;
    const report = (error: unknown): void =>
      this.options.onConnectionError?.(contextError(spec.clientId, error), spec.clientId);
    connection.on('error', report);
    connection.on('interrupt', (error) => {
      connected = false;
      report(error);
    });
    connection.on('resume', () => {
      connected = true;
    });
    const disconnect = async (): Promise<void> => {
      connected = false;
      await withDeadline(connection.disconnect(), this.closeTimeoutMs, 'disconnect').catch(() => {});
    };
    try {
      await withDeadline(connection.connect(), this.connectTimeoutMs, 'CONNACK');
    } catch (error) {
      await disconnect();
      throw error;
    }
    connected = true;
    return {
      clientId: spec.clientId,
      bucket: this.newBucket(),
      get connected() {
        return connected;
      },
      publish: async (topic, payload) => {
        try {
          await connection.publish(topic, payload, mqtt.QoS.AtLeastOnce, false);
        } catch (error) {
          // aws-crt may reject with a plain string; keep the reason readable.
          throw new Error(errorMessage(error), { cause: error });
        }
      },
      close: disconnect,
    };
  }

  private async openMqtt5(spec: ConnectionSpec): Promise<CrtConnection> {
    const connectProperties: mqtt5.ConnectPacket = {
      clientId: spec.clientId,
      keepAliveIntervalSeconds: this.options.keepAliveSeconds ?? 60,
      ...(spec.will
        ? {
            will: {
              topicName: spec.will.topic,
              payload: spec.will.payload,
              qos: mqtt5.QoS.AtLeastOnce,
              retain: false,
            },
          }
        : {}),
    };
    const local = this.options.insecureLocalBroker;
    let config: mqtt5.Mqtt5ClientConfig;
    if (local) {
      config = {
        hostName: local.host,
        port: local.port,
        connectProperties,
        sessionBehavior: mqtt5.ClientSessionBehavior.Clean,
        connackTimeoutMs: this.connectTimeoutMs,
        offlineQueueBehavior: mqtt5.ClientOperationQueueBehavior.FailAllOnDisconnect,
        ackTimeoutSeconds: Math.ceil(this.publishTimeoutMs / 1000),
        socketOptions: new io.SocketOptions(
          io.SocketType.STREAM,
          io.SocketDomain.IPV4,
          this.connectTimeoutMs,
        ),
      };
    } else {
      const { endpoint, caPath } = this.options;
      const { certPath, keyPath } = this.credentialsFor(spec.clientId);
      if (!endpoint || !certPath || !keyPath) throw new Error('endpoint, certPath and keyPath are required');
      const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
        endpoint,
        certPath,
        keyPath,
      )
        .withPort(this.port)
        .withConnectProperties(connectProperties)
        .withSessionBehavior(mqtt5.ClientSessionBehavior.Clean)
        .withConnackTimeoutMs(this.connectTimeoutMs)
        .withOfflineQueueBehavior(mqtt5.ClientOperationQueueBehavior.FailAllOnDisconnect)
        .withAckTimeoutSeconds(Math.ceil(this.publishTimeoutMs / 1000))
        .withSocketOptions(
          new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, this.connectTimeoutMs),
        );
      if (caPath) builder.withCertificateAuthorityFromPath(undefined, caPath);
      // The TLS context, and with it the certificate and key files, is loaded here.
      config = loadCertificate(certPath, keyPath, () => builder.build());
    }
    const client = new mqtt5.Mqtt5Client(config);
    let connected = false;
    let closed = false;
    const report = (error: unknown): void =>
      this.options.onConnectionError?.(contextError(spec.clientId, error), spec.clientId);
    client.on('error', report);
    client.on('connectionSuccess', () => {
      connected = true;
    });
    client.on('disconnection', (event) => {
      connected = false;
      if (!closed) report(event.error);
    });
    const shutdown = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      connected = false;
      const stopped = new Promise<void>((resolve) => client.once('stopped', () => resolve()));
      try {
        client.stop();
        await withDeadline(stopped, this.closeTimeoutMs, 'stop').catch(() => {});
      } finally {
        client.close();
      }
    };
    const firstResult = new Promise<void>((resolve, reject) => {
      client.once('connectionSuccess', () => resolve());
      // The client would retry forever; the first failure fails connect().
      client.once('connectionFailure', (event) => reject(event.error));
    });
    client.start();
    try {
      await withDeadline(firstResult, this.connectTimeoutMs + 1000, 'CONNACK');
    } catch (error) {
      await shutdown();
      throw error;
    }
    connected = true;
    return {
      clientId: spec.clientId,
      bucket: this.newBucket(),
      get connected() {
        return connected;
      },
      publish: async (topicName, payload) => {
        let result: mqtt5.PublishCompletionResult;
        try {
          result = await client.publish({ topicName, payload, qos: mqtt5.QoS.AtLeastOnce });
        } catch (error) {
          throw new Error(errorMessage(error), { cause: error });
        }
        if (!result) throw new Error('no PUBACK');
        if (!mqtt5.isSuccessfulPubackReasonCode(result.reasonCode)) {
          const reason = mqtt5.PubackReasonCode[result.reasonCode] ?? String(result.reasonCode);
          throw new Error(`PUBACK reason ${reason}${result.reasonString ? `: ${result.reasonString}` : ''}`);
        }
      },
      close: shutdown,
    };
  }
}

/** Runs an SDK builder that reads the device certificate, naming the files when that fails. */
function loadCertificate<T>(certPath: string, keyPath: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw contextError(`cannot load certificate ${certPath} with key ${keyPath}`, error);
  }
}

/** Resolves or rejects with `promise`, or rejects once `ms` passed. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const abort = new AbortController();
  const expired = sleep(ms, abort.signal).then(() => {
    throw new Error(`no ${what} within ${ms} ms`);
  });
  // The abort after the race settles only stops the timer; the race ignores its rejection.
  return Promise.race([promise, expired]).finally(() => abort.abort());
}
