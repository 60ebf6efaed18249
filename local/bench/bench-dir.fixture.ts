/**
 * A bench as bench-dir.test.ts runs it: makes a bench directory with a process writing in it, prints
 * both as JSON, then waits for a signal (`interrupt`) or fails with an uncaught error (`fail`).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeBenchDir, writesInBenchDir } from './bench-dir.js';

const dir = makeBenchDir('bench-dir-fixture-');
if (process.argv[2] === 'fail') {
  console.log(JSON.stringify({ dir }));
  setTimeout(() => {
    throw new Error('the bench failed');
  }, 100);
} else {
  // Writes every 10 ms; on SIGTERM it takes 300 ms more to stop, as the platform's clean stop does.
  const writer = spawn(
    process.execPath,
    [
      '-e',
      `const file = ${JSON.stringify(join(dir, 'data'))};
       const timer = setInterval(() => require('node:fs').writeFileSync(file, String(Date.now())), 10);
       process.on('SIGTERM', () => setTimeout(() => { clearInterval(timer); process.exit(0); }, 300));
       process.on('SIGINT', () => undefined);`,
    ],
    { stdio: 'ignore' },
  );
  writesInBenchDir(writer);
  console.log(JSON.stringify({ dir, writer: writer.pid }));
  setInterval(() => undefined, 1000);
}
