import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTransport, DryRunTransport, IotCoreTransport, MqttTransport } from './index.js';
import { telemetryFor, testDevices } from './test-fixtures.js';

describe('DryRunTransport', () => {
  it('writes one JSON line { topic, payload } per message and counts it sent and acked', async () => {
    const output = new PassThrough();
    const chunks: string[] = [];
    output.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const devices = testDevices(2);
    const messages = telemetryFor(devices, 3);
    const t = new DryRunTransport(output);
    await t.connect(devices);
    for (const message of messages) await t.publish(message);
    await t.close();

    const lines = chunks.join('').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((line) => JSON.parse(line))).toEqual(
      messages.map((m) => ({ topic: m.topic, payload: m.payload })),
    );
    expect(t.counters).toEqual({ sent: 3, acked: 3, failed: 0 });
  });

  it('counts a failed write as failed', async () => {
    const broken = {
      write(_chunk: string, callback: (error?: Error | null) => void): boolean {
        callback(new Error('EPIPE'));
        return false;
      },
    };
    const t = new DryRunTransport(broken);
    const [message] = telemetryFor(testDevices(1), 1);
    if (!message) throw new Error('fixture');
    await expect(t.publish(message)).rejects.toThrow(`publish to ${message.topic} failed: EPIPE`);
    expect(t.counters).toEqual({ sent: 1, acked: 0, failed: 1 });
  });
});

describe('createTransport', () => {
  it('picks the transport from `kind`', () => {
    expect(createTransport({ kind: 'mqtt', url: 'mqtt://127.0.0.1:1883' })).toBeInstanceOf(MqttTransport);
    expect(
      createTransport({
        kind: 'iot-core',
        protocol: 'mqtt5',
        endpoint: 'example-ats.iot.eu-west-1.amazonaws.com',
        certPath: 'device.pem.crt',
        keyPath: 'private.pem.key',
      }),
    ).toBeInstanceOf(IotCoreTransport);
    expect(createTransport({ kind: 'dry-run', output: new PassThrough() })).toBeInstanceOf(DryRunTransport);
  });
});
