/**
 * The temp-dir guard (scripts/temp-dir-guard.ts) through a real vitest run of the fixtures in
 * scripts/temp-dir-guard/: a file that leaves an entry fails and names it, a file that cleans up
 * passes, and the run leaves nothing in its TMPDIR, not even for a file whose own cleanup never ran or
 * that failed at import.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface JsonReport {
  testResults: { name: string; status: string; message: string }[];
}

let runTempDir: string;
let reportDir: string;
let exitCode: number | null;
let results: Map<string, { status: string; message: string }>;

beforeAll(async () => {
  runTempDir = await mkdtemp(join(tmpdir(), 'guarded-run-'));
  reportDir = await mkdtemp(join(tmpdir(), 'guarded-run-report-'));
  const report = join(reportDir, 'report.json');
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--config',
      'scripts/temp-dir-guard/vitest.config.ts',
      '--reporter=json',
      `--outputFile=${report}`,
    ],
    { cwd: ROOT, env: { ...process.env, TMPDIR: runTempDir }, stdio: 'ignore' },
  );
  exitCode = await new Promise((resolve) => child.once('exit', resolve));
  const { testResults } = JSON.parse(await readFile(report, 'utf8')) as JsonReport;
  results = new Map(testResults.map(({ name, status, message }) => [basename(name), { status, message }]));
}, 120_000);

afterAll(async () => {
  await rm(runTempDir, { recursive: true, force: true });
  await rm(reportDir, { recursive: true, force: true });
});

describe('temp-dir guard', () => {
  it('fails a file that leaves entries, naming each, also one made at import', () => {
    const leaking = results.get('leaves-a-dir.fixture.ts');

    expect(exitCode).toBe(1);
    expect(leaking?.status).toBe('failed');
    expect(leaking?.message).toMatch(
      /^this test file left left-behind-\w{6}, made-at-import-\w{6} in the temp dir: remove/,
    );
  });

  it('passes a file that removes what it made (tsx cache aside)', () => {
    expect(results.get('cleans-up.fixture.ts')).toEqual({ status: 'passed', message: '' });
  });

  it("leaves nothing in the run's TMPDIR, also where a file's cleanup or collection failed", async () => {
    expect(results.get('fails-before-cleanup.fixture.ts')?.status).toBe('failed');
    expect(results.get('fails-at-import.fixture.ts')?.status).toBe('failed');
    expect(await readdir(runTempDir)).toEqual([]);
  });
});
