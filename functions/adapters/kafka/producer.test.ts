import kafkajs, { type Kafka, type Producer, type ProducerConfig, type ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafka, parseBrokers, saslFor } from './client.js';
import { DEFAULT_MAX_CONNECTION_AGE_MS, isConnectionError, KafkaStreamProducer } from './producer.js';

// KafkaJS is CommonJS: its error classes come through the default import. KafkaJSConnectionClosedError
// (thrown when the broker closes the socket) is exported at runtime but missing from the typings.
const { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
const { KafkaJSConnectionClosedError } = kafkajs as unknown as {
  KafkaJSConnectionClosedError: new (message: string, details: { host: string; port: number }) => Error;
};

/** A KafkaJS stand-in that records the producer config, connects and sends. */
class FakeKafka {
  readonly configs: ProducerConfig[] = [];
  readonly sends: ProducerRecord[] = [];
  connects = 0;
  disconnects = 0;
  failConnects = 0;
  failSends = 0;
  /** Errors the next sends throw, in order (after `failSends`). */
  readonly sendErrors: Error[] = [];

  producer(config?: ProducerConfig): Producer {
    this.configs.push(config ?? {});
    return {
      connect: async () => {
        this.connects++;
        if (this.failConnects > 0) {
          this.failConnects--;
          throw new Error('connection refused');
        }
      },
      disconnect: async () => {
        this.disconnects++;
      },
      send: async (record: ProducerRecord) => {
        if (this.failSends > 0) {
          this.failSends--;
          throw new Error('NOT_LEADER_FOR_PARTITION');
        }
        const error = this.sendErrors.shift();
        if (error) throw error;
        this.sends.push(record);
        return [];
      },
    } as unknown as Producer;
  }
}

const asKafka = (fake: FakeKafka) => fake as unknown as Pick<Kafka, 'producer'>;

describe('KafkaStreamProducer', () => {
  it('sends keyed records with acks=all from an idempotent producer that never creates topics', async () => {
    // Prepare
    const fake = new FakeKafka();
    const producer = new KafkaStreamProducer({ kafka: asKafka(fake) });

    // Act
    await producer.send('iot.raw', [
      {
        key: 'env-00001',
        value: Buffer.from('{"a":1}'),
        headers: { mqtt_topic: 'dt/x/env-00001/telemetry' },
        timestamp: 1795435200250,
      },
      { key: 'meter-00001', value: new Uint8Array([0xff, 0x00]) },
    ]);

    // Assess
    expect(fake.configs).toEqual([
      { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false },
    ]);
    expect(fake.sends).toHaveLength(1);
    const [sent] = fake.sends;
    expect(sent?.topic).toBe('iot.raw');
    expect(sent?.acks).toBe(-1);
    expect(sent?.compression).toBe(kafkajs.CompressionTypes.GZIP);
    expect(sent?.messages.map((m) => m.key)).toEqual(['env-00001', 'meter-00001']);
    expect(sent?.messages[0]).toMatchObject({
      headers: { mqtt_topic: 'dt/x/env-00001/telemetry' },
      timestamp: '1795435200250',
    });
    expect(Buffer.from((sent?.messages[1]?.value ?? '') as Buffer).toJSON().data).toEqual([0xff, 0x00]);
  });

  it('connects once and reuses the connection across sends (warm invocations)', async () => {
    const fake = new FakeKafka();
    const producer = new KafkaStreamProducer({ kafka: asKafka(fake) });

    await producer.send('iot.raw', [{ key: 'a', value: Buffer.from('1') }]);
    await producer.send('iot.dlq', [{ key: 'b', value: Buffer.from('2') }]);

    expect([fake.configs.length, fake.connects, fake.sends.length]).toEqual([1, 1, 2]);
  });

  it('drops a connection whose send failed, and reconnects on the next send', async () => {
    const fake = new FakeKafka();
    fake.failSends = 1;
    const producer = new KafkaStreamProducer({ kafka: asKafka(fake) });

    await expect(producer.send('iot.raw', [{ key: 'a', value: Buffer.from('1') }])).rejects.toThrow(
      /NOT_LEADER/,
    );
    await producer.send('iot.raw', [{ key: 'a', value: Buffer.from('1') }]);

    expect([fake.connects, fake.disconnects, fake.sends.length]).toEqual([2, 1, 1]);
  });

  it('tries to connect again after a failed connect', async () => {
    const fake = new FakeKafka();
    fake.failConnects = 1;
    const producer = new KafkaStreamProducer({ kafka: asKafka(fake) });

    await expect(producer.send('iot.raw', [{ key: 'a', value: Buffer.from('1') }])).rejects.toThrow(
      /refused/,
    );
    await producer.send('iot.raw', [{ key: 'a', value: Buffer.from('1') }]);

    expect(fake.sends).toHaveLength(1);
  });

  it('sends nothing for an empty batch', async () => {
    const fake = new FakeKafka();

    await new KafkaStreamProducer({ kafka: asKafka(fake) }).send('iot.raw', []);

    expect([fake.connects, fake.sends.length]).toEqual([0, 0]);
  });

  it('can run without idempotence for brokers that refuse it', async () => {
    const fake = new FakeKafka();

    await new KafkaStreamProducer({ kafka: asKafka(fake), idempotent: false }).send('t', [
      { key: 'k', value: Buffer.from('v') },
    ]);

    expect(fake.configs[0]).toMatchObject({ idempotent: false, maxInFlightRequests: 5 });
  });
});

describe('KafkaStreamProducer and MSK IAM session expiry (KafkaJS cannot re-authenticate)', () => {
  const record = { key: 'a', value: Buffer.from('1') };
  const closed = () => new KafkaJSConnectionClosedError('Closed connection', { host: 'b-1', port: 9098 });

  it('retries a batch once on a new connection when the broker closed the old one', async () => {
    const fake = new FakeKafka();
    const producer = new KafkaStreamProducer({ kafka: asKafka(fake) });
    await producer.send('iot.raw', [record]);
    fake.sendErrors.push(closed());

    await producer.send('iot.raw', [record, { key: 'b', value: Buffer.from('2') }]);

    expect([fake.connects, fake.disconnects, fake.sends.length]).toEqual([2, 1, 2]);
    expect(fake.sends[1]?.messages.map((message) => message.key)).toEqual(['a', 'b']);
  });

  it('retries when the closed connection comes wrapped in KafkaJS retry errors', async () => {
    const fake = new FakeKafka();
    fake.sendErrors.push(new KafkaJSNumberOfRetriesExceeded(closed(), { retryCount: 5, retryTime: 100 }));

    await new KafkaStreamProducer({ kafka: asKafka(fake) }).send('iot.raw', [record]);

    expect([fake.connects, fake.sends.length]).toEqual([2, 1]);
  });

  it('retries when the broker reports the SASL session as no longer authenticated', async () => {
    const fake = new FakeKafka();
    fake.sendErrors.push(
      new KafkaJSProtocolError({
        message: 'SASL Authentication failed',
        type: 'SASL_AUTHENTICATION_FAILED',
      } as never),
    );

    await new KafkaStreamProducer({ kafka: asKafka(fake) }).send('iot.raw', [record]);

    expect(fake.sends).toHaveLength(1);
  });

  it('retries only once: a second connection failure fails the batch', async () => {
    const fake = new FakeKafka();
    fake.sendErrors.push(closed(), closed());

    await expect(new KafkaStreamProducer({ kafka: asKafka(fake) }).send('iot.raw', [record])).rejects.toThrow(
      /Closed connection/,
    );
    expect([fake.connects, fake.sends.length]).toEqual([2, 0]);
  });

  it('does not retry an error of the request itself', async () => {
    const fake = new FakeKafka();
    fake.failSends = 1;

    await expect(new KafkaStreamProducer({ kafka: asKafka(fake) }).send('iot.raw', [record])).rejects.toThrow(
      /NOT_LEADER/,
    );
    expect(fake.connects).toBe(1);
  });

  it('reconnects before sending once the connection is older than the session allows', async () => {
    let now = 1_000_000;
    const fake = new FakeKafka();
    const producer = new KafkaStreamProducer({ kafka: asKafka(fake), now: () => now });
    await producer.send('iot.raw', [record]);

    now += DEFAULT_MAX_CONNECTION_AGE_MS - 1;
    await producer.send('iot.raw', [record]);
    const beforeExpiry = [fake.connects, fake.disconnects];
    now += 1;
    await producer.send('iot.raw', [record]);

    expect(beforeExpiry).toEqual([1, 0]);
    expect([fake.connects, fake.disconnects, fake.sends.length]).toEqual([2, 1, 3]);
  });

  it('keeps the reconnection age inside the 15-minute MSK IAM token lifetime', () => {
    expect(DEFAULT_MAX_CONNECTION_AGE_MS).toBeLessThan(15 * 60_000);
  });

  it('tells connection failures from other errors', () => {
    expect(isConnectionError(closed())).toBe(true);
    expect(isConnectionError(new Error('NOT_LEADER_FOR_PARTITION'))).toBe(false);
    expect(isConnectionError('Closed connection')).toBe(false);
  });
});

describe('Kafka client options', () => {
  it('uses SASL/OAUTHBEARER with a fresh signed token per authentication for MSK IAM', async () => {
    let issued = 0;
    const sasl = saslFor({
      brokers: ['b-1:9098'],
      clientId: 'test',
      iamRegion: 'eu-west-1',
      tokenProvider: async () => `token-${++issued}`,
    });

    expect(sasl?.mechanism).toBe('oauthbearer');
    const provider = (sasl as { oauthBearerProvider: () => Promise<{ value: string }> }).oauthBearerProvider;
    expect([await provider(), await provider()]).toEqual([{ value: 'token-1' }, { value: 'token-2' }]);
  });

  it('uses neither SASL nor TLS for a plain broker (local mode, tests)', () => {
    expect(saslFor({ brokers: ['127.0.0.1:9092'], clientId: 'test' })).toBeUndefined();
    expect(() => createKafka({ brokers: ['127.0.0.1:9092'], clientId: 'test' })).not.toThrow();
  });

  it('parses a comma-separated broker list and names a malformed entry', () => {
    expect(parseBrokers(' b-1.x:9098,b-2.x:9098 ')).toEqual(['b-1.x:9098', 'b-2.x:9098']);
    expect(() => parseBrokers('b-1.x:9098,oops')).toThrow(/invalid Kafka bootstrap broker "oops"/);
    expect(() => parseBrokers(' , ')).toThrow(/no Kafka bootstrap brokers/);
  });
});

describe('partitioning', () => {
  it("puts a device on the same partition as the local log does (KafkaJS's default partitioner is Java's murmur2)", async () => {
    const { Partitioners } = (await import('kafkajs')).default;
    const { partitionForKey } = await import('../../../local/log/partitioner.js');
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));
    const partition = Partitioners.DefaultPartitioner();
    const keys = ['env-00001', 'meter-00001', 'breaker-00042', 'f2-controller-7', 'unknown'];

    const kafkaPartitions = keys.map((key) =>
      partition({ topic: 'iot.raw', partitionMetadata, message: { key, value: null } }),
    );

    expect(kafkaPartitions).toEqual(keys.map((key) => partitionForKey(key, 6)));
  });
});
