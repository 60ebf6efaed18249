import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDashboard, LOCAL_CONFIG } from './build.js';

describe('npm run build:dashboard', () => {
  let outDir: string | undefined;
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('writes content-hashed bundles, an index.html naming them, and the local config.json', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'dashboard-build-'));
    await buildDashboard({ outDir });
    const files = await readdir(outDir);
    const script = files.find((f) => /^app-[A-Z0-9]+\.js$/.test(f));
    const stylesheet = files.find((f) => /^app-[A-Z0-9]+\.css$/.test(f));
    expect(script).toBeDefined();
    expect(stylesheet).toBeDefined();
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    expect(html).toContain(`src="${script}"`);
    expect(html).toContain(`href="${stylesheet}"`);
    // The CSP forbids inline scripts and styles: the page has none.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=/);
    expect(JSON.parse(await readFile(join(outDir, 'config.json'), 'utf8'))).toEqual(LOCAL_CONFIG);
    // uPlot's stylesheet is bundled with ours.
    expect(await readFile(join(outDir, stylesheet ?? ''), 'utf8')).toContain('.uplot');
  });
});
