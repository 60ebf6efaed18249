/**
 * Builds the dashboard into dashboard/dist/: app-{hash}.js (TypeScript bundled and minified by esbuild),
 * app-{hash}.css (with uPlot's stylesheet), index.html naming them, and the local config.json.
 * In AWS the CDK stack deploys the same files and writes its own config.json.
 *
 *   npm run build:dashboard            (npm start runs it first)
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { DashboardConfig } from './config-shape.js';
import { DASHBOARD_DIST_DIR } from './dist-dir.js';

export const DASHBOARD_SOURCE_DIR = import.meta.dirname;
export { DASHBOARD_DIST_DIR };

/**
 * What `npm start` serves: the API on the same origin; writes open, or a token field when the local
 * server is given one through IOT_CLOUD_API_TOKEN (the token itself never goes into config.json; with
 * `--api-token` instead, the dashboard asks for it at the first 401).
 */
export const LOCAL_CONFIG: DashboardConfig = {
  apiBase: '',
  auth: process.env.IOT_CLOUD_API_TOKEN ? { mode: 'token' } : { mode: 'none' },
  pollIntervalMs: 5000,
};

export async function buildDashboard(
  options: { outDir?: string; config?: DashboardConfig } = {},
): Promise<string> {
  const outDir = resolve(options.outDir ?? DASHBOARD_DIST_DIR);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  // Content-hashed names (app-3F2A....js): index.html is served no-cache and names the current files,
  // so the bundles themselves can be cached for as long as a CDN likes.
  const result = await build({
    // main.ts imports styles.css, so esbuild writes the stylesheet next to the script.
    entryPoints: { app: join(DASHBOARD_SOURCE_DIR, 'src', 'main.ts') },
    entryNames: '[name]-[hash]',
    outdir: outDir,
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const script = outputs.find((name) => name.endsWith('.js'));
  const stylesheet = outputs.find((name) => name.endsWith('.css'));
  if (!script || !stylesheet) throw new Error(`esbuild wrote no script or stylesheet: ${outputs.join(', ')}`);
  const template = await readFile(join(DASHBOARD_SOURCE_DIR, 'index.html'), 'utf8');
  const html = template
    .replace('href="app.css"', `href="${stylesheet}"`)
    .replace('src="app.js"', `src="${script}"`);
  if (!html.includes(script) || !html.includes(stylesheet))
    throw new Error('dashboard/index.html must reference app.css and app.js');
  await writeFile(join(outDir, 'index.html'), html);
  await writeFile(
    join(outDir, 'config.json'),
    `${JSON.stringify(options.config ?? LOCAL_CONFIG, null, 2)}\n`,
  );
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildDashboard().then(
    (dir) => process.stdout.write(`dashboard built into ${dir}\n`),
    (error: unknown) => {
      process.stderr.write(
        `dashboard build failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
