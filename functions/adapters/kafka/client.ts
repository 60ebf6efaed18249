/**
 * One place that builds a KafkaJS client: MSK with IAM (SASL/OAUTHBEARER over TLS, tokens signed by
 * AWS's `aws-msk-iam-sasl-signer-js`) or a plain broker (local mode's `--kafka-brokers`, tests).
 *
 * Why KafkaJS 2.2.4 + the AWS signer rather than @platformatic/kafka: the signer's documented use is
 * exactly KafkaJS's `oauthBearerProvider`, the pairing is the one AWS's MSK samples run in Lambda, it
 * is pure JavaScript (no native build, bundles with esbuild), and it has the idempotent producer and
 * the admin calls the topic custom resource needs. KafkaJS has had no release since 2023; the
 * adapter keeps it behind `StreamProducer`, so a later switch touches only this folder.
 */
import kafkajs, { type Kafka, type KafkaConfig, type SASLOptions } from 'kafkajs';

// KafkaJS is CommonJS: its runtime values come through the default import under Node's ESM loader.
const { Kafka: KafkaClient, logLevel } = kafkajs;

export interface KafkaConnectionOptions {
  /** `host:port` of each bootstrap broker. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  /**
   * MSK IAM: the region the auth token is signed for. Left out, the client connects without SASL
   * (and without TLS unless `ssl` says so): a local or test broker.
   */
  readonly iamRegion?: string;
  /** TLS; defaults to on with IAM (MSK's IAM listener, port 9098, is TLS only) and off without. */
  readonly ssl?: boolean;
  /** Replaces the signer (tests). Returns the OAUTHBEARER token. */
  readonly tokenProvider?: () => Promise<string>;
  /** Connection and request timeouts, ms. */
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** Parses `KAFKA_BOOTSTRAP_BROKERS` (comma-separated `host:port`); throws naming what is wrong. */
export function parseBrokers(value: string): string[] {
  const brokers = value
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0);
  if (brokers.length === 0) throw new Error('no Kafka bootstrap brokers given');
  for (const broker of brokers) {
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(broker)) {
      throw new Error(`invalid Kafka bootstrap broker "${broker}": expected host:port`);
    }
  }
  return brokers;
}

/** The MSK IAM auth token from the Lambda's own credentials (the default provider chain). */
async function signedToken(region: string): Promise<string> {
  // Loaded on first use: plain-broker mode never pays for the signer and its SDK clients.
  const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
  const { token } = await generateAuthToken({ region });
  return token;
}

export function saslFor(options: KafkaConnectionOptions): SASLOptions | undefined {
  const region = options.iamRegion;
  if (region === undefined) return undefined;
  const token = options.tokenProvider ?? (() => signedToken(region));
  return {
    mechanism: 'oauthbearer',
    // Called on every (re)authentication, so a token never outlives its 15 minutes.
    oauthBearerProvider: async () => ({ value: await token() }),
  };
}

export function createKafka(options: KafkaConnectionOptions): Kafka {
  const sasl = saslFor(options);
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    ssl: options.ssl ?? sasl !== undefined,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: options.connectionTimeoutMs ?? 5_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Errors reach the caller as rejections; KafkaJS's own console logger would bypass Powertools.
    logLevel: logLevel.NOTHING,
  };
  return new KafkaClient(config);
}
