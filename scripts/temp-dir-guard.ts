/**
 * vitest setup file (vitest.config.ts and vitest.integration.config.ts): each test file runs with a
 * temp directory of its own as TMPDIR, and fails if it leaves anything in it.
 *
 * Why: test runs used to leave hundreds of MB in the OS temp dir each time (CDK cloud assemblies of
 * about 90 MB, platform data directories), which filled the disk of whoever ran the tests often.
 * Why a directory per file: comparing the shared temp dir before and after a file would be flaky, since
 * files run in parallel and other runs on the machine share it. What is in this file's own directory
 * when its tests end was created by this file's process or a child it spawned, so the check is exact.
 *
 * os.tmpdir() reads TMPDIR at each call and child processes inherit it, so what libraries create there
 * is caught as well (aws-cdk-lib puts the assembly of an App without `outdir` in `cdk.outXXXXXX`). The
 * directory is removed whether the check passes or not, and also when the file never gets to the end
 * of its tests (an import that failed, a run cancelled with Ctrl+C).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aroundAll } from 'vitest';

/** Entries that are caches, not leftovers: tsx's transform cache, made by `node --import tsx` children. */
const CACHES = [/^tsx-/];
/** A child process stopped in an afterAll may still be removing its own files for a moment. */
const SETTLE_MS = 2_000;

// Set at import, before the test file is collected: a temp dir made at a test file's top level lands here too.
const fileTempDir = mkdtempSync(join(tmpdir(), 'vitest-file-'));
// TMPDIR on Linux and macOS; Node reads TMP and TEMP on Windows.
for (const name of ['TMPDIR', 'TMP', 'TEMP']) process.env[name] = fileTempDir;
const removeFileTempDir = () => rmSync(fileTempDir, { recursive: true, force: true });

// The ends that skip the hooks below: a file whose import failed (vitest then stops the worker with
// SIGTERM, which runs no 'exit' handler) and a run cancelled with Ctrl+C. The signal is raised again
// once the directory is gone, so the worker still ends as it would have.
const endings = {
  exit: () => removeFileTempDir(),
  SIGTERM: () => removedThenRaised('SIGTERM'),
  SIGINT: () => removedThenRaised('SIGINT'),
};
function removedThenRaised(signal: NodeJS.Signals): void {
  try {
    removeFileTempDir();
  } finally {
    process.kill(process.pid, signal);
  }
}
for (const [event, listener] of Object.entries(endings)) process.once(event, listener);

/** What the file left, after up to SETTLE_MS for stragglers to go. */
async function leftovers(): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const left = readdirSync(fileTempDir)
      .filter((entry) => !CACHES.some((cache) => cache.test(entry)))
      .sort();
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// aroundAll, not afterAll: its end runs after every afterAll of the file, even one that threw.
aroundAll(async (runSuite) => {
  await runSuite();
  const left = await leftovers();
  removeFileTempDir();
  for (const [event, listener] of Object.entries(endings)) process.off(event, listener);
  if (left.length > 0) {
    throw new Error(
      `this test file left ${left.join(', ')} in the temp dir: remove what a test creates when it is ` +
        'done (afterAll/afterEach or onTestFinished with rm(dir, { recursive: true, force: true }))',
    );
  }
}, 30_000);
