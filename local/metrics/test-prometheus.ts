/**
 * Test support: a real Prometheus server (Debian's `prometheus` package; CI installs it in .ci/run),
 * started on a free port of 127.0.0.1 with a temporary configuration and storage, scraping one
 * target every second. Rejects with a clear message when prometheus is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrometheusServer {
  readonly url: string;
  /** An instant query; the result vector (or throws with Prometheus' error). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** What Prometheus wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

const BINARIES = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'];

function findPrometheus(): string | undefined {
  for (const binary of BINARIES) {
    try {
      accessSync(binary, constants.X_OK);
      return binary;
    } catch {}
  }
  return undefined;
}

/** In CI prometheus is required (a missing one fails the test); elsewhere its tests skip without it. */
export const prometheusTestsEnabled = (): boolean =>
  process.env.CI !== undefined || findPrometheus() !== undefined;

/** A port free when probed (Prometheus binds it a moment later; start retries if another took it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

export async function startPrometheus(options: {
  /** host:port of the scrape target. */
  readonly target: string;
  readonly metricsPath?: string;
  readonly startTimeoutMs?: number;
}): Promise<PrometheusServer> {
  const binary = findPrometheus();
  if (!binary)
    throw new Error(
      `prometheus is not installed (looked for ${BINARIES.join(', ')}); install it with ` +
        '`apt-get install -y prometheus` (CI does this in .ci/run)',
    );
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  await writeFile(
    configPath,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: iot-cloud',
      `    metrics_path: ${options.metricsPath ?? '/metrics'}`,
      '    static_configs:',
      `      - targets: ['${options.target}']`,
      '',
    ].join('\n'),
  );
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child, options.startTimeoutMs ?? 20_000, () => output);
    } catch (error) {
      lastError = error;
      await kill(child);
      continue;
    }
    return {
      url,
      output: () => output,
      async query(promql) {
        const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
        const body = (await response.json()) as {
          status: string;
          error?: string;
          data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        if (body.status !== 'success') throw new Error(`prometheus: ${promql}: ${body.error}`);
        return body.data?.result ?? [];
      },
      async stop() {
        await kill(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output()}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`prometheus was not ready within ${timeoutMs} ms: ${output()}`);
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
