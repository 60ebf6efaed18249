import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, mosquittoTestsEnabled, startAedes, startMosquitto } from './test-broker.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('test brokers', () => {
  it('startAedes listens on a free port and stops on close()', async () => {
    const broker = await startAedes();
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(await accepts(broker.port)).toBe(true);
    await broker.close();
    expect(await accepts(broker.port)).toBe(false);
  });

  it.skipIf(!mosquittoTestsEnabled())(
    'startMosquitto runs mosquitto on a free port and kills it on close()',
    async () => {
      const broker = await startMosquitto();
      expect(await accepts(broker.port)).toBe(true);
      await broker.close();
      expect(await accepts(broker.port)).toBe(false);
    },
  );

  it('startMosquitto explains how to install mosquitto when it is missing', async () => {
    await expect(startMosquitto({ binary: '/nonexistent/mosquitto' })).rejects.toThrow(
      /mosquitto is not installed.*apt-get install -y mosquitto/,
    );
  });

  it('freePort returns a port nothing listens on', async () => {
    expect(await accepts(await freePort())).toBe(false);
  });
});
