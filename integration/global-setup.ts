/**
 * vitest globalSetup of the integration tier (vitest.integration.config.ts): starts the Apache Kafka
 * broker and moto's AWS API server side by side, hands their addresses to the tests (`inject`), and
 * stops both after the run. When a test failed, their temp dirs are kept and the log paths printed.
 */
import type { TestProject } from 'vitest/node';
import { type MotoServer, startMotoServer } from './aws/moto.js';
import { type KafkaBroker, startKafkaBroker } from './kafka/broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port` of the test broker's PLAINTEXT listener. */
    kafkaBrokers: string;
    /** `http://127.0.0.1:port` of moto's server. */
    awsEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const [kafka, moto] = await Promise.allSettled([startKafkaBroker(), startMotoServer()]);
  if (kafka.status === 'rejected' || moto.status === 'rejected') {
    if (kafka.status === 'fulfilled') await kafka.value.stop(true);
    if (moto.status === 'fulfilled') await moto.value.stop(true);
    const reasons = [kafka, moto].flatMap((result) =>
      result.status === 'rejected' ? [String(result.reason)] : [],
    );
    throw new Error(`integration peers did not start: ${reasons.join('; ')}`);
  }
  const broker: KafkaBroker = kafka.value;
  const aws: MotoServer = moto.value;
  console.log(
    `integration peers: Kafka 4.4.0 at ${broker.bootstrap} (storage format ${Math.round(broker.formatMs)} ms, ` +
      `broker start ${Math.round(broker.startMs)} ms); moto at ${aws.endpoint} (start ${Math.round(aws.startMs)} ms)`,
  );
  project.provide('kafkaBrokers', broker.bootstrap);
  project.provide('awsEndpoint', aws.endpoint);

  return async () => {
    const failed =
      project.vitest.state.getCountOfFailedTests() > 0 || process.env.KEEP_INTEGRATION_LOGS === '1';
    await Promise.all([broker.stop(failed), aws.stop(failed)]);
    if (failed) console.log(`integration peers' logs kept: ${broker.logFile} and ${aws.logFile}`);
  };
}
