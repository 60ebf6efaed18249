/**
 * npm run kafka:broker: the integration tier's single-node Apache Kafka broker, started on its own
 * (free ports, temp dir) for trying `npm start -- --kafka-brokers` or `npm run bench:e2e --
 * --kafka-brokers` by hand. Needs the jars `npm run test:integration` fetches. Ctrl+C stops it.
 */
import { startKafkaBroker } from './broker.js';

const broker = await startKafkaBroker();
console.log(
  `Apache Kafka 4.4.0 (KRaft, one node) at ${broker.bootstrap}: started in ${Math.round(broker.startMs)} ms ` +
    `(storage format ${Math.round(broker.formatMs)} ms); log ${broker.logFile}`,
);
console.log(`  e.g. npm start -- --kafka-brokers ${broker.bootstrap}`);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  broker.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
